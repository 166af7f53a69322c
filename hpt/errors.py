"""Typed exceptions. User mistakes raise :class:`ConfigError`; the CLI prints them as one line."""

from __future__ import annotations


class HptError(Exception):
    """Base class of every error hpt raises on purpose."""


class ConfigError(HptError, ValueError):
    """A user-supplied value is wrong.

    The message names the config key, the offending value and the fix, on one line, e.g.
    ``search_space.max_depth: grid sampling needs discrete dimensions, got uniform(1, 9); use
    choice(...) or sampler=random``.
    """

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}" if key else message)


class SweepAborted(HptError):
    """The sweep stopped before its budget was spent (fail-fast, error_score=raise, ...)."""


class TrialError(HptError):
    """Raised by a trainer when a trial's own code fails; carries the remote traceback text."""

    def __init__(self, message: str, traceback_text: str = "") -> None:
        self.traceback_text = traceback_text
        super().__init__(message)
