"""Detach, status, a cut connection, a container that dies, resume; secrets stay in memory."""

from __future__ import annotations

import _thread
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import hpt
from hpt.errors import ConfigError
from hpt.remote import Detached, RemoteDied, target_of_run_dir
from tests.remote.conftest import SshServer, iris_config

HERE = Path(__file__).resolve().parent
SECRET_VAR = "HPT_REMOTE_TEST_SECRET"
XS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


def script_config(compute: dict[str, Any]) -> dict[str, Any]:
    return {
        "trainer": {"kind": "script", "script": str(HERE / "slow_train.py")},
        "search_space": {"x": XS, "pause": 1.5},  # long enough to interrupt under load
        "metric": {"primary_metric": "accuracy", "goal": "maximize"},
        "resources": {"max_concurrent_runs": 1},
        # a secret the remote sweep needs: it must reach the container, and nothing else
        "dataset": {"account_key": "${oc.env:" + SECRET_VAR + "}"},
        "compute": compute,
        "refit": False,
    }


def completed(run_dir: Path) -> int:
    path = run_dir / "journal.jsonl"
    if not path.exists():
        return 0
    return sum(json.loads(line)["event"] == "completed" for line in path.read_text().splitlines())


def wait_for(condition: Any, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


class CommandLineWatch(threading.Thread):
    """Reads every process's command line while the sweep runs, looking for the secret."""

    def __init__(self, secret: str) -> None:
        super().__init__(daemon=True)
        self.secret = secret.encode()
        self.seen: list[str] = []
        self.scans = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    cmdline = (proc / "cmdline").read_bytes()
                except OSError:
                    continue
                if self.secret in cmdline:
                    self.seen.append(cmdline.decode(errors="replace"))
            self.scans += 1
            time.sleep(0.05)


def test_unknown_host_is_refused(prepared: dict[str, Any], tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    compute = {**prepared, "known_hosts": str(empty)}
    with pytest.raises(ConfigError) as err:
        hpt.tune(iris_config(compute), run_dir=tmp_path / "run")
    assert f"ssh-keyscan -p {prepared['port']} 127.0.0.1 >> {empty}" in str(err.value)
    assert not (tmp_path / "run" / "journal.jsonl").exists()


def test_cut_detach_die_resume(
    prepared: dict[str, Any], sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"s3cr3t-{os.getpid()}-{time.time_ns()}"
    monkeypatch.setenv(SECRET_VAR, secret)
    run_dir = tmp_path / "run"
    watch = CommandLineWatch(secret)
    watch.start()

    def intervene() -> None:
        wait_for(lambda: completed(run_dir) >= 1)
        for pid in sshd.session_pids():  # cut the connection mid-sweep
            os.kill(pid, 9)
        wait_for(lambda: completed(run_dir) >= 3)  # the mirror reconnected and goes on
        _thread.interrupt_main()  # Ctrl-C

    helper = threading.Thread(target=intervene, daemon=True)
    helper.start()
    with pytest.raises(Detached) as detached:
        hpt.tune(script_config(prepared), run_dir=run_dir)
    helper.join()
    assert f"hpt attach {run_dir}" in str(detached.value)
    target = target_of_run_dir(run_dir)
    status = target.status(run_dir)
    assert status.state == "running", status.lines()

    # The container dies (killed); following it again says so, with its last lines.
    container = json.loads((run_dir / "remote.json").read_text())["container"]
    subprocess.run(["podman", "kill", container], check=True, capture_output=True)
    with pytest.raises(RemoteDied) as died:
        target.attach(run_dir)
    assert "hpt resume" in str(died.value) and "last lines" in str(died.value)
    done_before = completed(run_dir)
    assert done_before >= 3
    assert target.status(run_dir).state == "died"

    # hpt resume continues it remotely, keeping what was done.
    result = hpt.resume(run_dir)
    assert result is not None
    watch.done.set()
    watch.join()
    values = sorted(t.value for t in result.state.ordered())
    assert values == sorted(1 - (x - 0.3) ** 2 for x in XS)
    assert result.best_params_ is not None and result.best_params_["x"] == 0.3
    assert completed(run_dir) == len(XS)  # nothing ran twice to completion
    assert target.status(run_dir).state == "finished"

    # No secret in any file on either side, nor in any command line seen during the run.
    remote_dir = Path(json.loads((run_dir / "remote.json").read_text())["remote_dir"])
    for root in (run_dir, remote_dir):
        for path in root.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
    assert not list(remote_dir.glob(".env*"))
    assert watch.scans > 10 and watch.seen == []
