"""Sweep state rebuilt by replaying the journal. The sweep loop updates it through :meth:`apply`.

Replaying the same events always gives the same state, which is what makes ``hpt resume`` exact:
there is no other durable state to trust or repair.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from hpt.events import TRIAL_TERMINAL
from hpt.trial import FoldResult, TrialRecord, TrialSpec, TrialStatus


@dataclass
class TrialState:
    """Mutable per-trial state during replay; frozen into :class:`TrialRecord` for readers."""

    trial_id: str
    number: int
    params: dict[str, Any]
    status: TrialStatus = TrialStatus.PROPOSED
    attempt: int = 0  # the latest attempt started (0 = never started)
    folds: dict[int, FoldResult] = field(default_factory=dict)
    reports: list[tuple[float, int | None]] = field(default_factory=list)  # (value, fold)
    value: float | None = None
    error: str | None = None
    error_type: str | None = None  # the exception's class name, to tell errors apart
    traceback: str | None = None
    stop_reason: dict[str, Any] | None = None
    lost_attempts: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    fold_runs: int = 0  # how many fold events were ever journaled (a fold done twice counts 2)
    host: str | None = None

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(v for v, _ in self.reports)

    def resume_spec(self) -> TrialSpec:
        """The spec for a fresh attempt: completed folds and their reports are carried over."""
        done = tuple(self.folds[k] for k in sorted(self.folds))
        kept = tuple(v for v, fold in self.reports if fold is not None and fold in self.folds)
        return TrialSpec(
            trial_id=self.trial_id,
            number=self.number,
            attempt=self.attempt + 1,
            params=self.params,
            done_folds=done,
            reported=kept,
        )

    def record(self) -> TrialRecord:
        return TrialRecord(
            trial_id=self.trial_id,
            number=self.number,
            params=dict(self.params),
            status=self.status,
            values=self.values,
            folds=tuple(self.folds[k] for k in sorted(self.folds)),
            value=self.value,
            error=self.error,
            extra={"stop_reason": self.stop_reason} if self.stop_reason else {},
        )


class _Records(Sequence[TrialRecord]):
    def __init__(self, state: SweepState) -> None:
        self._state = state
        self._trials = state.ordered()

    def __len__(self) -> int:
        return len(self._trials)

    @overload
    def __getitem__(self, index: int) -> TrialRecord: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[TrialRecord]: ...
    def __getitem__(self, index: int | slice) -> TrialRecord | Sequence[TrialRecord]:
        if isinstance(index, slice):
            return [self._state.record_of(t) for t in self._trials[index]]
        return self._state.record_of(self._trials[index])


@dataclass
class Session:
    started: float
    last_event: float


@dataclass
class SweepState:
    """Everything known about a sweep, derived from its journal."""

    trials: dict[str, TrialState] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)  # the sweep_created event
    sessions: list[Session] = field(default_factory=list)
    max_total_runs: int | None = None
    finished: bool = False
    end_reason: str | None = None
    aborted: bool = False
    # Derived indexes, kept up to date by apply() so that per-trial work stays O(1) amortised.
    _next_number: int = 0
    _counts: Counter[TrialStatus] = field(default_factory=Counter)
    _ordered: list[TrialState] | None = None
    _records: dict[str, TrialRecord] = field(default_factory=dict)

    @classmethod
    def replay(cls, events: Iterable[dict[str, Any]]) -> SweepState:
        state = cls()
        for event in events:
            state.apply(event)
        return state

    # -- derived views -----------------------------------------------------------------------
    @property
    def next_number(self) -> int:
        return self._next_number

    def ordered(self) -> list[TrialState]:
        """Trials in trial-number order (a fresh list; the trials themselves are live)."""
        if self._ordered is None:
            self._ordered = sorted(self.trials.values(), key=lambda t: t.number)
        return list(self._ordered)

    def records(self) -> Sequence[TrialRecord]:
        """Frozen records of every trial, in number order, made lazily: a sampler that never
        looks at the history costs nothing per proposal, and unchanged trials reuse their
        record. The view is of the state as it is now; iterate it before the state changes."""
        return _Records(self)

    def record_of(self, trial: TrialState) -> TrialRecord:
        record = self._records.get(trial.trial_id)
        if record is None:
            record = self._records[trial.trial_id] = trial.record()
        return record

    def unfinished(self) -> list[TrialState]:
        """Trials proposed but not finished: in flight when the driver stopped, or queued."""
        return [t for t in self.ordered() if not t.status.is_finished()]

    def count(self, status: TrialStatus) -> int:
        return self._counts[status]

    def count_finished(self) -> int:
        return sum(n for status, n in self._counts.items() if status.is_finished())

    def elapsed_seconds(self) -> float:
        """Running time over every session (time between sessions does not count)."""
        return sum(max(0.0, s.last_event - s.started) for s in self.sessions)

    # -- replay ------------------------------------------------------------------------------
    def apply(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        now = float(event.get("t", 0.0))
        if kind in ("sweep_created", "sweep_resumed"):
            if kind == "sweep_created":
                self.header = event
            self.sessions.append(Session(now, now))
            self.max_total_runs = event.get("max_total_runs", self.max_total_runs)
            self.finished = False
            self.aborted = False
            return
        if self.sessions:
            self.sessions[-1].last_event = now
        if kind == "budget_extended":
            self.max_total_runs = event.get("max_total_runs")
            self.finished = False
            return
        if kind in ("sweep_finished", "sweep_aborted"):
            self.finished = True
            self.aborted = kind == "sweep_aborted"
            self.end_reason = event.get("reason")
            return
        if kind == "proposed":
            tid = event["trial_id"]
            number = int(event["number"])
            new = self.trials[tid] = TrialState(tid, number, dict(event["params"]))
            if self._ordered is not None and number >= self._next_number:
                self._ordered.append(new)  # the usual case: numbers are proposed in order
            else:
                self._ordered = None
            self._next_number = max(self._next_number, number + 1)
            self._counts[TrialStatus.PROPOSED] += 1
            return
        trial = self.trials.get(str(event.get("trial_id")))
        if trial is None:
            return
        before = trial.status
        self._apply_to_trial(trial, kind, event, now)
        if trial.status is not before:
            self._counts[before] -= 1
            self._counts[trial.status] += 1
        self._records.pop(trial.trial_id, None)

    @staticmethod
    def _apply_to_trial(trial: TrialState, kind: str, event: dict[str, Any], now: float) -> None:
        if kind == "started":
            trial.attempt = int(event["attempt"])
            trial.status = TrialStatus.RUNNING
            trial.host = event.get("host")
            if trial.started_at is None:
                trial.started_at = now
        elif kind == "fold":
            fold = FoldResult.from_json(event)
            trial.folds[fold.fold] = fold
            trial.fold_runs += 1
        elif kind == "report":
            fold_index = event.get("fold")
            trial.reports.append(
                (float(event["value"]), None if fold_index is None else int(fold_index))
            )
        elif kind == "requeued":
            trial.status = TrialStatus.PROPOSED
            trial.reports = [(v, f) for v, f in trial.reports if f is not None and f in trial.folds]
        elif kind == "lost":
            trial.lost_attempts += 1
            trial.status = TrialStatus.PROPOSED
            # Reports of the lost attempt past its last completed fold are not trusted.
            trial.reports = [(v, f) for v, f in trial.reports if f is not None and f in trial.folds]
        elif kind == "reset":  # rerun-failed: the trial starts over from nothing
            trial.status = TrialStatus.PROPOSED
            trial.folds.clear()
            trial.reports.clear()
            trial.value = trial.error = trial.error_type = trial.traceback = None
        elif kind in TRIAL_TERMINAL:
            trial.status = TRIAL_TERMINAL[kind]
            trial.ended_at = now
            if event.get("value") is not None:
                trial.value = float(event["value"])
            trial.error = event.get("error", trial.error)
            trial.error_type = event.get("error_type", trial.error_type)
            trial.traceback = event.get("traceback", trial.traceback)
            if kind == "terminated":
                trial.stop_reason = event.get("reason")
