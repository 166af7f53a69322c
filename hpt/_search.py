"""Evaluate an explicit list of candidates with hpt's sweep loop on any launcher.

This is the engine behind the scikit-learn-style searches of :mod:`hpt.spark`: the candidates come
from ``ParameterGrid``/``ParameterSampler`` instead of a search space, and trial ``i`` evaluates
candidate ``i``. Trials carry only the candidate's index (``{"candidate": i}``); the candidates
themselves travel once, inside the trainer, so any parameter value -- an estimator, a tuple, a
numpy scalar -- reaches the workers intact.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hpt.callbacks import SweepCallback
from hpt.errors import SweepAborted
from hpt.journal import Journal
from hpt.launcher import Launcher
from hpt.limits import Limits
from hpt.samplers import Sampler
from hpt.space import SearchSpace
from hpt.state import SweepState
from hpt.sweep import SweepLoop
from hpt.trainers import CrossValidationTrainer, Emit, ShouldStop, Trainer, TrialOutcome
from hpt.trainers._cv import FoldFit
from hpt.trial import TrialRecord, TrialSpec

CANDIDATE = "candidate"


class CandidateSampler(Sampler):
    """Proposes ``{"candidate": i}`` for trial ``i`` while ``i < n``."""

    def __init__(self, n: int) -> None:
        super().__init__(SearchSpace(()), seed=0)
        self.n = int(n)

    @property
    def size(self) -> int:
        return self.n

    def suggest(self, number: int, history: Sequence[TrialRecord]) -> dict[str, Any] | None:
        return {CANDIDATE: number} if number < self.n else None


class CandidateTrainer(CrossValidationTrainer):
    """Cross-validation of ``candidates[spec.params["candidate"]]``, exactly as scikit-learn's
    searches do it: the candidate's values are cloned for every fit (they may be estimators)."""

    def __init__(
        self,
        estimator: Any,
        X: Any,
        y: np.ndarray,
        folds: Sequence[tuple[np.ndarray, np.ndarray]],
        scoring: Any,
        candidates: Sequence[dict[str, Any]],
        *,
        error_score: float | str = np.nan,
        return_train_score: bool = False,
    ) -> None:
        super().__init__(
            estimator,
            X,
            y,
            folds,
            scoring,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.candidates = [dict(c) for c in candidates]

    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        params = self.candidates[int(spec.params[CANDIDATE])]
        return super().run(replace(spec, params=params), emit, should_stop)

    def _fit(self, estimator: Any, X: Any, y: np.ndarray, fit: FoldFit) -> None:
        from sklearn.base import clone

        estimator.set_params(**clone(dict(fit.spec.params), safe=False))
        super()._fit(estimator, X, y, fit)


@dataclass
class _Observed(Launcher):
    """Passes everything to ``inner`` and remembers which folds of each trial failed to fit.

    The journal keeps a failed trial's tracebacks but not which fold each came from;
    scikit-learn's results need that per fit.
    """

    inner: Launcher
    fit_errors: dict[str, dict[int, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.capacity = self.inner.capacity

    def open(self, trainer: Trainer) -> None:
        self.inner.open(trainer)

    def start(self, spec: TrialSpec) -> None:
        self.inner.start(spec)

    def poll(self, timeout: float) -> list[dict[str, Any]]:
        events = self.inner.poll(timeout)
        for event in events:
            if event.get("event") == "finished" and event.get("failed_folds"):
                errors = list(event.get("errors") or [])
                folds = [int(k) for k in event["failed_folds"]]
                errors += [""] * (len(folds) - len(errors))
                self.fit_errors[str(event["trial_id"])] = dict(zip(folds, errors, strict=True))
        return events

    def stop(self, trial_id: str, *, hard: bool = False) -> None:
        self.inner.stop(trial_id, hard=hard)

    def close(self) -> None:
        self.inner.close()

    def describe(self) -> str:
        return self.inner.describe()


@dataclass(frozen=True)
class CandidateResults:
    """The finished sweep: ``state.ordered()[i]`` is candidate ``i``; ``fit_errors[trial_id]``
    maps a fold whose fit raised (and was scored with ``error_score``) to its traceback;
    ``aborted`` says why the loop stopped early (``error_score="raise"`` and a trial failed)."""

    state: SweepState
    fit_errors: dict[str, dict[int, str]]
    aborted: str | None = None


def run_candidates(
    trainer: CandidateTrainer,
    launcher: Launcher,
    *,
    max_retries: int = 2,
    error_score_raise: bool = False,
    callbacks: Sequence[SweepCallback] = (),
) -> CandidateResults:
    """Evaluate every candidate of ``trainer`` on ``launcher`` (opened and closed here).

    With ``error_score_raise`` the loop stops at the first failed trial; ``aborted`` then says
    so and the state holds that trial with its traceback.
    """
    n = len(trainer.candidates)
    observed = _Observed(launcher)
    state = SweepState()
    with tempfile.TemporaryDirectory(prefix="hpt-search-") as directory:
        journal = Journal(directory)
        state.apply(journal.append("sweep_created", config={}, max_total_runs=n))
        # No fail-fast: like scikit-learn, every candidate is evaluated and failures are
        # reported at the end (error_score="raise" still stops at the first).
        loop = SweepLoop(
            journal=journal,
            state=state,
            sampler=CandidateSampler(n),
            launcher=observed,
            limits=Limits(
                max_total_runs=n,
                max_retries=max_retries,
                error_score_raise=error_score_raise,
                fail_fast=False,
            ),
            goal="maximize",
            callbacks=list(callbacks),
        )
        aborted: str | None = None
        try:
            observed.open(trainer)
            loop.run()
        except SweepAborted as err:
            aborted = str(err)
        finally:
            observed.close()
            journal.close()
    return CandidateResults(state, observed.fit_errors, aborted)
