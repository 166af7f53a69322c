"""``compute=spark``: sweeps on local[2] and on a standalone cluster behave like ``compute=local``.

The test-only trainers below are plain subclasses of the CV trainer; they reach the executors by
reference (the executors import this module), like any user's trainer would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hpt
import hpt.api
from hpt.errors import ConfigError, SweepAborted
from hpt.journal import read_journal
from hpt.state import SweepState
from hpt.trainers import CrossValidationTrainer, Emit, ShouldStop, Trainer, TrialOutcome
from hpt.trainers._cv import FoldFit
from hpt.trial import TrialSpec, TrialStatus
from tests.cli_helpers import run_dirs, run_hpt
from tests.conftest import xgb_wine_config
from tests.spark.conftest import spark_compute

pytestmark = pytest.mark.spark

SCORE_KEYS = ["mean_test_score", "std_test_score", *(f"split{k}_test_score" for k in range(5))]


# -- test-only trainers (run on the executors) ------------------------------------------------
class SlowFolds(CrossValidationTrainer):
    """Each fit takes at least 0.4 s more, so stops and timeouts land mid-trial."""

    def _fit(self, estimator: Any, X: Any, y: np.ndarray, fit: FoldFit) -> None:
        time.sleep(0.4)
        super()._fit(estimator, X, y, fit)


class KillOnce(CrossValidationTrainer):
    """Trial 0001's first attempt kills its own Python worker right after its first fold."""

    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        if spec.trial_id != "0001" or spec.attempt != 1:
            return super().run(spec, emit, should_stop)

        def emit_then_die(event: dict[str, Any]) -> None:
            emit(event)
            if event["event"] == "report":
                os.kill(os.getpid(), signal.SIGKILL)

        return super().run(spec, emit_then_die, should_stop)


def _executor_jvm() -> int:
    """The pid of the executor JVM above this Python worker (a standalone executor only)."""
    pid = os.getppid()
    while pid > 1:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            if b"CoarseGrainedExecutorBackend" in handle.read():
                return pid
        with open(f"/proc/{pid}/stat") as handle:
            pid = int(handle.read().rsplit(")", 1)[1].split()[1])
    raise RuntimeError("not running in a standalone executor")


class KillsExecutorOnce(CrossValidationTrainer):
    """Trial 0001's first attempt kills the whole executor (its JVM) after its first fold."""

    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        if spec.trial_id != "0001" or spec.attempt != 1:
            return super().run(spec, emit, should_stop)

        def emit_then_kill(event: dict[str, Any]) -> None:
            emit(event)
            if event["event"] == "report":
                os.kill(_executor_jvm(), signal.SIGKILL)
                time.sleep(60)  # dies with its executor

        return super().run(spec, emit_then_kill, should_stop)


class RaisesInTrial(CrossValidationTrainer):
    """Trial 0001 fails with its own exception (not a fold's fit error)."""

    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        if spec.trial_id == "0001":
            raise RuntimeError("boom from the trial's own code")
        return super().run(spec, emit, should_stop)


_LOADS = 0


class CountsLoads(Trainer):
    """Reports how often this Python worker unpickled it, and which worker it is."""

    def __init__(self) -> None:
        self.data = np.arange(1000.0)  # stands for the dataset

    def __setstate__(self, state: dict[str, Any]) -> None:
        global _LOADS
        _LOADS += 1
        self.__dict__.update(state)

    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        emit({"event": "report", "interval": 1, "value": 1.0})
        return TrialOutcome(1.0, extra={"loads": _LOADS, "pid": os.getpid()})


def _use_trainer(monkeypatch: pytest.MonkeyPatch, cls: type[CrossValidationTrainer]) -> None:
    """Make ``hpt.tune`` run its usual CV trainer as ``cls``."""
    from hpt.trainers._kinds import CrossValidationKind

    build = CrossValidationKind.build

    def build_as(self: CrossValidationKind, *args: Any, **kwargs: Any) -> Trainer:
        trainer = build(self, *args, **kwargs)
        swapped = cls.__new__(cls)
        swapped.__dict__.update(trainer.__dict__)
        return swapped

    monkeypatch.setattr(CrossValidationKind, "build", build_as)


def _state(run_dir: Path) -> SweepState:
    return SweepState.replay(read_journal(run_dir))


def _events(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    return [e for e in read_journal(run_dir) if e["event"] == kind]


@pytest.fixture(scope="module")
def local_results() -> dict[str, Any]:
    """The reference: scikit-learn's GridSearchCV on the grid, data and folds of
    :func:`xgb_wine_config`, in this process. ``compute=local`` gives exactly these results
    (tests/test_equivalence.py), so a Spark sweep equal to them equals ``compute=local``."""
    from sklearn.datasets import load_wine
    from sklearn.model_selection import GridSearchCV
    from xgboost import XGBClassifier

    cfg = xgb_wine_config()
    X, y = load_wine(return_X_y=True)
    search = GridSearchCV(
        XGBClassifier(random_state=0, n_jobs=1),
        {key: list(values) for key, values in cfg["search_space"].items()},
        scoring=cfg["metric"]["primary_metric"],
        cv=5,  # hpt's default: stratified, no shuffle
        refit=False,
    )
    return dict(search.fit(X, y).cv_results_)


def _assert_same_results(ours: dict[str, Any], expected: dict[str, Any]) -> None:
    assert [dict(p) for p in ours["params"]] == [dict(p) for p in expected["params"]]
    for key in SCORE_KEYS:
        np.testing.assert_allclose(ours[key], expected[key], rtol=0, atol=1e-9, err_msg=key)
    assert list(ours["rank_test_score"]) == list(expected["rank_test_score"])


# -- tests ------------------------------------------------------------------------------------
def test_sweep_on_spark_equals_compute_local(
    spark_master: str, local_results: dict[str, Any], tmp_path: Path
) -> None:
    cfg = xgb_wine_config(compute=spark_compute(spark_master), refit=False)
    result = hpt.tune(cfg, run_dir=tmp_path / "run")
    assert result.cv_results_["status"] == ["completed"] * 4
    _assert_same_results(result.cv_results_, local_results)
    started = _events(tmp_path / "run", "started")
    assert [e["attempt"] for e in started] == [1, 1, 1, 1]
    # Two task slots, reused Python workers: every trial ran in one of at most two processes.
    assert len({(e["host"], e["pid"]) for e in started}) <= 2


def test_trainer_is_unpickled_once_per_python_worker(spark_local_context: Any) -> None:
    from launchers.spark import SparkLauncher

    launcher = SparkLauncher(capacity=2, spark_context=spark_local_context)
    finished: list[dict[str, Any]] = []
    try:
        launcher.open(CountsLoads())
        for number in range(6):
            launcher.start(TrialSpec(f"{number:04d}", number, 1, {}))
            if number % 2:  # two in flight at a time
                deadline = time.monotonic() + 60
                while len(finished) < number + 1 and time.monotonic() < deadline:
                    events = launcher.poll(0.2)
                    finished += [e for e in events if e["event"] == "finished"]
    finally:
        launcher.close()
    assert len(finished) == 6
    assert all(e["extra"]["loads"] == 1 for e in finished), [e["extra"] for e in finished]
    assert len({e["extra"]["pid"] for e in finished}) <= 2


def _wine_trainer(cls: type[CrossValidationTrainer] = CrossValidationTrainer) -> Trainer:
    from sklearn.datasets import load_wine
    from sklearn.model_selection import StratifiedKFold
    from xgboost import XGBClassifier

    X, y = load_wine(return_X_y=True)
    folds = list(StratifiedKFold(5).split(X, y))
    return cls(XGBClassifier(n_estimators=5, n_jobs=1), X, y, folds, "neg_log_loss")


def _run_until_final(launcher: Any, trial_ids: set[str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    final = {"finished", "failed", "stopped", "lost"}
    while {e["trial_id"] for e in events if e["event"] in final} != trial_ids:
        assert time.monotonic() < deadline, events
        events += launcher.poll(0.2)
    return events


def test_events_reach_the_driver_without_the_stream(
    spark_local_context: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Tasks that cannot connect back still deliver every event (with the job's result), and a
    stop they cannot hear becomes a job cancel."""
    import launchers.spark
    from launchers.spark import SparkLauncher

    monkeypatch.setattr(launchers.spark, "_STOP_GRACE_SECONDS", 0.5)
    launcher = SparkLauncher(capacity=2, spark_context=spark_local_context)
    try:
        launcher.open(_wine_trainer(SlowFolds))
        with socket.socket() as closed:  # a port nobody listens on
            closed.bind(("127.0.0.1", 0))
            launcher._address = ("127.0.0.1", closed.getsockname()[1])
        launcher.start(TrialSpec("0000", 0, 1, {}))
        launcher.start(TrialSpec("0001", 1, 1, {}))
        launcher.stop("0001")
        events = _run_until_final(launcher, {"0000", "0001"})
    finally:
        launcher.close()
    kinds = [e["event"] for e in events if e["trial_id"] == "0000"]
    assert kinds == ["started", *["fold", "report"] * 5, "finished"]
    (lost,) = [e for e in events if e["trial_id"] == "0001"]
    assert lost["event"] == "lost" and "never connected" in lost["reason"]
    assert "cannot connect to hpt's event server" in caplog.text


def test_policy_stops_trials_on_spark(
    spark_master: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_trainer(monkeypatch, SlowFolds)
    cfg = xgb_wine_config(
        compute=spark_compute(spark_master),
        refit=False,
        # Trials 0 and 1 are identical and good; 2 and 3 barely learn and start after them.
        search_space={"learning_rate": [0.3, 0.0001], "random_state": [0, 1], "n_estimators": [10]},
        policy={"_target_": "hpt.policies.BanditPolicy", "slack_factor": 0.01},
    )
    hpt.tune(cfg, run_dir=tmp_path / "run")
    state = _state(tmp_path / "run")
    statuses = [t.status for t in state.ordered()]
    assert statuses == [TrialStatus.COMPLETED] * 2 + [TrialStatus.TERMINATED] * 2
    for trial in state.ordered()[2:]:
        assert len(trial.folds) < 5
        assert trial.stop_reason and trial.stop_reason["rule"]
    asked = {e["trial_id"] for e in _events(tmp_path / "run", "stop_requested")}
    assert asked == {"0002", "0003"}
    assert not _events(tmp_path / "run", "lost")  # stopped cooperatively, between folds


def test_trial_timeout_cancels_the_spark_job(
    spark_master: str, spark_sessions: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_trainer(monkeypatch, SlowFolds)
    cfg = xgb_wine_config(
        compute=spark_compute(spark_master),
        refit=False,
        search_space={"n_estimators": [5, 6]},
        resources={"max_concurrent_runs": 2, "trial_timeout_minutes": 0.02},  # 1.2 s
    )
    hpt.tune(cfg, run_dir=tmp_path / "run")
    state = _state(tmp_path / "run")
    assert [t.status for t in state.ordered()] == [TrialStatus.TIMED_OUT] * 2
    assert all(len(t.folds) < 5 for t in state.ordered())
    tracker = spark_sessions.launcher.context().statusTracker()
    deadline = time.monotonic() + 30
    while tracker.getActiveJobsIds() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not tracker.getActiveJobsIds()  # the cancelled jobs are gone, not running on


def test_killed_task_is_retried(
    spark_local_context: Any,
    local_results: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crashed Python worker (the same on any master: the executor's Python daemon starts a
    new one; a lost executor on the cluster is the next test)."""
    _use_trainer(monkeypatch, KillOnce)
    cfg = xgb_wine_config(compute=spark_compute(str(spark_local_context.master)), refit=False)
    result = hpt.tune(cfg, run_dir=tmp_path / "run")
    state = _state(tmp_path / "run")
    trial = state.trials["0001"]
    assert trial.status is TrialStatus.COMPLETED
    assert trial.attempt == 2 and trial.lost_attempts == 1
    (lost,) = _events(tmp_path / "run", "lost")
    assert lost["trial_id"] == "0001" and lost["attempt"] == 1 and lost["reason"]
    assert trial.fold_runs == 5  # the second attempt resumed after the fold the first finished
    started = [e for e in _events(tmp_path / "run", "started") if e["trial_id"] == "0001"]
    assert [e["attempt"] for e in started] == [1, 2]
    assert result.cv_results_["status"] == ["completed"] * 4
    _assert_same_results(result.cv_results_, local_results)


def test_trial_exception_is_failed_with_its_traceback(
    spark_master: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_trainer(monkeypatch, RaisesInTrial)
    cfg = xgb_wine_config(compute=spark_compute(spark_master), refit=False)
    hpt.tune(cfg, run_dir=tmp_path / "run")
    state = _state(tmp_path / "run")
    failed = state.trials["0001"]
    assert failed.status is TrialStatus.FAILED
    assert failed.error == "RuntimeError: boom from the trial's own code"
    # The trainer class travels by value (cloudpickle names its code <dynamic-code>), but the
    # traceback is the trial's own: its frame and line, not Spark's.
    assert failed.traceback and ", in run\n" in failed.traceback
    assert "Py4J" not in failed.traceback and "SparkException" not in failed.traceback
    assert "boom" in (tmp_path / "run" / "trials" / "0001" / "error.txt").read_text()
    assert not _events(tmp_path / "run", "lost")
    others = [t.status for t in state.ordered() if t.trial_id != "0001"]
    assert others == [TrialStatus.COMPLETED] * 3


def test_lost_executor_is_retried(
    spark_cluster_context: Any,
    local_results: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Runs last on the cluster: the retry goes to the other executor while the standalone
    worker replaces the one that died."""
    _use_trainer(monkeypatch, KillsExecutorOnce)
    master = str(spark_cluster_context.master)
    result = hpt.tune(
        xgb_wine_config(compute=spark_compute(master), refit=False), run_dir=tmp_path / "run"
    )
    state = _state(tmp_path / "run")
    assert state.trials["0001"].lost_attempts == 1  # (0000 may have been on that executor too)
    lost = _events(tmp_path / "run", "lost")
    assert any(e["trial_id"] == "0001" and e["attempt"] == 1 for e in lost), lost
    assert result.cv_results_["status"] == ["completed"] * 4
    _assert_same_results(result.cv_results_, local_results)


def test_fold_errors_and_error_score_raise(spark_local_context: Any, tmp_path: Path) -> None:
    master = str(spark_local_context.master)
    cfg: dict[str, Any] = {
        "dataset": {"kind": "sklearn", "name": "iris"},
        "features": {"sets": None},
        "model": {"_target_": "sklearn.linear_model.LogisticRegression", "max_iter": 200},
        "search_space": {"C": [1.0, -1.0]},
        "metric": {"primary_metric": "accuracy"},
        "compute": spark_compute(master),
        "refit": False,
    }
    hpt.tune(cfg, run_dir=tmp_path / "nan")
    state = _state(tmp_path / "nan")
    assert [t.status for t in state.ordered()] == [TrialStatus.COMPLETED, TrialStatus.FAILED]
    assert "InvalidParameterError" in (state.trials["0001"].traceback or "")
    with pytest.raises(SweepAborted, match="error_score=raise"):
        hpt.tune({**cfg, "cv": {"error_score": "raise"}}, run_dir=tmp_path / "raise")
    failed = _state(tmp_path / "raise").trials["0001"]
    assert failed.status is TrialStatus.FAILED
    assert "InvalidParameterError" in (failed.traceback or "")


def test_local_masters_need_no_spark_to_plan() -> None:
    from launchers.spark import SparkLauncher, local_cores

    assert local_cores("local[3]") == 3 and local_cores("local[2, 4]") == 2
    assert local_cores("local") == 1 and local_cores("spark://host:7077") is None
    assert SparkLauncher(master="local[3]").capacity == 3
    assert SparkLauncher(master="local[4]", conf={"spark.task.cpus": 2}).capacity == 2


def test_executors_without_hpt_fail_at_session_start(
    spark_without_context: None, tmp_path: Path
) -> None:
    """The session's warm-up task finds an executor Python that cannot import hpt's modules: one
    clear error before any trial runs, not one failure per trial."""
    python = tmp_path / "python-without-site-packages"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    python.chmod(0o755)
    compute = spark_compute("local[1]", conf={"spark.pyspark.python": str(python)})
    cfg = xgb_wine_config(compute=compute, refit=False)
    with _own_sigint_handler() as mine:
        with pytest.raises(ConfigError, match="the Spark executors cannot run hpt") as raised:
            hpt.tune(cfg, run_dir=tmp_path / "run")
        assert signal.getsignal(signal.SIGINT) is mine  # pyspark's handler is not left behind
    assert "ModuleNotFoundError: No module named" in str(raised.value)
    assert not _events(tmp_path / "run", "started")


def test_a_sweep_that_starts_spark_puts_back_the_sigint_handler(
    spark_without_context: None, tmp_path: Path
) -> None:
    """pyspark's SparkContext installs its own SIGINT handler and leaves it after stop(): in a
    notebook, Ctrl-C after a ``compute=spark`` sweep would call into the stopped context. The
    launcher that started the context puts the caller's handler back."""
    from pyspark import SparkContext

    cfg = xgb_wine_config(compute=spark_compute("local[1]"), refit=False)
    cfg["search_space"] = {"max_depth": [2], "n_estimators": [5]}
    with _own_sigint_handler() as mine:
        result = hpt.tune(cfg, run_dir=tmp_path / "run")
        assert signal.getsignal(signal.SIGINT) is mine
    assert [t.status for t in result.state.ordered()] == [TrialStatus.COMPLETED]
    assert SparkContext._active_spark_context is None


@contextlib.contextmanager
def _own_sigint_handler() -> Iterator[Callable[..., None]]:
    def mine(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, mine)
    try:
        yield mine
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_local_sweep_resumes_quietly_on_spark(tmp_path: Path) -> None:
    """Changing only the compute target is allowed on resume; results do not depend on it. The
    ``hpt`` process that starts Spark logs its UI once and prints none of Spark's own log."""
    args = [
        "experiment=quick",
        "sampler=grid",
        "search_space.max_depth=[2,3,4,5]",
        "search_space.min_samples_leaf=[1]",
        "search_space.criterion=[gini]",
        "refit=false",
    ]
    done = run_hpt([*args, "resources.max_total_runs=2"], tmp_path)
    assert done.code == 0, done.stderr
    (run_dir,) = run_dirs(tmp_path)
    resumed = run_hpt(
        ["resume", str(run_dir), "--extend", "2", "compute=spark", "compute.master='local[1]'"],
        tmp_path,
    )
    assert resumed.code == 0, resumed.stderr
    output = resumed.stdout + resumed.stderr
    assert output.count("Spark UI: http://127.0.0.1:") == 1
    assert "Spark session started in" in output
    for noise in ("log4j", " WARN ", "NativeCodeLoader", "WARNING: Using incubator", "Stage "):
        assert noise not in output, noise
    state = _state(run_dir)
    assert [t.status for t in state.ordered()] == [TrialStatus.COMPLETED] * 4
    # The reference: what experiment=quick computes (its model, data, metric, hpt's default
    # folds), by scikit-learn in this process.
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_breast_cancer(return_X_y=True)
    ours = {t.params["max_depth"]: t.value for t in state.ordered()}
    theirs = {
        depth: cross_val_score(
            DecisionTreeClassifier(random_state=0, max_depth=depth, min_samples_leaf=1),
            X,
            y,
            cv=5,
            scoring="accuracy",
        ).mean()
        for depth in (2, 3, 4, 5)
    }
    assert ours == pytest.approx(theirs, abs=1e-12)
