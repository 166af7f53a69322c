"""The launcher interface: where trial attempts run. Implementations live in ``launchers/``.

The core depends on this interface only; it never imports a compute target. A target is chosen by
``compute._target_`` and must subclass :class:`Launcher`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from hpt.trainers import Trainer
from hpt.trial import TrialSpec


class Launcher(ABC):
    """Runs trial attempts somewhere and streams their events back. Execution only, no strategy.

    Lifecycle: ``open(trainer)`` ships the trainer and its data to the workers once; then the
    sweep loop calls ``start`` while fewer than ``capacity`` attempts are in flight, ``poll`` to
    collect events, and ``stop`` to end an attempt early; ``close`` releases everything.

    Events are the :class:`hpt.events.WorkerEvent` dicts produced by :func:`hpt.worker.execute`,
    each tagged with ``trial_id`` and ``attempt``, plus :func:`hpt.events.lost` when an attempt
    ended without a final event of its own (worker crashed, executor lost, connection dropped, or
    a hard stop). Every started attempt ends with exactly one event of
    :data:`hpt.events.ATTEMPT_FINAL`. :class:`hpt.testing.LauncherContract` checks all of this.
    """

    capacity: int = 1

    @classmethod  # noqa: B027 - optional hook
    def preflight(cls, settings: dict[str, Any]) -> None:
        """Check ``settings`` (the ``compute`` config) cheaply before anything starts.

        Raise :class:`hpt.errors.ConfigError` for a bad value or an unreachable target. Runs in
        ``hpt validate`` and at the start of every sweep; must not start the target itself.
        """

    def warm_up(self, modules: list[str]) -> None:  # noqa: B027 - optional hook
        """Start workers early and import ``modules`` there while the driver loads the data."""

    def open(self, trainer: Trainer) -> None:  # noqa: B027 - optional hook
        """Ship ``trainer`` (with its data) to the workers; called once before any ``start``."""

    @abstractmethod
    def start(self, spec: TrialSpec) -> None:
        """Begin running ``spec``; never blocks on the trial itself."""

    @abstractmethod
    def poll(self, timeout: float) -> list[dict[str, Any]]:
        """Events that arrived since the last call, waiting up to ``timeout`` s for the first."""

    @abstractmethod
    def stop(self, trial_id: str, *, hard: bool = False) -> None:
        """Ask a running attempt to stop (between folds/rounds); ``hard`` kills it now."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Stop all workers and release resources; idempotent."""

    def describe(self) -> str:
        return f"{type(self).__name__}(capacity={self.capacity})"
