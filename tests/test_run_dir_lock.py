"""One writer per run dir: a second sweep or resume into a run dir being written is refused with
one line naming the holder, the running sweep ends as it would alone, and a lock left by a
SIGKILLed holder is taken over by the next resume. Also: output dirs that cannot be written."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpt.journal import read_journal
from hpt.rundir import lock_holder
from hpt.state import SweepState
from tests.cli_helpers import run_hpt

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def _sweep_args(run_dir: Path, seconds: str) -> list[str]:
    return [
        "trainer=script",
        f"trainer.script={SCRIPTS / 'sleepy.py'}",
        f"trainer.args=[--pid-dir,{run_dir.parent / 'pids'}]",
        "metric.primary_metric=accuracy",
        "metric.goal=maximize",
        "~search_space",
        f"+search_space.seconds={seconds}",
        "resources.max_concurrent_runs=2",
        "refit=false",
        f"hydra.run.dir={run_dir}",
    ]


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "HPT_DEBUG"}
    return subprocess.Popen(
        [sys.executable, "-m", "hpt.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def _wait_for(predicate: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the sweep did not get going"
        time.sleep(0.1)


def _completed(run_dir: Path) -> list[str]:
    return [e["trial_id"] for e in read_journal(run_dir) if e["event"] == "completed"]


def test_a_second_writer_is_refused_and_the_first_ends_as_alone(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    # Trials of ~9 s: the first sweep must still hold the lock while the two refused commands
    # start up, which takes seconds each on a loaded machine (4 s trials raced with them).
    first = _start(_sweep_args(run_dir, "[9,9.1,9.2,9.3]"), tmp_path)
    try:
        _wait_for(lambda: lock_holder(run_dir) is not None and read_journal(run_dir))
        holder = lock_holder(run_dir)
        assert holder is not None and holder["pid"] == first.pid

        second = run_hpt(["resume", str(run_dir)], tmp_path)
        assert second.code == 2
        assert second.stderr.count("\n") == 1, second.stderr
        assert f"pid {first.pid}" in second.stderr and "hpt status" in second.stderr

        again = run_hpt(_sweep_args(run_dir, "[9,9.1,9.2,9.3]"), tmp_path)
        assert again.code == 2 and again.stderr.count("\n") == 1, again.stderr
        assert f"pid {first.pid}" in again.stderr

        _out, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert first.returncode == 0, err
    events = read_journal(run_dir)
    assert [e["seq"] for e in events] == list(range(len(events)))
    counts = Counter(_completed(run_dir))
    assert sorted(counts) == ["0000", "0001", "0002", "0003"] and set(counts.values()) == {1}
    assert sum(e["event"] == "sweep_created" for e in events) == 1
    assert not any(e["event"] == "sweep_resumed" for e in events)
    assert lock_holder(run_dir) is None


def test_a_sigkilled_holders_lock_is_taken_over_by_resume(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = _start(_sweep_args(run_dir, "[0.2,4,4,0.3]"), tmp_path)
    try:
        _wait_for(lambda: len(_completed(run_dir)) >= 1)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
    assert lock_holder(run_dir) is None  # the kernel dropped the dead holder's lock
    done = run_hpt(["resume", str(run_dir)], tmp_path)
    assert done.code == 0, done.stderr
    assert sorted(set(_completed(run_dir))) == ["0000", "0001", "0002", "0003"]


def test_an_output_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    done = run_hpt(["experiment=quick", "hydra.run.dir=/proc/hpt-cannot-exist"], tmp_path)
    assert done.code == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "cannot write the output dir '/proc/hpt-cannot-exist'" in done.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 200 KiB tmpfs: room for the run dir's first few dozen trials."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_disk_that_fills_mid_sweep_ends_in_one_line_and_resumes(
    tmp_path: Path, small_disk: Path
) -> None:
    run_dir = small_disk / "run"
    args = [
        "experiment=quick",
        "dataset=iris",
        "resources.max_total_runs=400",
        "search_space.max_depth='quniform(1, 100, 1)'",
        "cv.n_splits=2",
        "refit=false",
        f"hydra.run.dir={run_dir}",
    ]
    done = run_hpt(args, tmp_path)
    assert done.code == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "No space left on device" in done.stderr and f"hpt resume {run_dir}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    moved = tmp_path / "moved"
    shutil.copytree(run_dir, moved)
    before = len(_completed(moved))
    assert before > 0
    resumed = run_hpt(["resume", str(moved)], tmp_path)
    assert resumed.code == 0, resumed.stderr
    counts = Counter(_completed(moved))
    state = SweepState.replay(read_journal(moved))
    assert state.finished and not state.aborted, state.end_reason
    assert len(counts) == len(state.trials) > before and set(counts.values()) == {1}
