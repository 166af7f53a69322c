"""The commands: ``hpt compute=...`` detached by Ctrl-C, ``hpt status``, ``hpt cancel``, then
``hpt resume RUN_DIR compute=local`` finishes the sweep here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from hpt.remote import target_of_run_dir
from tests.cli_helpers import run_dirs, run_hpt
from tests.remote.test_lifecycle import HERE, XS, completed


def write_conf(root: Path, compute: dict[str, Any]) -> Path:
    conf = root / "conf"
    (conf / "compute").mkdir(parents=True)
    (conf / "experiment").mkdir()
    (conf / "search_space").mkdir()
    # Trials of 2 s: room to interrupt the sweep mid-way even on a loaded machine.
    (conf / "search_space" / "slow.yaml").write_text(f"x: {XS}\npause: 2.0\n")
    (conf / "compute" / "loopback.yaml").write_text(yaml.safe_dump(compute))
    (conf / "experiment" / "slow.yaml").write_text(
        "# @package _global_\n"
        "defaults:\n  - override /trainer: script\n  - override /metric: accuracy\n"
        "  - override /search_space: slow\n"
        f"trainer:\n  script: {HERE / 'slow_train.py'}\n"
        "resources:\n  max_concurrent_runs: 1\nrefit: false\n"
    )
    return conf


def test_detach_status_cancel_then_resume_here(prepared: dict[str, Any], tmp_path: Path) -> None:
    write_conf(tmp_path, prepared)
    env = {**os.environ, "HPT_DEBUG": ""}
    sweep = subprocess.Popen(
        [sys.executable, "-m", "hpt.cli", "experiment=slow", "compute=loopback"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (run_dirs(tmp_path) and completed(run_dirs(tmp_path)[0]) >= 1):
        assert sweep.poll() is None and time.monotonic() < deadline, sweep.communicate()
        time.sleep(0.2)
    sweep.send_signal(signal.SIGINT)
    _, stderr = sweep.communicate(timeout=60)
    (run_dir,) = run_dirs(tmp_path)
    assert sweep.returncode == 130
    assert f"hpt attach {run_dir}" in stderr

    assert target_of_run_dir(run_dir).status(run_dir).state == "running"

    cancel = run_hpt(["cancel", str(run_dir)], cwd=tmp_path)
    assert cancel.code == 0 and "state: stopped" in cancel.stdout, cancel
    kept = completed(run_dir)
    assert 1 <= kept < len(XS)
    status = run_hpt(["status", str(run_dir)], cwd=tmp_path)
    assert status.code == 0 and "state: stopped" in status.stdout, status
    assert f"trials done: {kept}" in status.stdout
    remote_dir = json.loads((run_dir / "remote.json").read_text())["remote_dir"]
    assert (Path(remote_dir) / "journal.jsonl").read_bytes() == (
        run_dir / "journal.jsonl"
    ).read_bytes()  # the mirror is the remote journal, byte for byte

    here = run_hpt(["resume", str(run_dir), "compute=local"], cwd=tmp_path)
    assert here.code == 0, here
    assert completed(run_dir) == len(XS)
    best = json.loads((run_dir / "best.json").read_text())
    assert best["best_params"]["x"] == 0.3
