"""Real components for the remote target's tests, started once per session: an OpenSSH server on
loopback (generated host and user keys, its own config, a free port) and podman as the container
runtime, with a test image made without any registry: a near-empty root filesystem imported with
``podman import``, the host's Python bind-mounted read-only, hpt installed from its wheel by the
Dockerfile ``hpt prepare`` writes. Needs ``bash scripts/setup_remote.sh`` (root, Debian)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SSHD = "/usr/sbin/sshd"
BASE_IMAGE = "localhost/hpt-test-base:latest"
TEST_IMAGE = "hpt-runner-test:latest"

if not (Path(SSHD).exists() and shutil.which("podman") and shutil.which("runc")):
    pytest.skip(
        "needs sshd, podman and runc: bash scripts/setup_remote.sh", allow_module_level=True
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SshServer:
    port: int
    key_file: Path
    known_hosts: Path
    process: subprocess.Popen[bytes]

    def session_pids(self) -> list[int]:
        """The per-connection sshd processes (children of the listener): killing them cuts every
        open SSH connection, as a network drop would."""
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(p) for p in out.split()]


@pytest.fixture(scope="session")
def containers_conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """podman's two settings for these machines (crun fails here), for every podman call."""
    path = tmp_path_factory.mktemp("podman") / "containers.conf"
    path.write_text('[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n')
    os.environ["CONTAINERS_CONF"] = str(path)
    return path


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory, containers_conf: Path) -> Iterator[SshServer]:
    home = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "user_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / name)], check=True
        )
    (home / "authorized_keys").write_text((home / "user_key.pub").read_text())
    port = _free_port()
    config = home / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'host_key'}\n"
        f"PidFile {home / 'sshd.pid'}\nAuthorizedKeysFile {home / 'authorized_keys'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nSubsystem sftp internal-sftp\n"
        # the remote machine's podman settings (on a real VM: /etc/containers/containers.conf)
        f"SetEnv CONTAINERS_CONF={containers_conf}\n"
    )
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the test sshd did not start") from None
            time.sleep(0.1)
    # Trusting the host is the one command hpt tells users to run.
    scan = subprocess.run(
        ["ssh-keyscan", "-p", str(port), "127.0.0.1"], capture_output=True, text=True, check=True
    )
    (home / "known_hosts").write_text(scan.stdout)
    yield SshServer(port, home / "user_key", home / "known_hosts", process)
    process.terminate()
    process.wait(10)


def _python_mounts() -> list[str]:
    """Read-only mounts that give a container this interpreter and its packages."""
    paths = {"/usr", sys.base_prefix, sys.prefix}
    return [f"{p}:{p}:ro" for p in sorted(paths)]


@pytest.fixture(scope="session")
def base_image(containers_conf: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A root filesystem of mount points and the usual merged-/usr symlinks, imported."""
    if subprocess.run(["podman", "image", "exists", BASE_IMAGE]).returncode == 0:
        return BASE_IMAGE
    archive = tmp_path_factory.mktemp("rootfs") / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        for name in ("usr", "tmp", "root", "etc", "proc", "sys", "dev", "run", "opt", "var/tmp"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if "tmp" in name else 0o755
            tar.addfile(info)
        for name in ("bin", "lib", "lib64", "sbin"):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, f"usr/{name}"
            tar.addfile(info)
    subprocess.run(["podman", "import", str(archive), BASE_IMAGE], check=True, capture_output=True)
    return BASE_IMAGE


@pytest.fixture(scope="session")
def remote_compute(
    sshd: SshServer, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """``compute`` settings of the loopback target (no network inside the containers)."""
    mounts = _python_mounts()
    return {
        "_target_": "hpt.remote.SshContainerTarget",
        "host": "127.0.0.1",
        "port": sshd.port,
        "user": "root",
        "key_file": str(sshd.key_file),
        "known_hosts": str(sshd.known_hosts),
        "runtime": "podman",
        "image": TEST_IMAGE,
        "base_image": base_image,
        "python": f"{sys.prefix}/bin/python",
        "work_dir": str(tmp_path_factory.mktemp("remote-work")),
        "requirements": [],  # the host's packages are mounted; nothing to download
        "pip_args": ["--no-deps", "--no-index"],
        "build_args": ["--network=none", *[f"--volume={m}" for m in mounts]],
        "run_args": ["--network=none"],
        "volumes": mounts,
        "poll_seconds": 0.3,
        "reconnect_minutes": 1,
        "connect_timeout": 5,
        "command_timeout": 30,
    }


def iris_config(compute: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A decision tree on iris: 6 configurations, 2 folds, trials of milliseconds."""
    cfg: dict[str, Any] = {
        "dataset": {"kind": "sklearn", "name": "iris"},
        "features": {"sets": None},
        "model": {"_target_": "sklearn.tree.DecisionTreeClassifier", "random_state": 0},
        "search_space": {"max_depth": [1, 2, 3], "criterion": ["gini", "entropy"]},
        "metric": {"primary_metric": "accuracy", "goal": "maximize"},
        "cv": {"n_splits": 2, "shuffle": True, "seed": 3},
        "resources": {"max_concurrent_runs": 2},
        "refit": True,
    }
    if compute is not None:
        cfg["compute"] = compute
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="session")
def prepared(remote_compute: dict[str, Any]) -> dict[str, Any]:
    """The test image, built once by the target's own ``prepare`` (reused when up to date)."""
    from hpt.experiment import Experiment
    from hpt.remote import remote_target

    exp = Experiment.from_config(iris_config(remote_compute))
    target = remote_target(exp)
    assert target is not None
    summary = target.prepare(exp)
    assert TEST_IMAGE.split(":")[0] in summary
    return remote_compute


@pytest.fixture(autouse=True)
def _default_sigint() -> None:
    """The Ctrl-C tests need Python's own SIGINT handler. The Spark launcher and the shared test
    SparkContexts now put back the one pyspark installs; this stays as a guard, because the
    fresh-clone failures it was added for were never traced to a cause."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
