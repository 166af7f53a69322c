"""Frozen records that cross boundaries: trial status, specs and the sampler's view of history."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class TrialStatus(enum.StrEnum):
    """Lifecycle of a trial. ``is_finished`` states never change again."""

    PROPOSED = "proposed"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    TERMINATED = "terminated"  # stopped early by the policy
    TIMED_OUT = "timed_out"  # hit trial_timeout_minutes
    CANCELLED = "cancelled"  # the sweep ended (time limit, abort) while it ran

    def is_finished(self) -> bool:
        return self not in (TrialStatus.PROPOSED, TrialStatus.RUNNING)


def trial_id(number: int) -> str:
    """The id of trial ``number``: zero-padded so ids sort like numbers in listings."""
    return f"{number:04d}"


@dataclass(frozen=True)
class FoldResult:
    """One completed cross-validation fold of a trial.

    ``test_score``/``train_score`` are the primary metric's. ``test_scores``/``train_scores``
    hold every metric of the fold by name (the primary one included) when more than one is
    computed (``metric.also``, or a multi-metric ``scoring`` of the drop-in). ``error`` is the
    traceback of a fit that raised (the fold was then scored with ``error_score``);
    ``n_test_samples`` the size of the held-out part. Fields left at their defaults are not
    written, so journals of single-metric sweeps keep their shape.
    """

    fold: int
    test_score: float
    fit_time: float
    score_time: float
    train_score: float | None = None
    test_scores: Mapping[str, float] | None = None
    train_scores: Mapping[str, float] | None = None
    n_test_samples: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fold": self.fold,
            "test_score": self.test_score,
            "fit_time": self.fit_time,
            "score_time": self.score_time,
            "train_score": self.train_score,
        }
        for name in ("test_scores", "train_scores"):
            value = getattr(self, name)
            if value is not None:
                out[name] = dict(value)
        if self.n_test_samples is not None:
            out["n_test_samples"] = self.n_test_samples
        if self.error is not None:
            out["error"] = self.error
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FoldResult:
        def scores(key: str) -> dict[str, float] | None:
            value = data.get(key)
            return None if value is None else {str(k): float(v) for k, v in value.items()}

        return cls(
            fold=int(data["fold"]),
            test_score=float(data["test_score"]),
            fit_time=float(data["fit_time"]),
            score_time=float(data["score_time"]),
            train_score=None if data.get("train_score") is None else float(data["train_score"]),
            test_scores=scores("test_scores"),
            train_scores=scores("train_scores"),
            n_test_samples=(
                None if data.get("n_test_samples") is None else int(data["n_test_samples"])
            ),
            error=None if data.get("error") is None else str(data["error"]),
        )


@dataclass(frozen=True)
class TrialSpec:
    """Everything a worker needs to run one attempt of a trial; JSON-serialisable.

    ``done_folds`` carries folds completed by an earlier attempt (after a resume) so the worker
    skips them; ``reported`` carries the metric values already reported, so intervals continue.

    ``members`` is set when one attempt evaluates several trials with shared work (see
    :mod:`hpt.trainers._shared`): each member is the spec of one trial (its own id, attempt,
    params and done folds), and this spec is that of the member whose work is the largest (its
    id is the attempt's id for the launcher). Empty for an ordinary attempt.
    """

    trial_id: str
    number: int
    attempt: int
    params: Mapping[str, Any]
    done_folds: tuple[FoldResult, ...] = ()
    reported: tuple[float, ...] = ()
    members: tuple[TrialSpec, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "trial_id": self.trial_id,
            "number": self.number,
            "attempt": self.attempt,
            "params": dict(self.params),
            "done_folds": [f.to_json() for f in self.done_folds],
            "reported": list(self.reported),
        }
        if self.members:
            data["members"] = [m.to_json() for m in self.members]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrialSpec:
        return cls(
            trial_id=str(data["trial_id"]),
            number=int(data["number"]),
            attempt=int(data["attempt"]),
            params=dict(data["params"]),
            done_folds=tuple(FoldResult.from_json(f) for f in data.get("done_folds", ())),
            reported=tuple(float(v) for v in data.get("reported", ())),
            members=tuple(cls.from_json(m) for m in data.get("members", ())),
        )


@dataclass(frozen=True)
class TrialRecord:
    """A trial as samplers and reports see it (rebuilt from the journal)."""

    trial_id: str
    number: int
    params: Mapping[str, Any]
    status: TrialStatus
    values: tuple[float, ...] = ()  # primary-metric reports, in order (the intervals)
    folds: tuple[FoldResult, ...] = ()
    value: float | None = None  # the final primary metric (mean test score) when completed
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
