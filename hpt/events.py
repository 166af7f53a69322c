"""The event vocabulary: every name that crosses a process or machine boundary, defined once.

Two families of events exist:

* **Worker events** (:class:`WorkerEvent`) travel from wherever a trial runs (a local process, a
  Spark task, a remote container) to the driver's sweep loop. Every attempt starts with
  ``started`` and ends with exactly one of :data:`ATTEMPT_FINAL` (``lost`` is made up by the
  launcher when an attempt ended without a final event of its own: a crash, a lost executor, a
  dropped connection, a hard stop).
* **Journal events** (:class:`JournalEvent`) are what the sweep loop appends to ``journal.jsonl``;
  replaying them rebuilds the sweep (:mod:`hpt.state`). :data:`TRIAL_TERMINAL` maps the ones
  that end a trial for good to its status; :data:`DURABLE` are fsync-ed when written.

On the wire and on disk an event is one JSON object per line (:func:`encode`/:func:`decode`), with
``event`` naming it. A failure carries its exception's class name in ``error_type`` as a field of
its own: nothing downstream parses message text.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

from hpt.trial import TrialStatus


class WorkerEvent(enum.StrEnum):
    """Events a trial attempt sends to the driver."""

    STARTED = "started"  # pid, host
    FOLD = "fold"  # one CV fold done: FoldResult fields
    REPORT = "report"  # one interval of the primary metric: interval, value[, fold]
    FINISHED = "finished"  # value, failed_folds, errors, error_types, warnings[, extra, artifacts]
    FAILED = "failed"  # error, error_type, traceback
    STOPPED = "stopped"  # the attempt honoured a stop request
    LOST = "lost"  # reason; made up by the launcher


#: Every started attempt ends with exactly one of these.
ATTEMPT_FINAL = frozenset(
    {WorkerEvent.FINISHED, WorkerEvent.FAILED, WorkerEvent.STOPPED, WorkerEvent.LOST}
)
#: The final events a worker sends itself (``lost`` never comes from the worker).
WORKER_FINAL = ATTEMPT_FINAL - {WorkerEvent.LOST}


class JournalEvent(enum.StrEnum):
    """Events of ``journal.jsonl``."""

    SWEEP_CREATED = "sweep_created"
    SWEEP_RESUMED = "sweep_resumed"
    BUDGET_EXTENDED = "budget_extended"
    PROPOSED = "proposed"
    REQUEUED = "requeued"
    RESET = "reset"  # rerun-failed: the trial starts over
    STARTED = "started"
    FOLD = "fold"
    REPORT = "report"
    STOP_REQUESTED = "stop_requested"
    LOST = "lost"
    COMPLETED = "completed"
    FAILED = "failed"
    TERMINATED = "terminated"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SWEEP_FINISHED = "sweep_finished"
    SWEEP_ABORTED = "sweep_aborted"
    SWEEP_INTERRUPTED = "sweep_interrupted"


#: Journal events that end a trial, and the status they leave it in.
TRIAL_TERMINAL: dict[str, TrialStatus] = {
    JournalEvent.COMPLETED: TrialStatus.COMPLETED,
    JournalEvent.FAILED: TrialStatus.FAILED,
    JournalEvent.TERMINATED: TrialStatus.TERMINATED,
    JournalEvent.TIMED_OUT: TrialStatus.TIMED_OUT,
    JournalEvent.CANCELLED: TrialStatus.CANCELLED,
}

#: Journal events after which the state a user cares about changed for good: fsync-ed. (A
#: ``proposed`` lost in a crash costs nothing: no result depends on it yet, and the fsync of the
#: trial's terminal event makes it durable together with everything written before.)
DURABLE = frozenset(
    {
        JournalEvent.SWEEP_CREATED,
        JournalEvent.SWEEP_RESUMED,
        JournalEvent.BUDGET_EXTENDED,
        JournalEvent.RESET,
        JournalEvent.LOST,
        JournalEvent.SWEEP_FINISHED,
        JournalEvent.SWEEP_ABORTED,
        JournalEvent.SWEEP_INTERRUPTED,
        *TRIAL_TERMINAL,
    }
)

#: Journal events that end a session of the sweep loop.
SESSION_END = frozenset(
    {JournalEvent.SWEEP_FINISHED, JournalEvent.SWEEP_ABORTED, JournalEvent.SWEEP_INTERRUPTED}
)


def lost(trial_id: str, attempt: int, reason: str) -> dict[str, Any]:
    """The ``lost`` event a launcher makes up for an attempt that ended without a final event."""
    return {
        "event": WorkerEvent.LOST.value,
        "trial_id": trial_id,
        "attempt": attempt,
        "reason": reason,
    }


def error_type(err: BaseException) -> str:
    """The name that tells failures apart (``ValueError``, ``xgboost.core.XGBoostError``...)."""
    cls = type(err)
    module = cls.__module__
    return (
        cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"
    )


def _default(value: Any) -> Any:
    """numpy scalars and arrays, paths: what JSON does not know but events may carry."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable in an event: {type(value).__name__}")


def encode(event: dict[str, Any]) -> str:
    """One event as one line of JSON (no newline). NaN and infinities are written as JSON
    ``NaN``/``Infinity``, which :func:`decode` (and Python's ``json``) read back."""
    return json.dumps(event, separators=(",", ":"), default=_default)


def decode(line: str | bytes) -> dict[str, Any]:
    """The event encoded in ``line``; raises ``ValueError`` for anything but a JSON object."""
    value = json.loads(line)
    if not isinstance(value, dict) or "event" not in value:
        raise ValueError(f"not an event: {str(line)[:80]!r}")
    return value
