from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hpt._shipping import ShipsUserCode
from hpt.events import error_type
from hpt.trainers._base import Emit, ShouldStop, Trainer, TrialOutcome, TrialStopped
from hpt.trainers._boosting import fit_stoppable
from hpt.trainers._folds import fold_data
from hpt.trainers._streamed import for_scoring
from hpt.trial import FoldResult, TrialSpec

if TYPE_CHECKING:
    pass


def build_scorers(primary: str, also: Sequence[str]) -> Any:
    """The scorer of ``primary`` alone, or scikit-learn's multi-metric scorer of ``primary`` and
    ``also`` (one prediction per fold shared by the metrics, as ``GridSearchCV`` does)."""
    from sklearn.metrics import get_scorer
    from sklearn.metrics._scorer import _MultimetricScorer

    if not also:
        return get_scorer(primary)
    names = [primary, *also]
    return _MultimetricScorer(scorers={n: get_scorer(n) for n in names}, raise_exc=True)


def accepts_sample_weight(scorer: Any) -> bool:
    """Whether ``scorer`` (or any scorer of a multi-metric one) takes ``sample_weight``; as in
    scikit-learn's searches, the weights then go to scoring too."""
    accept = getattr(scorer, "_accept_sample_weight", None)
    return bool(accept()) if accept is not None else False


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
    fit_params: dict[str, Any] = field(default_factory=dict)  # e.g. the fold's sample_weight


class CrossValidationTrainer(ShipsUserCode, Trainer):
    """K-fold cross-validation of a scikit-learn-API estimator, like ``GridSearchCV`` does it.

    For each fold (in order) the estimator is cloned, given the trial's parameters, fitted on the
    training rows and scored on the held-out rows with ``scoring`` (a scikit-learn scorer name).
    After each fold the running mean of the test scores is reported as one interval, so early
    termination can act between folds. Folds already done by an earlier attempt
    (``spec.done_folds``) are skipped. ``error_score`` follows scikit-learn: ``"raise"`` re-raises
    a failing fit, a number scores the failed fold with it (the trial is then marked failed, with
    the traceback kept, and the sweep goes on).

    ``also`` names more scikit-learn scorers computed on the same fits (``metric.also``); each
    fold then carries every score by name. ``sample_weight`` (one per row) is sliced per fold
    and passed to ``fit``, and to scoring where the scorers take it (scikit-learn's rule).
    """

    _data_fields = ("X", "y", "folds", "sample_weight")

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
        also: Sequence[str] = (),
        sample_weight: np.ndarray | None = None,
    ) -> None:
        self.estimator = estimator
        self.X = X
        self.y = y
        self.folds = [(np.asarray(tr), np.asarray(te)) for tr, te in folds]
        self.scoring = scoring
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.also = list(also)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)

    #: Whether ``run`` reports the running mean after each fold; False when ``_fit`` reports.
    reports_folds: ClassVar[bool] = True

    #: Keep each fold's matrices for the next trial on this worker (``sweep.share_work``).
    share_folds: bool = False

    def fold_data(self, k: int) -> tuple[Any, np.ndarray, Any, np.ndarray]:
        """Fold ``k``'s ``(X_train, y_train, X_test, y_test)``, built once per worker when
        ``share_folds`` (see :func:`hpt.trainers._folds.fold_data`)."""
        return fold_data(self, k)

    @property
    def n_folds(self) -> int:
        return len(self.folds)

    def _fit(self, estimator: Any, X: Any, y: np.ndarray, fit: FoldFit) -> None:
        """Fit one fold; subclasses may watch the fit (e.g. per boosting round).

        XGBoost/LightGBM models raise :class:`TrialStopped` between boosting rounds once the
        trial is asked to stop, so a stop does not wait for the fold's whole fit.
        """
        fit_stoppable(estimator, X, y, fit.should_stop, fit_params=fit.fit_params)

    def _score(
        self, scorer: Any, estimator: Any, X: Any, y: np.ndarray, weight: np.ndarray | None
    ) -> tuple[float, dict[str, float] | None]:
        """The primary score, and every score by name when there are several metrics."""
        kwargs = {} if weight is None else {"sample_weight": weight}
        value = scorer(for_scoring(estimator, X), X, y, **kwargs)
        if isinstance(value, dict):
            scores = {str(k): float(v) for k, v in value.items()}
            return scores[self.scoring], scores
        return float(value), None

    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        from sklearn.base import clone

        done = {f.fold: f for f in spec.done_folds}
        scores: list[float] = [done[k].test_score for k in sorted(done)]
        interval = len(spec.reported)
        failed: list[int] = []
        errors: list[str] = []
        error_types: list[str] = []
        scorer = build_scorers(self.scoring, self.also)
        weigh_scores = self.sample_weight is not None and accepts_sample_weight(scorer)
        names = [self.scoring, *self.also] if self.also else []
        for k, (train, test) in enumerate(self.folds):
            if k in done:
                continue
            if should_stop():
                raise TrialStopped()
            estimator = clone(self.estimator).set_params(**dict(spec.params))
            X_train, y_train, X_test, y_test = self.fold_data(k)
            w_train = w_test = None
            if self.sample_weight is not None:
                w_train, w_test = self.sample_weight[train], self.sample_weight[test]
            fit = FoldFit(spec, k, X_test, y_test, emit, should_stop, interval)
            if w_train is not None:
                fit.fit_params["sample_weight"] = w_train
            started = time.perf_counter()
            train_score: float | None = None
            test_scores: dict[str, float] | None = None
            train_scores: dict[str, float] | None = None
            error: str | None = None
            try:
                self._fit(estimator, X_train, y_train, fit)
                fit_time = time.perf_counter() - started
                started = time.perf_counter()
                test_score, test_scores = self._score(
                    scorer, estimator, X_test, y_test, w_test if weigh_scores else None
                )
                score_time = time.perf_counter() - started
                if self.return_train_score:
                    train_score, train_scores = self._score(
                        scorer, estimator, X_train, y_train, w_train if weigh_scores else None
                    )
            except TrialStopped:
                raise
            except Exception as err:
                if isinstance(self.error_score, str):  # "raise": the trial fails now
                    raise
                fit_time = time.perf_counter() - started
                score_time = 0.0
                test_score = float(self.error_score)
                train_score = float(self.error_score) if self.return_train_score else None
                if names:
                    test_scores = dict.fromkeys(names, test_score)
                    train_scores = (
                        dict.fromkeys(names, test_score) if train_score is not None else None
                    )
                failed.append(k)
                error = traceback.format_exc()
                errors.append(error)
                error_types.append(error_type(err))
            interval = fit.interval
            fold = FoldResult(
                k,
                test_score,
                fit_time,
                score_time,
                train_score,
                test_scores=test_scores,
                train_scores=train_scores,
                n_test_samples=len(test),
                error=error,
            )
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
