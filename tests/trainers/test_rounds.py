"""Round-level intervals (``policy.interval_unit=round``) and prompt stops of boosting fits."""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from xgboost import XGBClassifier, XGBRegressor
from xgboost.callback import TrainingCallback

import hpt
from hpt.errors import ConfigError
from hpt.policies import StopReason, TerminationPolicy
from hpt.trainers import CrossValidationTrainer, TrialStopped, _rounds
from hpt.trainers._rounds import BoostingRoundTrainer
from hpt.trial import TrialSpec, TrialStatus
from tests.conftest import xgb_wine_config


class StopAtInterval(TerminationPolicy):
    """A user policy (``_target_``) that stops every running trial at interval ``n``: the stop
    then depends on nothing but the trial's own progress, so live tests are deterministic."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def explain(
        self, history: Mapping[str, Sequence[float]], *, goal: str, running: Set[str]
    ) -> dict[str, StopReason]:
        return {
            tid: StopReason(len(history[tid]), history[tid][-1], None, "stop_at")
            for tid in sorted(running)
            if len(history.get(tid, ())) >= self.n
        }


def _folds(X: Any, y: np.ndarray, classifier: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    splitter = StratifiedKFold(3) if classifier else KFold(3)
    return list(splitter.split(X, y))


def _run(trainer: Any, params: dict[str, Any], should_stop: Any = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    trainer.run(TrialSpec("0000", 0, 1, params), events.append, should_stop or (lambda: False))
    return events


# -- values and numbering ---------------------------------------------------------------------

CASES = [
    # (data, estimator, scorer, xgboost eval metric, scorer value from the eval metric)
    (load_wine, XGBClassifier, "neg_log_loss", "mlogloss", lambda v: -v),
    (load_wine, XGBClassifier, "accuracy", "merror", lambda v: 1 - v),
    (load_breast_cancer, XGBClassifier, "neg_log_loss", "logloss", lambda v: -v),
    (load_breast_cancer, XGBClassifier, "accuracy", "error", lambda v: 1 - v),
    (load_breast_cancer, XGBClassifier, "roc_auc", "auc", lambda v: v),
    (load_diabetes, XGBRegressor, "neg_root_mean_squared_error", "rmse", lambda v: -v),
    (load_diabetes, XGBRegressor, "neg_mean_squared_error", "rmse", lambda v: -(v * v)),
    (load_diabetes, XGBRegressor, "neg_mean_absolute_error", "mae", lambda v: -v),
]


@pytest.mark.parametrize(("load", "model", "scoring", "eval_metric", "convert"), CASES)
def test_reports_are_the_eval_metric_of_the_held_out_fold(
    load: Any, model: Any, scoring: str, eval_metric: str, convert: Any
) -> None:
    X, y = load(return_X_y=True)
    classifier = model is XGBClassifier
    folds = _folds(X, y, classifier)
    estimator = model(n_estimators=20, max_depth=2, random_state=0, n_jobs=1)
    trainer = BoostingRoundTrainer(estimator, X, y, folds, scoring, report_every=5)
    events = _run(trainer, {"learning_rate": 0.3})
    reports = [e for e in events if e["event"] == "report"]
    # 3 folds x 20 rounds / 5 = 12 intervals, numbered on across folds.
    assert [e["interval"] for e in reports] == list(range(1, 13))
    assert [(e["fold"], e["round"]) for e in reports[3:5]] == [(0, 20), (1, 5)]
    for k, (train, test) in enumerate(folds):
        reference = model(n_estimators=20, max_depth=2, random_state=0, n_jobs=1, learning_rate=0.3)
        reference.set_params(eval_metric=eval_metric)
        reference.fit(X[train], y[train], eval_set=[(X[test], y[test])], verbose=False)
        log = reference.evals_result()["validation_0"][eval_metric]
        expected = [convert(log[r - 1]) for r in (5, 10, 15, 20)]
        got = [e["value"] for e in reports if e["fold"] == k]
        assert got == pytest.approx(expected, rel=0, abs=1e-12)
    # The fold's test score is still the scikit-learn scorer's; the last report is that value
    # as the library computes it (float32).
    fold_scores = [e["test_score"] for e in events if e["event"] == "fold"]
    last = [e["value"] for e in reports if e["round"] == 20]
    assert last == pytest.approx(fold_scores, rel=1e-5, abs=1e-5)


LIGHTGBM_CASES = [
    (load_wine, "LGBMClassifier", "neg_log_loss", "multi_logloss", lambda v: -v),
    (load_breast_cancer, "LGBMClassifier", "accuracy", "binary_error", lambda v: 1 - v),
    (load_breast_cancer, "LGBMClassifier", "roc_auc", "auc", lambda v: v),
    (load_diabetes, "LGBMRegressor", "neg_mean_squared_error", "l2", lambda v: -v),
]


@pytest.mark.parametrize(
    ("load", "model_name", "scoring", "eval_metric", "convert"), LIGHTGBM_CASES
)
def test_lightgbm_reports_its_own_eval_metric(
    load: Any, model_name: str, scoring: str, eval_metric: str, convert: Any
) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    model = getattr(lightgbm, model_name)
    X, y = load(return_X_y=True)
    folds = _folds(X, y, classifier=model_name == "LGBMClassifier")
    params = {"n_estimators": 12, "verbose": -1, "random_state": 0, "n_jobs": 1}
    trainer = BoostingRoundTrainer(model(**params), X, y, folds, scoring, report_every=5)
    events = _run(trainer, {})
    reports = [e for e in events if e["event"] == "report"]
    assert [e["round"] for e in reports] == [5, 10, 12] * 3
    plain = [e for e in _run(CrossValidationTrainer(model(**params), X, y, folds, scoring), {})]
    fold_scores = [e["test_score"] for e in events if e["event"] == "fold"]
    assert fold_scores == [e["test_score"] for e in plain if e["event"] == "fold"]
    for k, (train, test) in enumerate(folds):
        reference = model(**params)
        held_out = _rounds._lightgbm_eval_args(reference, X[test], y[test])
        reference.fit(X[train], y[train], **held_out, eval_metric=eval_metric)
        log = reference.evals_result_["valid_0"][eval_metric]
        got = [e["value"] for e in reports if e["fold"] == k]
        assert got == pytest.approx([convert(log[r - 1]) for r in (5, 10, 12)], abs=1e-12)


def test_lightgbm_fit_stops_between_rounds() -> None:
    lightgbm = pytest.importorskip("lightgbm")
    X, y = load_wine(return_X_y=True)
    estimator = lightgbm.LGBMClassifier(n_estimators=500, verbose=-1, n_jobs=1)
    trainer = CrossValidationTrainer(estimator, X, y, _folds(X, y), "accuracy")
    calls: list[int] = []

    def should_stop() -> bool:  # False before the first fold, True from the first round on
        calls.append(1)
        return len(calls) > 1

    events: list[dict[str, Any]] = []
    with pytest.raises(TrialStopped):
        _run_into(trainer, events, should_stop)
    assert events == []


def test_a_fold_also_reports_its_last_round() -> None:
    X, y = load_wine(return_X_y=True)
    trainer = BoostingRoundTrainer(
        XGBClassifier(n_estimators=12, random_state=0, n_jobs=1),
        X,
        y,
        _folds(X, y),
        "neg_log_loss",
        report_every=5,
    )
    reports = [e for e in _run(trainer, {}) if e["event"] == "report"]
    assert [e["round"] for e in reports] == [5, 10, 12] * 3  # ceil(12 / 5) = 3 per fold
    assert reports[-1]["interval"] == 9


def test_round_sweep_cv_results_equal_fold_sweep_and_gridsearchcv(tmp_path: Path) -> None:
    rounds = hpt.tune(
        xgb_wine_config(policy={"interval_unit": "round", "report_every": 5}),
        run_dir=tmp_path / "rounds",
    )
    folds = hpt.tune(xgb_wine_config(refit=False), run_dir=tmp_path / "folds")
    for key in ["mean_test_score", "std_test_score", "rank_test_score", "params"] + [
        f"split{k}_test_score" for k in range(5)
    ]:
        assert list(rounds.cv_results_[key]) == list(folds.cv_results_[key]), key
    X, y = load_wine(return_X_y=True)
    search = GridSearchCV(
        XGBClassifier(random_state=0, n_jobs=1),
        {"n_estimators": [5, 10], "max_depth": [2, 3], "learning_rate": [0.3]},
        scoring="neg_log_loss",
        cv=5,
    ).fit(X, y)
    np.testing.assert_allclose(
        rounds.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"], atol=1e-9
    )
    # Intervals: 5 folds x ceil(n_estimators / 5) rounds, i.e. 5 and 10 per trial.
    counts = {t.params["n_estimators"]: len(t.values) for t in rounds.state.ordered()}
    assert counts == {5: 5, 10: 10}
    assert rounds.best_estimator_.get_params()["callbacks"] is None


class CountRounds(TrainingCallback):
    """A user's own callback, which must keep working next to hpt's."""

    def __init__(self) -> None:
        self.rounds = 0

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.rounds += 1
        return False


def test_callbacks_and_eval_metric_are_not_left_on_the_estimator() -> None:
    X, y = load_wine(return_X_y=True)
    mine = CountRounds()
    estimator = XGBClassifier(n_estimators=4, n_jobs=1, callbacks=[mine], eval_metric="auc")
    trainer = BoostingRoundTrainer(estimator, X, y, _folds(X, y), "accuracy", report_every=2)
    _run(trainer, {})
    assert mine.rounds == 0  # each fold fits a clone: the user's callback is cloned with it
    assert estimator.get_params()["callbacks"] == [mine]
    assert estimator.get_params()["eval_metric"] == "auc"
    pickle.dumps(trainer)  # nothing of a run (emit, should_stop) stayed on the trainer

    fitted = clone(estimator)
    (theirs,) = fitted.get_params()["callbacks"]
    _rounds.fit_stoppable(fitted, X, y, lambda: False)
    assert fitted.get_params()["callbacks"] == [theirs]
    assert theirs.rounds == 4  # it ran every round: hpt's callback never cut the list short


# -- stopping ---------------------------------------------------------------------------------


def test_round_trainer_stops_between_rounds() -> None:
    X, y = load_wine(return_X_y=True)
    trainer = BoostingRoundTrainer(
        XGBClassifier(n_estimators=200, random_state=0, n_jobs=1),
        X,
        y,
        _folds(X, y),
        "neg_log_loss",
        report_every=10,
    )
    events: list[dict[str, Any]] = []

    def should_stop() -> bool:
        return sum(1 for e in events if e["event"] == "report") >= 3

    with pytest.raises(TrialStopped):
        _run_into(trainer, events, should_stop)
    # Stopped in the first fold, right after its third report (round 30 of 200).
    assert [e["event"] for e in events] == ["report"] * 3


def test_fold_trainer_stops_an_xgboost_fit_between_rounds() -> None:
    X, y = load_wine(return_X_y=True)
    trainer = CrossValidationTrainer(
        XGBClassifier(n_estimators=500, random_state=0, n_jobs=1), X, y, _folds(X, y), "accuracy"
    )
    calls: list[int] = []

    def should_stop() -> bool:  # False before the first fold, True from the first round on
        calls.append(1)
        return len(calls) > 1

    events: list[dict[str, Any]] = []
    with pytest.raises(TrialStopped):
        _run_into(trainer, events, should_stop)
    assert events == []  # the first fold's fit was cut short: no fold, no interval
    assert trainer.estimator.get_params()["callbacks"] is None


def test_other_models_fit_plainly() -> None:
    X, y = load_wine(return_X_y=True)
    trainer = CrossValidationTrainer(
        LogisticRegression(max_iter=50), X / X.max(0), y, _folds(X, y), "accuracy"
    )
    events = _run(trainer, {})
    assert [e["interval"] for e in events if e["event"] == "report"] == [1, 2, 3]


def _run_into(trainer: Any, events: list[dict[str, Any]], should_stop: Any) -> None:
    trainer.run(TrialSpec("0000", 0, 1, {}), events.append, should_stop)


def _digits_round_config(**policy: Any) -> dict[str, Any]:
    """XGBoost on digits: ~3 ms per boosting round, 1000 rounds, so a fold takes seconds."""
    return {
        "dataset": {"kind": "sklearn", "name": "digits"},
        "features": {"sets": None},
        "model": {"_target_": "xgboost.XGBClassifier", "random_state": 0, "n_jobs": 1},
        "search_space": {"n_estimators": [1000], "max_depth": [6], "learning_rate": [0.05]},
        "metric": {"primary_metric": "neg_log_loss", "goal": "maximize"},
        "cv": {"n_splits": 3},
        "policy": {"_target_": "tests.trainers.test_rounds.StopAtInterval", **policy},
        "resources": {"max_concurrent_runs": 1},
        "refit": False,
    }


def test_a_live_stop_interrupts_the_fit_at_round_level(tmp_path: Path) -> None:
    cfg = _digits_round_config(n=3, interval_unit="round", report_every=10)
    result = hpt.tune(cfg, run_dir=tmp_path / "run")
    (trial,) = result.state.ordered()
    assert trial.status is TrialStatus.TERMINATED
    assert trial.stop_reason is not None and trial.stop_reason["interval"] == 3
    # A full first fold would have reported 100 intervals; the fit was stopped long before.
    assert 3 <= len(trial.values) < 100
    assert trial.folds == {}


def test_a_live_stop_interrupts_the_fit_at_fold_level(tmp_path: Path) -> None:
    result = hpt.tune(_digits_round_config(n=1), run_dir=tmp_path / "run")
    (trial,) = result.state.ordered()
    assert trial.status is TrialStatus.TERMINATED
    assert trial.stop_reason is not None and trial.stop_reason["interval"] == 1
    # Asked to stop after fold 0, it did not finish fold 1's fit (seconds long) first.
    assert sorted(trial.folds) == [0] and len(trial.values) == 1


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "metric", "key", "message"),
    [
        (
            {"_target_": "sklearn.linear_model.LogisticRegression"},
            "accuracy",
            "policy.interval_unit",
            "LogisticRegression has no boosting rounds",
        ),
        (
            {"_target_": "xgboost.XGBRFClassifier"},
            "accuracy",
            "policy.interval_unit",
            "XGBRFClassifier has no boosting rounds",
        ),
        (
            {"_target_": "xgboost.XGBClassifier"},
            "f1_macro",
            "metric.primary_metric",
            "'f1_macro' has no exact xgboost eval metric",
        ),
        (
            {"_target_": "xgboost.XGBClassifier"},
            "neg_mean_absolute_error",
            "metric.primary_metric",
            "needs a regressor",
        ),
        (
            {"_target_": "xgboost.XGBClassifier", "early_stopping_rounds": 5},
            "accuracy",
            "model.early_stopping_rounds",
            "would tune on the test fold",
        ),
    ],
)
def test_round_intervals_are_validated_before_anything_runs(
    tmp_path: Path, model: dict[str, Any], metric: str, key: str, message: str
) -> None:
    cfg = xgb_wine_config(
        model=model,
        search_space={"n_estimators": [5]} if "xgboost" in model["_target_"] else {"C": [1.0]},
        metric={"primary_metric": metric, "goal": "maximize"},
        policy={"interval_unit": "round"},
    )
    with pytest.raises(ConfigError, match=rf"^{key}: .*{message}"):
        hpt.tune(cfg, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_multiclass_roc_auc_fails_the_fold_with_a_clear_message() -> None:
    X, y = load_wine(return_X_y=True)
    trainer = BoostingRoundTrainer(
        XGBClassifier(n_estimators=4, n_jobs=1), X, y, _folds(X, y), "roc_auc", error_score="raise"
    )
    with pytest.raises(ValueError, match="roc_auc cannot be reported per boosting round"):
        _run(trainer, {})
