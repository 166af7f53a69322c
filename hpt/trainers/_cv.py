from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hpt.events import error_type
from hpt.trainers._base import Emit, EmitFor, ShouldStop, Trainer, TrialOutcome, TrialStopped
from hpt.trainers._boosting import fit_stoppable
from hpt.trial import FoldResult, TrialSpec

if TYPE_CHECKING:
    from collections.abc import Mapping


def _take(X: Any, rows: np.ndarray) -> Any:
    """Row subset of an array, sparse matrix or DataFrame (what scikit-learn's _safe_split does)."""
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    return X[rows]


# Estimators from these libraries use every core when n_jobs is unset.
_THREADED_LIBRARIES = ("xgboost", "lightgbm", "catboost")


def apply_thread_limit(estimator: Any, threads: int) -> Any:
    """Give an estimator with an unset ``n_jobs`` a fixed thread count.

    Each worker runs one trial at a time; letting XGBoost use every core in every worker would
    oversubscribe the machine. An ``n_jobs`` the user set explicitly is kept.
    """
    if not type(estimator).__module__.startswith(_THREADED_LIBRARIES):
        return estimator  # scikit-learn's own n_jobs=None already means one job
    params = estimator.get_params(deep=False)
    if "n_jobs" in params and params["n_jobs"] is None:
        estimator.set_params(n_jobs=threads)
    return estimator


@dataclass
class FoldFit:
    """One fold being fitted, as :meth:`CrossValidationTrainer._fit` sees it.

    ``interval`` is the number of intervals the trial has reported so far. A hook that reports
    while the fold trains (every N boosting rounds) emits ``interval + 1`` and increments it.
    """

    spec: TrialSpec
    fold: int
    X_test: Any
    y_test: np.ndarray
    emit: Emit
    should_stop: ShouldStop
    interval: int


class CrossValidationTrainer(Trainer):
    """K-fold cross-validation of a scikit-learn-API estimator, like ``GridSearchCV`` does it.

    For each fold (in order) the estimator is cloned, given the trial's parameters, fitted on the
    training rows and scored on the held-out rows with ``scoring`` (a scikit-learn scorer name).
    After each fold the running mean of the test scores is reported as one interval, so early
    termination can act between folds. Folds already done by an earlier attempt
    (``spec.done_folds``) are skipped. ``error_score`` follows scikit-learn: ``"raise"`` re-raises
    a failing fit, a number scores the failed fold with it (the trial is then marked failed, with
    the traceback kept, and the sweep goes on).
    """

    def __init__(
        self,
        estimator: Any,
        X: Any,
        y: np.ndarray,
        folds: Sequence[tuple[np.ndarray, np.ndarray]],
        scoring: str,
        *,
        error_score: float | str = np.nan,
        return_train_score: bool = False,
    ) -> None:
        self.estimator = estimator
        self.X = X
        self.y = y
        self.folds = [(np.asarray(tr), np.asarray(te)) for tr, te in folds]
        self.scoring = scoring
        self.error_score = error_score
        self.return_train_score = return_train_score

    #: Whether ``run`` reports the running mean after each fold; False when ``_fit`` reports.
    reports_folds: ClassVar[bool] = True

    #: Keep each fold's matrices for the next trial on this worker (``sweep.share_work``).
    share_folds: bool = False

    def fold_data(self, k: int) -> tuple[Any, np.ndarray, Any, np.ndarray]:
        """Fold ``k``'s ``(X_train, y_train, X_test, y_test)``, built once per worker when
        ``share_folds`` (see :func:`hpt.trainers._shared.fold_data`)."""
        from hpt.trainers._shared import fold_data

        return fold_data(self, k)

    @property
    def n_folds(self) -> int:
        return len(self.folds)

    def _fit(self, estimator: Any, X: Any, y: np.ndarray, fit: FoldFit) -> None:
        """Fit one fold; subclasses may watch the fit (e.g. per boosting round).

        XGBoost/LightGBM models raise :class:`TrialStopped` between boosting rounds once the
        trial is asked to stop, so a stop does not wait for the fold's whole fit.
        """
        fit_stoppable(estimator, X, y, fit.should_stop)

    def run_group(
        self, spec: TrialSpec, emit_for: EmitFor, should_stop: ShouldStop
    ) -> Mapping[str, TrialOutcome]:
        """Members differing only in boosting rounds: one fit per fold (see hpt.trainers._shared)."""
        from hpt.trainers._shared import run_nested

        return run_nested(self, spec, emit_for, should_stop)

    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        from sklearn.base import clone
        from sklearn.metrics import check_scoring

        done = {f.fold: f for f in spec.done_folds}
        scores: list[float] = [done[k].test_score for k in sorted(done)]
        interval = len(spec.reported)
        failed: list[int] = []
        errors: list[str] = []
        error_types: list[str] = []
        for k in range(self.n_folds):
            if k in done:
                continue
            if should_stop():
                raise TrialStopped()
            estimator = clone(self.estimator).set_params(**dict(spec.params))
            X_train, y_train, X_test, y_test = self.fold_data(k)
            fit = FoldFit(spec, k, X_test, y_test, emit, should_stop, interval)
            started = time.perf_counter()
            train_score: float | None = None
            try:
                self._fit(estimator, X_train, y_train, fit)
                fit_time = time.perf_counter() - started
                scorer = check_scoring(estimator, scoring=self.scoring)
                started = time.perf_counter()
                test_score = float(scorer(estimator, X_test, y_test))
                score_time = time.perf_counter() - started
                if self.return_train_score:
                    train_score = float(scorer(estimator, X_train, y_train))
            except TrialStopped:
                raise
            except Exception as err:
                if isinstance(self.error_score, str):  # "raise": the trial fails now
                    raise
                fit_time = time.perf_counter() - started
                score_time = 0.0
                test_score = float(self.error_score)
                train_score = float(self.error_score) if self.return_train_score else None
                failed.append(k)
                errors.append(traceback.format_exc())
                error_types.append(error_type(err))
            interval = fit.interval
            fold = FoldResult(k, test_score, fit_time, score_time, train_score)
            emit({"event": "fold", **fold.to_json()})
            scores.append(test_score)
            if not self.reports_folds:
                continue
            interval += 1
            emit(
                {
                    "event": "report",
                    "interval": interval,
                    "value": float(np.mean(scores)),
                    "fold": k,
                }
            )
        return TrialOutcome(
            float(np.mean(scores)), tuple(failed), tuple(errors), tuple(error_types)
        )
