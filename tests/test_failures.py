"""Failure semantics: raising trials, error_score, fail-fast, killed workers, secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hpt
from hpt.journal import read_journal
from hpt.state import SweepState
from hpt.trial import TrialStatus
from tests.cli_helpers import run_dirs, run_hpt

TREE = [
    "dataset=breast_cancer",
    "features=none",
    "model=decision_tree",
    "search_space=tree",
    "metric=accuracy",
    "sampler=grid",
    "search_space.min_samples_leaf=[1]",
    "search_space.criterion=[gini]",
]


def _state(run_dir: Path) -> SweepState:
    return SweepState.replay(read_journal(run_dir))


def test_raising_trial_is_failed_with_traceback_and_sweep_completes(tmp_path: Path) -> None:
    done = run_hpt([*TREE, "search_space.max_depth=[-1,2,3]"], tmp_path)
    assert done.code == 0, done.stderr
    (run_dir,) = run_dirs(tmp_path)
    state = _state(run_dir)
    statuses = [t.status for t in state.ordered()]
    assert statuses == [TrialStatus.FAILED, TrialStatus.COMPLETED, TrialStatus.COMPLETED]
    failed = state.trials["0000"]
    assert "max_depth" in (failed.error or "")
    error_text = (run_dir / "trials" / "0000" / "error.txt").read_text()
    assert "Traceback" in error_text and "InvalidParameterError" in error_text
    best = json.loads((run_dir / "best.json").read_text())
    assert best["trial_id"] in ("0001", "0002")


def test_error_score_raise_stops_the_sweep(tmp_path: Path) -> None:
    done = run_hpt(
        [
            *TREE,
            "search_space.max_depth=[-1,2,3,4,5]",
            "cv.error_score=raise",
            "resources.max_concurrent_runs=1",
        ],
        tmp_path,
    )
    assert done.code == 1
    assert "error_score=raise" in done.stderr
    (run_dir,) = run_dirs(tmp_path)
    state = _state(run_dir)
    assert state.aborted
    assert state.trials["0000"].status is TrialStatus.FAILED
    assert state.count(TrialStatus.COMPLETED) < 5


def test_fail_fast_when_the_first_trials_fail_alike(tmp_path: Path) -> None:
    done = run_hpt(
        [
            *TREE,
            "search_space.max_depth=[-1,-2,-3,-4,-5,-6,-7,-8]",
            "resources.max_concurrent_runs=1",
        ],
        tmp_path,
    )
    assert done.code == 1
    assert "the first 3 trials all failed with the same error" in done.stderr
    assert done.stderr.count("InvalidParameterError") == 1  # shown once
    (run_dir,) = run_dirs(tmp_path)
    assert len(_state(run_dir).trials) < 8  # the budget was not burnt


def test_max_failed_runs(tmp_path: Path) -> None:
    done = run_hpt(
        [
            *TREE,
            "search_space.max_depth=[2,-1,3,-2,4,-3,5]",
            "resources.max_failed_runs=2",
            "resources.max_concurrent_runs=1",
        ],
        tmp_path,
    )
    assert done.code == 1
    assert "max_failed_runs=2" in done.stderr


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_killed_worker_is_retried_and_the_sweep_completes(tmp_path: Path) -> None:
    args = [
        "dataset=wine",
        "features=none",
        "model=xgboost",
        "search_space=seed_grid",
        "search_space.n_estimators=[40,80]",
        "search_space.max_depth=[2]",
        "resources.max_concurrent_runs=2",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpt.cli", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = None
    deadline = time.time() + 120
    while killed is None and time.time() < deadline:
        dirs = run_dirs(tmp_path)
        if dirs:
            events = read_journal(dirs[0])
            started = [e for e in events if e["event"] == "started"]
            if started and not any(e["event"] == "completed" for e in events):
                pid = started[0]["pid"]
                os.kill(pid, signal.SIGKILL)
                killed = started[0]["trial_id"]
        time.sleep(0.02)
    _out, err = proc.communicate(timeout=180)
    assert killed is not None
    assert proc.returncode == 0, err
    state = _state(run_dirs(tmp_path)[0])
    assert all(t.status is TrialStatus.COMPLETED for t in state.ordered())
    events = read_journal(run_dirs(tmp_path)[0])
    lost = [e for e in events if e["event"] == "lost"]
    assert lost and lost[0]["trial_id"] == killed
    assert state.trials[killed].attempt == 2


def test_secrets_are_redacted_everywhere(tmp_path: Path) -> None:
    secret = "s3cr3t-Value-42"
    done = run_hpt(
        [
            "experiment=quick",
            "resources.max_total_runs=2",
            "dataset.account_key='${oc.env:HPT_TEST_STORAGE_KEY}'",
        ],
        tmp_path,
        env={"HPT_TEST_STORAGE_KEY": secret},
    )
    assert done.code == 0, done.stderr
    (run_dir,) = run_dirs(tmp_path)
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    header = read_journal(run_dir)[0]
    assert header["config"]["dataset"]["account_key"] == "***"
    assert secret not in done.stdout + done.stderr


def test_plain_secret_override_is_refused(tmp_path: Path) -> None:
    done = run_hpt(["experiment=quick", "dataset.account_key=hunter2"], tmp_path)
    assert done.code == 2
    assert "oc.env" in done.stderr and "hunter2" not in done.stderr
    assert not (tmp_path / "outputs").exists()


def test_python_api_failure_is_a_value(tmp_path: Path) -> None:
    cfg = {
        "dataset": {"kind": "sklearn", "name": "iris"},
        "features": {"sets": None},
        "model": {"_target_": "sklearn.tree.DecisionTreeClassifier", "random_state": 0},
        "search_space": {"max_depth": [-1, 2]},
        "metric": {"primary_metric": "accuracy"},
        "resources": {"max_concurrent_runs": 1},
    }
    result = hpt.tune(cfg, run_dir=tmp_path / "run")
    assert result.best_params_ == {"max_depth": 2}
    assert list(result.cv_results_["status"]) == ["failed", "completed"]


def test_bad_python_config_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(hpt.ConfigError, match=r"search_space\.max_depth"):
        hpt.tune(
            {
                "model": {"_target_": "sklearn.tree.DecisionTreeClassifier"},
                "dataset": {"kind": "sklearn", "name": "iris"},
                "features": {"sets": None},
                "metric": {"primary_metric": "accuracy"},
                "search_space": {"max_depth": "uniform(1, 3)"},
            },
            run_dir=tmp_path / "r",
        )
