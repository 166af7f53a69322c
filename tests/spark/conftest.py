"""Spark fixtures: one SparkContext at a time for the whole session, on ``local[2]`` or on a real
standalone cluster (a master and a worker started from pyspark's own ``spark-class`` on loopback).

A SparkContext takes seconds to start and only one can run per process, so tests share it: the
``SparkSessions`` manager keeps the current one and switches only when a test needs the other
master. Tests on the cluster are sorted after the ``local[2]`` ones, and tests that start a
SparkContext of their own (``spark_without_context``) after those, so each context starts once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCAL = "local"
STANDALONE = "standalone"
_CLUSTER_START_SECONDS = 120


def _context_order(item: pytest.Item) -> int:
    """0: runs on (or without) the local[2] context, 1: on the cluster, 2: starts its own."""
    fixtures = getattr(item, "fixturenames", ())
    if "spark_without_context" in fixtures:
        return 2
    callspec = getattr(item, "callspec", None)
    if callspec is not None and STANDALONE in callspec.params.values():
        return 1
    return 1 if "spark_cluster_context" in fixtures else 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the tests by the SparkContext they need: each context then starts once."""
    items.sort(key=_context_order)  # stable: the order within each group is kept


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StandaloneCluster:
    """A Spark standalone master and one 2-core worker on 127.0.0.1 (two 1-core executors)."""

    url: str
    web_ui: str
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def start(cls, directory: Path) -> StandaloneCluster:
        import pyspark

        spark_home = Path(pyspark.__file__).parent
        spark_class = str(spark_home / "bin" / "spark-class")
        directory.mkdir(parents=True, exist_ok=True)
        port, web_port, worker_web_port = _free_port(), _free_port(), _free_port()
        env = {
            **os.environ,
            "SPARK_HOME": str(spark_home),
            "SPARK_LOCAL_IP": "127.0.0.1",  # loopback only
            "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
            "SPARK_WORKER_DIR": str(directory / "work"),
            "PYSPARK_PYTHON": sys.executable,
        }
        cluster = cls(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{web_port}", directory)
        commands = {
            "master": [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(web_port)),
            ],
            "worker": [
                spark_class,
                "org.apache.spark.deploy.worker.Worker",
                cluster.url,
                *("--host", "127.0.0.1", "--cores", "2", "--memory", "2g"),
                *("--webui-port", str(worker_web_port), "--work-dir", str(directory / "work")),
            ],
        }
        for name, command in commands.items():
            with open(directory / f"{name}.log", "wb") as log:
                cluster.processes.append(
                    subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
                )
        try:
            cluster._wait_for_worker()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _wait_for_worker(self) -> None:
        deadline = time.monotonic() + _CLUSTER_START_SECONDS
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                break
            self._follow_web_ui_port()
            try:
                with urllib.request.urlopen(f"{self.web_ui}/json/", timeout=2) as response:
                    if json.load(response).get("aliveworkers", 0) >= 1:
                        return
            except (OSError, ValueError):  # not up yet, or another server's page: poll again
                pass
            time.sleep(0.5)
        logs = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.logs.glob("*.log"))
        )
        raise RuntimeError(f"the standalone Spark cluster did not come up:\n{logs}")

    def _follow_web_ui_port(self) -> None:
        """Read the master's web UI port from its log.

        The free port chosen before the start can be taken by another process in between (the
        tests run in parallel); Spark then binds the next port and logs where it started.
        """
        log = (self.logs / "master.log").read_text(errors="replace")
        started = re.search(r"Bound MasterWebUI to \S+, and started at http://[^:]+:(\d+)", log)
        if started:
            self.web_ui = f"http://127.0.0.1:{started.group(1)}"

    def stop(self) -> None:
        for process in reversed(self.processes):  # the worker first, then the master
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_for_executors(sc: Any, count: int) -> None:
    tracker = sc.statusTracker()
    deadline = time.monotonic() + _CLUSTER_START_SECONDS
    while len(tracker.getExecutorInfos()) - 1 < count:  # minus the driver
        assert time.monotonic() < deadline, "the cluster's executors did not register"
        time.sleep(0.2)


class SparkSessions:
    """At most one SparkContext alive: ``use(LOCAL)`` or ``use(STANDALONE)`` switches to it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.kind: str | None = None
        self.launcher: Any = None
        self.cluster: StandaloneCluster | None = None

    def use(self, kind: str) -> Any:
        from launchers.spark import SparkLauncher

        if self.kind == kind:
            return self.launcher.context()
        self.release()
        # Executors import the test-only trainers of these tests from the repository.
        conf = {"spark.executorEnv.PYTHONPATH": str(REPO)}
        if kind == LOCAL:
            master = "local[2]"
        else:
            if self.cluster is None:
                self.cluster = StandaloneCluster.start(self.directory / "cluster")
            master = self.cluster.url
            conf |= {
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.pyspark.python": sys.executable,
                # Two executors: one that dies (a lost-executor test) leaves one to run on.
                "spark.executor.cores": "1",
                "spark.executor.memory": "1g",
            }
        self.launcher = SparkLauncher(
            master=master,
            app_name=f"hpt-tests-{kind}",
            conf=conf,
            ui=False,
            log_file=str(self.directory / f"spark-{kind}.log"),
        )
        before = signal.getsignal(signal.SIGINT)
        sc = self.launcher.context()
        # The shared contexts outlive a test: put Python's handler back at once (pyspark installs
        # its own) so Ctrl-C tests that later run in this worker see a KeyboardInterrupt.
        signal.signal(signal.SIGINT, before)
        if kind == STANDALONE:
            _wait_for_executors(sc, 2)
            assert self.launcher.capacity == 2
        self.kind = kind
        return sc

    def release(self) -> None:
        """Stop the current SparkContext (the JVM stays up), e.g. for a test that starts its own."""
        if self.launcher is not None:
            self.launcher.close()  # stops the SparkContext it created
        self.launcher, self.kind = None, None

    def close(self) -> None:
        self.release()
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None


@pytest.fixture(scope="session")
def spark_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSessions]:
    pytest.importorskip("pyspark", reason="the Spark tests need pyspark: pip install 'hpt[spark]'")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("the Spark tests need Java 17")
    sessions = SparkSessions(tmp_path_factory.mktemp("spark"))
    try:
        yield sessions
    finally:
        sessions.close()


@pytest.fixture(params=[LOCAL, STANDALONE])
def spark_master(request: pytest.FixtureRequest, spark_sessions: SparkSessions) -> str:
    """The master URL of a running SparkContext: ``local[2]``, then the standalone cluster."""
    return str(spark_sessions.use(request.param).master)


@pytest.fixture
def spark_local_context(spark_sessions: SparkSessions) -> Any:
    """The running ``local[2]`` SparkContext."""
    return spark_sessions.use(LOCAL)


@pytest.fixture
def spark_cluster_context(spark_sessions: SparkSessions) -> Any:
    """The running SparkContext on the standalone cluster."""
    return spark_sessions.use(STANDALONE)


@pytest.fixture
def spark_without_context(spark_sessions: SparkSessions) -> None:
    """No SparkContext running (the JVM stays up): the test starts one of its own. Such tests run
    last, so the shared contexts and the cluster are stopped for good here."""
    spark_sessions.close()


def spark_compute(master: str, **extra: Any) -> dict[str, Any]:
    """``compute`` config for a sweep on the SparkContext of ``master`` (already running)."""
    return {"_target_": "launchers.spark.SparkLauncher", "master": master, "ui": False, **extra}
