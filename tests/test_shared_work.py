"""Shared work (issue 14): nested boosting rounds and fold matrices built once, with exact results.

Most sweeps here run on the in-memory launcher (real trainers and real fits, on threads of this
process) to stay fast; the kill-and-resume test runs the real ``hpt`` command with worker
processes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.model_selection import GridSearchCV
from xgboost import XGBClassifier, XGBRegressor

import hpt
from hpt.experiment import Experiment
from hpt.journal import read_journal
from hpt.policies import StopReason, TerminationPolicy
from hpt.state import SweepState
from hpt.testing.memory import InMemoryLauncher
from hpt.trainers._shared import Truncated, refusal
from hpt.trial import TrialSpec, TrialStatus
from tests.cli_helpers import run_dirs

# The seed's 16-combination grid shape (conf/search_space/seed_grid_spark.yaml), small rounds.
XGB_GRID: dict[str, Any] = {
    "n_estimators": [3, 6],
    "max_depth": [2, 3],
    "objective": ["multi:softprob"],
    "learning_rate": [0.1],
    "colsample_bylevel": [0.5, 1.0],
    "subsample": [0.5, 0.7],
}
GB_GRID: dict[str, Any] = {
    "n_estimators": [3, 6],
    "max_depth": [2, 3],
    "learning_rate": [0.1],
    "max_features": [0.5, 1.0],
    "subsample": [0.5, 0.7],
}


class CountingLauncher(InMemoryLauncher):
    """The in-memory launcher, remembering every attempt it was given (class-wide: the session
    builds the instance)."""

    specs: ClassVar[list[TrialSpec]] = []

    def start(self, spec: TrialSpec) -> None:
        CountingLauncher.specs.append(spec)
        super().start(spec)


class StopTrials(TerminationPolicy):
    """Stops the listed trials once they reported ``at`` intervals (deterministic)."""

    def __init__(self, trials: Sequence[str], at: int) -> None:
        super().__init__()
        self.trials, self.at = set(trials), at

    def explain(
        self, history: Mapping[str, Sequence[float]], *, goal: str, running: Set[str]
    ) -> dict[str, StopReason]:
        return {
            tid: StopReason(len(history[tid]), history[tid][-1], None, "listed")
            for tid in sorted(running & self.trials)
            if len(history.get(tid, ())) >= self.at
        }


def _config(
    model: dict[str, Any], grid: dict[str, Any], share: bool, **extra: Any
) -> dict[str, Any]:
    return {
        "dataset": {"kind": "sklearn", "name": "wine"},
        "features": {"sets": None},
        "model": model,
        "search_space": grid,
        "metric": {"primary_metric": "neg_log_loss", "goal": "maximize"},
        "resources": {"max_concurrent_runs": 2},
        "compute": {"_target_": "tests.test_shared_work.CountingLauncher"},
        "sweep": {"share_work": share},
        "refit": False,
        **extra,
    }


def _gridsearch(estimator: Any, grid: dict[str, Any]) -> GridSearchCV:
    """GridSearchCV on wine, fitted on a thread: XGBoost fits run about 3x slower on the main
    thread than on any other on this loaded 2-core machine (its OpenMP pool lives there)."""
    X, y = load_wine(return_X_y=True)
    search = GridSearchCV(estimator, grid, scoring="neg_log_loss", cv=5, refit=False)
    thread = threading.Thread(target=search.fit, args=(X, y))
    thread.start()
    thread.join()
    return search


def _tune(cfg: dict[str, Any], run_dir: Path) -> tuple[Any, list[TrialSpec], SweepState]:
    CountingLauncher.specs = []
    result = hpt.tune(cfg, run_dir=run_dir)
    return result, list(CountingLauncher.specs), SweepState.replay(read_journal(run_dir))


# -- truncation is exact ------------------------------------------------------------------------

MODELS = [
    (XGBClassifier, {"subsample": 0.5, "colsample_bylevel": 0.1, "colsample_bytree": 0.8}),
    (XGBRegressor, {"subsample": 0.7, "colsample_bynode": 0.5}),
    (GradientBoostingClassifier, {"subsample": 0.5, "max_features": 0.5}),
    (GradientBoostingRegressor, {"subsample": 0.7, "max_features": 0.5}),
]


@pytest.mark.parametrize(("cls", "params"), MODELS, ids=lambda v: getattr(v, "__name__", ""))
def test_a_long_fit_truncated_predicts_bit_for_bit_what_a_short_fit_predicts(
    cls: Any, params: dict[str, Any]
) -> None:
    X, y = (
        load_diabetes(return_X_y=True)
        if "Regressor" in cls.__name__
        else load_wine(return_X_y=True)
    )
    extra = {"n_jobs": 1} if cls.__module__.startswith("xgboost") else {}
    long = cls(n_estimators=30, random_state=0, **params, **extra).fit(X, y)
    for rounds in (1, 7, 30):
        short = cls(n_estimators=rounds, random_state=0, **params, **extra).fit(X, y)
        model = Truncated(long, rounds)
        for method in ("predict", "predict_proba", "decision_function"):
            assert hasattr(model, method) == hasattr(short, method)
            if hasattr(short, method):
                assert np.array_equal(getattr(model, method)(X), getattr(short, method)(X))


def test_lightgbm_truncated_is_exact_and_its_random_forest_mode_is_refused() -> None:
    lightgbm = pytest.importorskip("lightgbm")
    X, y = load_wine(return_X_y=True)
    params = {"subsample": 0.5, "subsample_freq": 1, "colsample_bytree": 0.5, "verbose": -1}
    long = lightgbm.LGBMClassifier(n_estimators=20, random_state=0, n_jobs=1, **params).fit(X, y)
    short = lightgbm.LGBMClassifier(n_estimators=8, random_state=0, n_jobs=1, **params).fit(X, y)
    assert np.array_equal(Truncated(long, 8).predict_proba(X), short.predict_proba(X))
    assert refusal(long, {"n_estimators": 5}) is None
    assert "gbdt" in str(refusal(long, {"boosting_type": "rf"}))


def test_what_cannot_be_truncated_exactly_is_refused() -> None:
    model = XGBClassifier(random_state=0)
    assert refusal(model, {"n_estimators": 10}) is None
    assert "DART" in str(refusal(model, {"n_estimators": 10, "booster": "dart"}))
    assert "early_stopping_rounds" in str(
        refusal(model, {"n_estimators": 10, "early_stopping_rounds": 3})
    )
    assert "n_iter_no_change" in str(
        refusal(GradientBoostingClassifier(n_iter_no_change=2), {"n_estimators": 10})
    )
    assert refusal(XGBClassifier(), {"n_estimators": 2.5}) is not None


# -- sweeps -------------------------------------------------------------------------------------

SWEEPS = [
    pytest.param(
        {"_target_": "xgboost.XGBClassifier", "random_state": 0, "n_jobs": 1},
        XGB_GRID,
        XGBClassifier(random_state=0, n_jobs=1),
        id="xgboost",
    ),
    pytest.param(
        {"_target_": "sklearn.ensemble.GradientBoostingClassifier", "random_state": 0},
        GB_GRID,
        GradientBoostingClassifier(random_state=0),
        id="sklearn-gradient-boosting",
    ),
]


@pytest.mark.parametrize(("model", "grid", "estimator"), SWEEPS)
def test_shared_sweep_equals_the_unshared_sweep_and_gridsearchcv(
    tmp_path: Path, model: dict[str, Any], grid: dict[str, Any], estimator: Any
) -> None:
    shared, shared_specs, state = _tune(_config(model, grid, True), tmp_path / "shared")
    alone, alone_specs, _ = _tune(_config(model, grid, False), tmp_path / "alone")
    search = _gridsearch(estimator, grid)

    # 16 configurations in 8 attempts of 2 (the fits), each member its own trial.
    assert len(alone_specs) == 16 and not any(s.members for s in alone_specs)
    assert len(shared_specs) == 8
    assert all(len(s.members) == 2 for s in shared_specs)
    for spec in shared_specs:
        short, long = spec.members
        assert spec.trial_id == long.trial_id
        assert short.params["n_estimators"] < long.params["n_estimators"]
    header = read_journal(tmp_path / "shared")[0]
    assert "16 configurations, 40 fits instead of 80: n_estimators nested" in header["plan"]

    # Identical results: to the unshared sweep bit for bit, to GridSearchCV to 1e-9.
    for key in ("params", "mean_test_score", "std_test_score", "rank_test_score"):
        assert list(shared.cv_results_[key]) == list(alone.cv_results_[key]), key
    for k in range(5):
        key = f"split{k}_test_score"
        assert list(shared.cv_results_[key]) == list(alone.cv_results_[key])
    order = [search.cv_results_["params"].index(p) for p in shared.cv_results_["params"]]
    assert np.allclose(
        shared.cv_results_["mean_test_score"],
        search.cv_results_["mean_test_score"][order],
        rtol=0,
        atol=1e-9,
    )
    assert list(shared.cv_results_["rank_test_score"]) == list(
        search.cv_results_["rank_test_score"][order]
    )
    # Ordinary trials in the journal: 5 folds and one completion each; both members of an
    # attempt carry half the shared fit's time for each fold.
    assert all(t.status is TrialStatus.COMPLETED and len(t.folds) == 5 for t in state.ordered())
    assert all(t.fold_runs == 5 for t in state.ordered())
    for spec in shared_specs:
        short, long = (state.trials[m.trial_id] for m in spec.members)
        assert [f.fit_time for f in short.folds.values()] == [
            f.fit_time for f in long.folds.values()
        ]


def test_sharing_off_and_models_without_nested_rounds_fit_every_configuration(
    tmp_path: Path,
) -> None:
    cfg = _config(
        {"_target_": "sklearn.ensemble.RandomForestClassifier", "random_state": 0},
        {"n_estimators": [3, 5], "max_depth": [2]},
        True,
    )
    _, specs, state = _tune(cfg, tmp_path / "forest")
    assert len(specs) == 2 and not any(s.members for s in specs)
    assert all(t.status is TrialStatus.COMPLETED for t in state.ordered())
    lines = Experiment.from_config(
        _config({"_target_": "xgboost.XGBClassifier"}, XGB_GRID, False)
    ).plan(2)
    assert not any("nested" in line for line in lines)


# -- policies -----------------------------------------------------------------------------------


def _round_policy(trials: list[str]) -> dict[str, Any]:
    return {
        "_target_": "tests.test_shared_work.StopTrials",
        "trials": trials,
        "at": 3,
        "interval_unit": "round",
        "report_every": 5,
    }


def test_a_policy_stopping_the_long_member_lets_the_short_one_complete_exactly(
    tmp_path: Path,
) -> None:
    model = {"_target_": "xgboost.XGBClassifier", "random_state": 0, "n_jobs": 1}
    grid = {"n_estimators": [10, 20], "max_depth": [2], "subsample": [0.5]}
    runs = {}
    for share in (True, False):
        cfg = _config(model, grid, share, policy=_round_policy(["0001"]))
        _, specs, state = _tune(cfg, tmp_path / str(share))
        runs[share] = state
        assert len(specs) == (1 if share else 2)
    shared, alone = runs[True], runs[False]
    # 0001 (20 rounds) stopped at its interval 3 (fold 0, round 15); 0000 went on to the end.
    assert shared.trials["0001"].status is TrialStatus.TERMINATED
    assert shared.trials["0001"].stop_reason["interval"] == 3
    short = shared.trials["0000"]
    assert short.status is TrialStatus.COMPLETED
    assert short.values == alone.trials["0000"].values  # 2 round reports x 5 folds, exact
    assert len(short.values) == 10
    assert [f.test_score for f in short.folds.values()] == [
        f.test_score for f in alone.trials["0000"].folds.values()
    ]
    assert short.value == alone.trials["0000"].value


def test_a_policy_stopping_every_member_stops_the_shared_fit(tmp_path: Path) -> None:
    model = {"_target_": "xgboost.XGBClassifier", "random_state": 0, "n_jobs": 1}
    grid = {"n_estimators": [10, 20], "max_depth": [2]}
    cfg = _config(model, grid, True, policy=_round_policy(["0000", "0001"]))
    _, specs, state = _tune(cfg, tmp_path)
    assert len(specs) == 1
    assert [t.status for t in state.ordered()] == [TrialStatus.TERMINATED] * 2
    # 0000 (10 rounds, 2 reports a fold) reached interval 3 in fold 1 and was told to stop there.
    # The stop is cooperative: fold 1's last 5 tiny rounds can finish before the stop reaches the
    # worker (seen once in a loaded full run), but the shared fit never goes on to fold 2.
    assert sorted(state.trials["0000"].folds) in ([0], [0, 1])
    events = read_journal(tmp_path)
    assert sum(e["event"] == "stop_requested" for e in events) == 2


# -- crash safety -------------------------------------------------------------------------------

KILL_SWEEP = [
    "dataset=wine",
    "features=none",
    "model=xgboost",
    "search_space=seed_grid",
    "search_space.n_estimators=[50,100]",
    "search_space.max_depth=[2]",
    "search_space.subsample=[0.5,0.7]",
    "resources.max_concurrent_runs=1",
    # The driver runs the trials on its own threads: SIGKILL ends it and its trials at once, as
    # it does local workers (tests/test_resume.py kills sweeps with worker processes, sharing
    # included, at many points); no worker start-up keeps the test short.
    "compute._target_=hpt.testing.memory.InMemoryLauncher",
    "refit=false",
]


def test_kill_9_in_the_middle_of_a_shared_fit_then_resume_loses_no_journaled_fold(
    tmp_path: Path,
) -> None:
    def start(args: list[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "hpt.cli", *args],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    proc = start(KILL_SWEEP)
    deadline = time.time() + 120
    events: list[dict[str, Any]] = []
    while time.time() < deadline and proc.poll() is None:
        found = run_dirs(tmp_path)
        events = read_journal(found[0]) if found else []
        if sum(e["event"] == "fold" for e in events) >= 3:  # mid-attempt: 1.5 of 5 folds done
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (run_dir,) = run_dirs(tmp_path)
    before = SweepState.replay(read_journal(run_dir))
    kept = {(t.trial_id, k): f for t in before.ordered() for k, f in t.folds.items()}
    assert kept and not before.finished
    CountingLauncher.specs = []  # resumed in this process: one interpreter start-up less
    hpt.resume(run_dir, overrides=["compute._target_=tests.test_shared_work.CountingLauncher"])
    # The interrupted members were grouped again, carrying the folds they had journaled.
    resumed = [m for spec in CountingLauncher.specs for m in spec.members]
    assert resumed and any(m.done_folds for m in resumed)
    events = read_journal(run_dir)
    after = SweepState.replay(events)
    assert after.finished and all(t.status is TrialStatus.COMPLETED for t in after.ordered())
    folds = Counter((e["trial_id"], e["fold"]) for e in events if e["event"] == "fold")
    assert max(folds.values()) == 1 and len(folds) == 4 * 5, "a journaled fold ran again"
    assert all(after.trials[tid].folds[k] == f for (tid, k), f in kept.items())
    # The results are GridSearchCV's.
    grid = {"n_estimators": [50, 100], "max_depth": [2], "subsample": [0.5, 0.7]}
    fixed = {
        "objective": "multi:softprob",
        "reg_alpha": 1,
        "reg_lambda": 1,
        "colsample_bytree": 1,
        "learning_rate": 0.1,
        "colsample_bylevel": 0.1,
    }
    search = _gridsearch(XGBClassifier(random_state=0, n_jobs=1, **fixed), grid)
    for trial in after.ordered():
        params = {k: trial.params[k] for k in grid}
        index = search.cv_results_["params"].index(params)
        assert trial.value == pytest.approx(search.cv_results_["mean_test_score"][index], abs=1e-9)
