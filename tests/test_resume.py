"""Crash safety: kill -9 the driver anywhere, resume, and get exactly the uninterrupted results."""

from __future__ import annotations

import csv
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from hpt.journal import JOURNAL_NAME, read_journal
from hpt.state import SweepState
from hpt.trial import TrialStatus
from tests.cli_helpers import run_dirs, run_hpt

# 8 XGBoost configurations x 5 folds on the wine data: ~110 journal events, a few seconds.
SWEEP = [
    "dataset=wine",
    "features=none",
    "model=xgboost",
    "search_space=seed_grid",
    "search_space.n_estimators=[5,10,15,20]",
    "search_space.max_depth=[2,3]",
    "resources.max_concurrent_runs=2",
    # One trial per attempt: with shared work, each resume re-journals every grouped member
    # (requeued, started) before any fold, so kills 1-9 lines apart would never let a fold land.
    # tests/test_shared_work.py kills a sweep in the middle of a shared fit.
    "sweep.share_work=false",
]
RESULT_COLUMNS = (
    "trial_id",
    "status",
    "params",
    "mean_test_score",
    "std_test_score",
    "rank_test_score",
    *(f"split{k}_test_score" for k in range(5)),
)


def _results(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "cv_results.csv", newline="") as handle:
        return [{c: row[c] for c in RESULT_COLUMNS} for row in csv.DictReader(handle)]


def _check_not_torn(run_dir: Path) -> None:
    """Every derived file that exists parses completely."""
    if (run_dir / "best.json").exists():
        json.loads((run_dir / "best.json").read_text())
    if (run_dir / "cv_results.csv").exists():
        with open(run_dir / "cv_results.csv", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows and all(len(r) == len(rows[0]) for r in rows), "torn cv_results.csv"
    if (run_dir / "sweeping_results.txt").exists():
        text = (run_dir / "sweeping_results.txt").read_text()
        assert text.startswith("metric =  ") and text.endswith("\n"), "torn sweeping_results.txt"


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hpt.cli", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    cwd = tmp_path_factory.mktemp("reference")
    done = run_hpt(SWEEP, cwd)
    assert done.code == 0, done.stderr
    return _results(run_dirs(cwd)[0])


def test_kill_9_at_many_points_then_resume_gives_the_uninterrupted_results(
    tmp_path: Path, reference: list[dict[str, str]]
) -> None:
    rng = random.Random(20261128)
    proc = _start(SWEEP, tmp_path)
    run_dir: Path | None = None
    kills = 0
    finished = False
    while not finished:
        deadline = time.time() + 120
        while run_dir is None and time.time() < deadline:
            found = run_dirs(tmp_path)
            run_dir = found[0] if found else None
            time.sleep(0.01)
        assert run_dir is not None, proc.stderr.read() if proc.stderr else ""
        journal = run_dir / JOURNAL_NAME
        target = _lines(journal) + rng.randint(3, 12)
        while proc.poll() is None and _lines(journal) < target and time.time() < deadline:
            time.sleep(0.002)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        else:
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        _check_not_torn(run_dir)
        state = SweepState.replay(read_journal(run_dir))
        finished = state.finished and not state.unfinished()
        if not finished:
            proc = _start(["resume", str(run_dir)], tmp_path)
    assert kills >= 10, f"only {kills} kills: the sweep finished too quickly to test enough points"
    assert run_dir is not None
    assert _results(run_dir) == reference
    events = read_journal(run_dir)
    folds = Counter((e["trial_id"], e["fold"]) for e in events if e["event"] == "fold")
    assert max(folds.values()) == 1, "a completed fold ran twice"
    assert len(folds) == 8 * 5
    completed = Counter(e["trial_id"] for e in events if e["event"] == "completed")
    assert max(completed.values()) == 1 and len(completed) == 8
    assert sum(1 for e in events if e["event"] == "sweep_resumed") >= 10


def test_resume_of_a_finished_sweep_does_nothing_and_extend_adds_trials(tmp_path: Path) -> None:
    done = run_hpt(["experiment=quick", "resources.max_total_runs=2"], tmp_path)
    assert done.code == 0, done.stderr
    (run_dir,) = run_dirs(tmp_path)
    again = run_hpt(["resume", str(run_dir)], tmp_path)
    assert again.code == 0 and "already finished" in again.stdout
    assert len(SweepState.replay(read_journal(run_dir)).trials) == 2
    more = run_hpt(["resume", str(run_dir), "--extend", "2"], tmp_path)
    assert more.code == 0, more.stderr
    state = SweepState.replay(read_journal(run_dir))
    assert [t.trial_id for t in state.ordered()] == ["0000", "0001", "0002", "0003"]
    assert all(t.status is TrialStatus.COMPLETED for t in state.ordered())


def test_resume_refuses_a_changed_space_unless_forced(tmp_path: Path) -> None:
    done = run_hpt(["experiment=quick", "resources.max_total_runs=2"], tmp_path)
    assert done.code == 0, done.stderr
    (run_dir,) = run_dirs(tmp_path)
    refused = run_hpt(
        ["resume", str(run_dir), "--extend", "1", "search_space.max_depth=[2,3]"], tmp_path
    )
    assert refused.code == 2
    line = refused.stderr.strip()
    assert "\n" not in line and "search_space.max_depth" in line and "--force" in line
    allowed = run_hpt(
        ["resume", str(run_dir), "--extend", "1", "resources.max_concurrent_runs=1"], tmp_path
    )
    assert allowed.code == 0, allowed.stderr
    forced = run_hpt(
        ["resume", str(run_dir), "--extend", "1", "--force", "search_space.max_depth=[2,3]"],
        tmp_path,
    )
    assert forced.code == 0, forced.stderr
    state = SweepState.replay(read_journal(run_dir))
    assert len(state.trials) == 4
    assert state.trials["0003"].params["max_depth"] in (2, 3)


def test_rerun_failed(tmp_path: Path) -> None:
    args = [
        "dataset=breast_cancer",
        "features=none",
        "model=decision_tree",
        "search_space=tree",
        "metric=accuracy",
        "search_space.max_depth=[-1,2]",
        "search_space.min_samples_leaf=[1]",
        "search_space.criterion=[gini]",
    ]
    done = run_hpt(args, tmp_path)
    assert done.code == 0, done.stderr
    (run_dir,) = run_dirs(tmp_path)
    assert SweepState.replay(read_journal(run_dir)).trials["0000"].status is TrialStatus.FAILED
    again = run_hpt(["rerun-failed", str(run_dir)], tmp_path)
    assert again.code == 0, again.stderr
    events = read_journal(run_dir)
    assert [e["trial_id"] for e in events if e["event"] == "requeued"] == ["0000"]
    assert sum(1 for e in events if e["event"] == "started" and e["trial_id"] == "0001") == 1


def test_ctrl_c_leaves_a_resumable_sweep_and_a_hint(
    tmp_path: Path, reference: list[dict[str, str]]
) -> None:
    proc = _start(SWEEP, tmp_path)
    deadline = time.time() + 120
    while time.time() < deadline:
        found = run_dirs(tmp_path)
        if found and any(e["event"] == "completed" for e in read_journal(found[0])):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    (run_dir,) = run_dirs(tmp_path)
    if proc.returncode == 0:
        pytest.skip("the sweep finished before the interrupt landed")
    assert proc.returncode == 130, err
    assert f"hpt resume {run_dir}" in err
    assert read_journal(run_dir)[-1]["event"] == "sweep_interrupted"
    done = run_hpt(["resume", str(run_dir)], tmp_path)
    assert done.code == 0, done.stderr
    assert _results(run_dir) == reference
