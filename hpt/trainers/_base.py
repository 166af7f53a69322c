from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hpt.trial import TrialSpec

Emit = Callable[[dict[str, Any]], None]
"""Sends one JSON-serialisable event to the driver (``{"event": "report", ...}``)."""

EmitFor = Callable[[TrialSpec], Emit]
"""The ``emit`` of one member of a shared attempt (its events tagged with the member's id)."""

ShouldStop = Callable[[], bool]
"""Returns True once the driver asked this trial to stop; polled between folds/rounds."""


class TrialStopped(Exception):
    """Raised inside a trainer when ``should_stop()`` turned true; the worker reports ``stopped``."""


@dataclass(frozen=True)
class TrialOutcome:
    """What a trainer returns when the trial ran to the end.

    ``value`` is the final primary metric; ``failed_folds`` lists folds scored with
    ``error_score`` after raising (their tracebacks in ``errors``, their exception class names in
    ``error_types``, one per failed fold). ``artifacts`` are small files (name -> bytes) the
    driver keeps in the run dir as ``trials/<trial_id>/<name>`` when the trial completes (the
    AutoML trainer's out-of-fold predictions); they travel with the final event, so they reach
    the driver from every compute target.
    """

    value: float
    failed_folds: tuple[int, ...] = ()
    errors: tuple[str, ...] = ()
    error_types: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)


class Trainer(ABC):
    """Evaluates configurations on a worker. Shipped to each worker once per sweep (with its data).

    ``run`` must call ``emit`` with ``{"event": "report", "interval": n, "value": v}`` each time
    the primary metric is known (one interval), ``{"event": "fold", ...}`` after each completed
    fold (CV trainers), poll ``should_stop`` between units of work and raise
    :class:`TrialStopped` when it is true. Any other exception is the trial's own failure.
    """

    @abstractmethod
    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        """Evaluate ``spec.params``; events carry no trial id (the worker adds it)."""

    def run_group(
        self, spec: TrialSpec, emit_for: EmitFor, should_stop: ShouldStop
    ) -> Mapping[str, TrialOutcome]:
        """Evaluate every member of ``spec.members`` with shared work; outcomes by trial id.

        Each member's events go through ``emit_for(member)`` exactly as :meth:`run` would emit
        them for that member alone. Raising :class:`TrialStopped` stops every member; any other
        exception fails every member. Trainers that cannot share work keep this default (the
        driver only groups trials for trainers whose kind says it can).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot evaluate trials with shared work")

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Called once on the worker after unpickling (e.g. to set thread limits)."""
