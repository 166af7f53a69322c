"""Boosting-round intervals and prompt stops for gradient-boosting models (XGBoost, LightGBM).

Two things live here:

* :func:`fit_stoppable` fits one fold with a training callback that raises
  :class:`~hpt.trainers.TrialStopped` between boosting rounds once the trial is asked to stop.
  :class:`~hpt.trainers.CrossValidationTrainer` fits every fold with it, so a stop takes one
  boosting round, not a whole fit.
* :class:`BoostingRoundTrainer` (``policy.interval_unit=round``) reports the primary metric on
  the held-out fold every ``report_every`` boosting rounds while the fold trains, read from the
  library's own evaluation of that fold (``eval_set``), one interval per report.

Neither changes the fitted model: the callbacks only read the evaluation log, the evaluation set
is the fold's held-out rows (which XGBoost and LightGBM evaluate but never train on), and the
callbacks and ``eval_metric`` the estimator had are put back after the fit, so the fold's test
score -- still computed by the scikit-learn scorer -- and ``cv_results`` are those of a plain
fit (of ``GridSearchCV``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpt.errors import ConfigError
from hpt.trainers._boosting import (
    _check_stop,
    _fit_xgboost,
    _lightgbm_callback,
    _xgboost_callback,
    boosting_library,
    fit_stoppable,
)
from hpt.trainers._cv import CrossValidationTrainer, FoldFit

__all__ = [
    "ROUND_METRICS",
    "BoostingRoundTrainer",
    "EvalMetric",
    "RoundMetric",
    "boosting_library",
    "fit_stoppable",
]

#: Keys (of the estimator's ``get_params``) that would make the library early-stop on the
#: evaluation set hpt passes, i.e. train on knowledge of the held-out fold.
_EARLY_STOPPING_PARAMS = ("early_stopping_rounds", "early_stopping_round", "early_stopping")


@dataclass(frozen=True)
class EvalMetric:
    """A boosting library's eval metric for a scorer: its name for binary (or regression) and
    for multiclass labels (``None``: no exact equivalent), and ``to_score``, which turns the
    library's value into the scorer's (scikit-learn scorers are greater-is-better)."""

    binary: str | None
    multiclass: str | None
    to_score: Callable[[float], float]


@dataclass(frozen=True)
class RoundMetric:
    """How a scikit-learn scorer reads from each library's evaluation of the held-out fold."""

    task: str  # "classifier" or "regressor"
    xgboost: EvalMetric
    lightgbm: EvalMetric

    def eval_metric(
        self, library: str, n_classes: int
    ) -> tuple[str | None, Callable[[float], float]]:
        """``(eval metric name or None, to_score)`` for ``library`` and labels with ``n_classes``."""
        metric = self.xgboost if library == "xgboost" else self.lightgbm
        return (metric.multiclass if n_classes > 2 else metric.binary), metric.to_score


def _negate(value: float) -> float:
    return -value


def _one_minus(value: float) -> float:
    return 1.0 - value


def _identity(value: float) -> float:
    return value


def _negate_square(value: float) -> float:
    return -(value * value)


#: The scorers whose value a boosting library computes exactly (same definition) each round.
ROUND_METRICS: Mapping[str, RoundMetric] = {
    "neg_log_loss": RoundMetric(
        "classifier",
        EvalMetric("logloss", "mlogloss", _negate),
        EvalMetric("binary_logloss", "multi_logloss", _negate),
    ),
    "accuracy": RoundMetric(
        "classifier",
        EvalMetric("error", "merror", _one_minus),
        EvalMetric("binary_error", "multi_error", _one_minus),
    ),
    # scikit-learn's "roc_auc" is binary only (multiclass needs roc_auc_ovr, which differs).
    "roc_auc": RoundMetric(
        "classifier", EvalMetric("auc", None, _identity), EvalMetric("auc", None, _identity)
    ),
    "neg_root_mean_squared_error": RoundMetric(
        "regressor", EvalMetric("rmse", None, _negate), EvalMetric("rmse", None, _negate)
    ),
    # XGBoost has no "mse" metric: its rmse, squared.
    "neg_mean_squared_error": RoundMetric(
        "regressor", EvalMetric("rmse", None, _negate_square), EvalMetric("l2", None, _negate)
    ),
    "neg_mean_absolute_error": RoundMetric(
        "regressor", EvalMetric("mae", None, _negate), EvalMetric("l1", None, _negate)
    ),
}


class _RoundReporter:
    """Reports the held-out metric every ``every`` rounds, and after the last round trained.

    ``read(log)`` extracts the library's current value from its evaluation log.
    """

    def __init__(
        self,
        fit: FoldFit,
        every: int,
        total: int | None,
        read: Callable[[Any], float],
        to_score: Callable[[float], float],
    ) -> None:
        self.fit = fit
        self.every = every
        self.total = total
        self.read = read
        self.to_score = to_score
        self.rounds = 0
        self.reported = 0  # the last round reported
        self.log: Any = None

    def on_round(self, rounds: int, log: Any) -> None:
        # Check first: a trial asked to stop reports nothing more.
        _check_stop(self.fit.should_stop)
        self.rounds, self.log = rounds, log
        if rounds % self.every == 0 or rounds == self.total:
            self._report()

    def on_end(self) -> None:
        """After training: report the last round if it was not a reporting round (the user's own
        early-stopping callback ended the fit between two reports)."""
        if self.rounds > self.reported:
            self._report()

    def _report(self) -> None:
        self.fit.interval += 1
        self.reported = self.rounds
        self.fit.emit(
            {
                "event": "report",
                "interval": self.fit.interval,
                "value": self.to_score(float(self.read(self.log))),
                "fold": self.fit.fold,
                "round": self.rounds,
            }
        )


def _read_xgboost(name: str) -> Callable[[Any], float]:
    def read(log: Any) -> float:
        return float(log["validation_0"][name][-1])

    return read


def _read_lightgbm(name: str) -> Callable[[Any], float]:
    def read(log: Any) -> float:
        for data_name, metric_name, value, *_ in log:
            if data_name == "valid_0" and metric_name == name:
                return float(value)
        return math.nan  # not evaluated this round: a NaN ranks last in every policy

    return read


def _lightgbm_eval_args(estimator: Any, X_test: Any, y_test: Any) -> dict[str, Any]:
    """The held-out fold as LightGBM's ``fit`` wants it: ``eval_X``/``eval_y`` since 4.7 (which
    deprecates ``eval_set``), ``eval_set`` before."""
    import inspect

    if "eval_X" in inspect.signature(estimator.fit).parameters:
        return {"eval_X": (X_test,), "eval_y": (y_test,)}
    return {"eval_set": [(X_test, y_test)]}


class BoostingRoundTrainer(CrossValidationTrainer):
    """Cross-validation that reports every ``report_every`` boosting rounds (``interval_unit=round``).

    Folds run in order exactly as in :class:`CrossValidationTrainer` (same clones, same
    parameters, same scikit-learn scorer for each fold's test score, hence the same
    ``cv_results``), but instead of one interval per fold, each fold reports the primary metric
    on its held-out rows after rounds ``report_every, 2 * report_every, ...`` and after its last
    round, one interval each: ``ceil(rounds / report_every)`` intervals per fold.

    **Values.** The boosting library's own evaluation of the held-out fold, converted to the
    scorer's greater-is-better scale (:data:`ROUND_METRICS`): ``neg_log_loss`` is
    ``-mlogloss`` (``-logloss`` for two classes), ``accuracy`` is ``1 - merror`` / ``1 - error``,
    ``roc_auc`` is ``auc`` (binary labels only), ``neg_root_mean_squared_error`` is ``-rmse``,
    ``neg_mean_squared_error`` is ``-rmse**2`` (LightGBM: ``-l2``), ``neg_mean_absolute_error``
    is ``-mae`` (LightGBM: ``-l1``). These are the scorers' definitions; the libraries compute in
    float32, so the last report of a fold matches its scikit-learn test score to about 1e-6.

    **Numbering.** Intervals continue across folds: with 200 rounds reported every 10, fold 0
    reports intervals 1-20 and fold 1's first report is interval 21 (``rounds / report_every +
    1``). Interval ``n`` means the same (fold, round) for two trials only if they train the same
    number of rounds, so searching ``n_estimators`` with round-level intervals makes policies
    compare different folds after the first one; keep ``n_estimators`` fixed, or use folds.

    **Stops.** ``should_stop`` is checked after every round, so a stop takes one boosting
    round (plus the time the launcher's stop message travels).
    """

    reports_folds = False

    def __init__(
        self,
        estimator: Any,
        X: Any,
        y: np.ndarray,
        folds: Sequence[tuple[np.ndarray, np.ndarray]],
        scoring: str,
        *,
        report_every: int = 10,
        error_score: float | str = np.nan,
        return_train_score: bool = False,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        self.validate(estimator, scoring, report_every=report_every)
        super().__init__(
            estimator,
            X,
            y,
            folds,
            scoring,
            error_score=error_score,
            return_train_score=return_train_score,
            sample_weight=sample_weight,
        )
        self.report_every = int(report_every)

    @staticmethod
    def validate(estimator: Any, metric: str, *, report_every: int = 10) -> None:
        """Raise :class:`~hpt.errors.ConfigError` unless ``estimator`` and ``metric`` can report
        per boosting round: an XGBoost/LightGBM boosting model, a scorer of
        :data:`ROUND_METRICS` that fits the model's task, and no early stopping configured."""
        from sklearn.base import is_classifier

        if isinstance(report_every, bool) or not isinstance(report_every, int) or report_every < 1:
            raise ConfigError(
                "policy.report_every",
                f"must be an integer >= 1 (boosting rounds per interval), got {report_every!r}",
            )
        library = boosting_library(estimator)
        if library is None:
            raise ConfigError(
                "policy.interval_unit",
                f"round-level intervals need an XGBoost or LightGBM boosting model, and "
                f"{type(estimator).__name__} has no boosting rounds; use policy.interval_unit=fold",
            )
        spec = ROUND_METRICS.get(metric)
        if spec is None:
            raise ConfigError(
                "metric.primary_metric",
                f"{metric!r} has no exact {library} eval metric to report every boosting round; "
                f"use one of {', '.join(ROUND_METRICS)}, or policy.interval_unit=fold",
            )
        classifier = is_classifier(estimator)
        if (spec.task == "classifier") != classifier:
            kind = "a classifier" if spec.task == "classifier" else "a regressor"
            raise ConfigError(
                "metric.primary_metric",
                f"{metric} needs {kind}, but {type(estimator).__name__} is not one; pick a metric "
                "for the model's task",
            )
        params = estimator.get_params(deep=False)
        for key in _EARLY_STOPPING_PARAMS:
            if params.get(key) not in (None, False, 0):
                raise ConfigError(
                    f"model.{key}",
                    f"is {params[key]!r}: with round-level intervals hpt evaluates each fold's "
                    "held-out rows every round, and early stopping on them would tune on the test "
                    "fold; remove it (early termination policies stop bad trials instead)",
                )

    def _fit(self, estimator: Any, X: Any, y: np.ndarray, fit: FoldFit) -> None:
        library = boosting_library(estimator)
        spec = ROUND_METRICS[self.scoring]
        n_classes = int(np.unique(y).size) if spec.task == "classifier" else 0
        library_name = library or "?"
        name, to_score = spec.eval_metric(library_name, n_classes)
        if library is None or name is None:
            raise ValueError(
                f"{self.scoring} cannot be reported per boosting round for "
                f"{type(estimator).__name__} with {n_classes} classes; use "
                "policy.interval_unit=fold"
            )
        if library == "xgboost":
            reporter = _RoundReporter(
                fit,
                self.report_every,
                int(estimator.get_num_boosting_rounds()),
                _read_xgboost(name),
                to_score,
            )
            _fit_xgboost(
                estimator,
                X,
                y,
                _xgboost_callback(reporter.on_round, reporter.on_end),
                fit_kwargs={
                    "eval_set": [(fit.X_test, fit.y_test)],
                    "verbose": False,
                    **fit.fit_params,
                },
                overrides={"eval_metric": name},
            )
        else:
            reporter = _RoundReporter(
                fit,
                self.report_every,
                int(estimator.get_params(deep=False)["n_estimators"]),
                _read_lightgbm(name),
                to_score,
            )
            # LightGBM takes callbacks per fit (nothing to restore) and has no after-training hook.
            estimator.fit(
                X,
                y,
                **_lightgbm_eval_args(estimator, fit.X_test, fit.y_test),
                eval_metric=name,
                callbacks=[_lightgbm_callback(reporter.on_round)],
                **fit.fit_params,
            )
            reporter.on_end()
