"""The SparkContext side of ``compute=spark``: master URLs, settings, and a quiet session start.

:func:`start_context` starts a SparkContext the way hpt wants it: Spark's log and the JVM's
output go to a file, ``local`` masters stay on loopback, and every task slot's Python worker is
warmed up (imports hpt) so an executor without hpt fails the session with one clear error.
:func:`check_master` is the cheap check ``hpt validate`` runs before anything starts.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import socket
import sys
import time
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hpt.errors import ConfigError
from launchers._spark_task import warm_up

if TYPE_CHECKING:
    from pyspark import SparkContext

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "pip install 'hpt[spark]' (pyspark) and Java 17 (apt-get install openjdk-17-jre-headless)"
)
LOG_LEVELS = ("ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF")
# How long to wait for the first executor of a cluster to register (to count its task slots).
EXECUTOR_WAIT_SECONDS = 60.0

_LOCAL_MASTER = re.compile(r"^local(?:\[(\*|\d+)(?:,\s*\d+)?\])?$")
_LOCAL_CLUSTER_MASTER = re.compile(r"^local-cluster\[\s*(\d+)\s*,\s*(\d+)\s*,\s*\d+\s*\]$")


def require_pyspark() -> None:
    if importlib.util.find_spec("pyspark") is None:
        raise ConfigError(
            "compute", f"compute=spark needs pyspark, which is not installed: {INSTALL_HINT}"
        )


def flatten(conf: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"spark": {"executor": {"memory": "4g"}}}`` -> ``{"spark.executor.memory": "4g"}``:
    a command-line override ``compute.conf.spark.executor.memory=4g`` arrives nested."""
    flat: dict[str, Any] = {}
    for key, value in conf.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def conf_text(value: Any) -> str:
    """Spark conf values are strings; YAML booleans must become ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_local_master(master: str) -> bool:
    """True for masters that run every executor inside this machine's driver JVM or next to it."""
    return master.startswith("local")


def local_cores(master: str) -> int | None:
    """Cores of a ``local``/``local[N]``/``local[*]``/``local-cluster[W,C,M]`` master, else None."""
    match = _LOCAL_MASTER.match(master.strip())
    if match:
        count = match.group(1)
        if count is None:
            return 1
        return (os.cpu_count() or 1) if count == "*" else int(count)
    cluster = _LOCAL_CLUSTER_MASTER.match(master.strip())
    if cluster:
        return int(cluster.group(1)) * int(cluster.group(2))
    return None


def check_master(master: Any) -> None:
    """A Spark master URL, and a ``spark://`` master that answers; else ``ConfigError``."""
    if not isinstance(master, str) or not (
        _LOCAL_MASTER.match(master.strip())
        or _LOCAL_CLUSTER_MASTER.match(master.strip())
        or master.startswith(("spark://", "yarn", "k8s://", "mesos://"))
    ):
        raise ConfigError(
            "compute.master",
            f"{master!r} is not a Spark master URL; use local[*], local[N], "
            "spark://host:7077, yarn or k8s://https://host:port",
        )
    if master.startswith("spark://"):
        first = master[len("spark://") :].split(",")[0]
        host, _, port = first.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
        except (OSError, ValueError) as err:
            raise ConfigError(
                "compute.master",
                f"cannot reach the Spark master at {first} ({err}); start it or fix the URL",
            ) from None


def failure_reason(err: BaseException) -> str:
    """A one-line reason for a failed Spark job (for the journal and the log, never for logic)."""
    text = str(err)
    if "Traceback (most recent call last)" in text:  # a Python error on the executor
        tail = text.rsplit("Traceback (most recent call last)", 1)[1]
        raised = re.search(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*$", tail, re.MULTILINE)
        if raised:
            return raised.group(0).strip()[:300]
    match = re.search(r"most recent failure: (?:Lost task [^:]*: )?(.*)", text)
    line = match.group(1) if match else text.strip().splitlines()[0] if text.strip() else ""
    line = re.sub(r"^(?:[\w.$]+(?:Exception|Error): )+", "", line).strip()
    line = line.split(" Consider setting", 1)[0]
    return (line or type(err).__name__)[:300]


def start_context(
    master: str, app_name: str, settings: Mapping[str, str], log_file: str, log_level: str
) -> SparkContext:
    """A new SparkContext on ``master`` with ``settings``, warmed up; ``ConfigError`` if Spark
    does not start or its executors cannot run hpt. Spark logs to ``log_file`` at ``log_level``."""
    from pyspark import SparkConf, SparkContext

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ConfigError(
            "compute", f"compute=spark needs Java 17, which was not found: {INSTALL_HINT}"
        )
    spark_conf = SparkConf().setMaster(master).setAppName(app_name)
    for key, value in settings.items():
        spark_conf.set(key, value)
    started = time.perf_counter()
    gateway = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyspark's import-time notes (pandas version)
            if SparkContext._gateway is None:  # a new JVM: point its logging at the log file
                gateway = _launch_gateway(spark_conf, settings, master, log_file)
            sc = SparkContext(conf=spark_conf, gateway=gateway)
    except Exception as err:
        raise ConfigError(
            "compute",
            f"Spark did not start with master {master!r} ({failure_reason(err)}); "
            f"check compute.master and compute.conf, and Spark's log {log_file}",
        ) from None
    sc.setLogLevel(log_level)
    executable = settings.get("spark.pyspark.python")
    if executable:
        sc.pythonExec = executable
    elif is_local_master(master) and "PYSPARK_PYTHON" not in os.environ:
        sc.pythonExec = sys.executable  # the executors run next to us: use our interpreter
    _warm_up_executors(sc)
    seconds = time.perf_counter() - started
    log.info(
        "Spark session started in %.1fs, executors' Python warmed up (Spark %s, master %s)",
        seconds,
        sc.version,
        sc.master,
    )
    if sc.uiWebUrl and (sc.getConf().get("spark.ui.enabled") or "true") == "true":
        log.info("Spark UI: %s", sc.uiWebUrl)
    log.info("Spark's own log: %s", log_file)
    return sc


def _warm_up_executors(sc: SparkContext) -> None:
    slots = max(1, int(sc.defaultParallelism))
    try:
        sc.parallelize(range(slots), slots).mapPartitions(warm_up).collect()
    except Exception as err:
        sc.stop()
        raise ConfigError(
            "compute",
            f"the Spark executors cannot run hpt ({failure_reason(err)}); install hpt in "
            "the executors' Python and point spark.pyspark.python at it",
        ) from None


def _log4j_config(log_file: str) -> str:
    """A log4j2 config sending every Spark log line to ``log_file`` instead of the console."""
    path = f"{log_file}.log4j2.properties"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(
            "rootLogger.level = warn\n"
            "rootLogger.appenderRef.file.ref = file\n"
            "appender.file.type = File\n"
            "appender.file.name = file\n"
            f"appender.file.fileName = {log_file}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex\n"
        )
    return path


def _launch_gateway(
    spark_conf: Any, settings: Mapping[str, str], master: str, log_file: str
) -> Any:
    from pyspark.java_gateway import launch_gateway

    options = settings.get("spark.driver.extraJavaOptions", "")
    log4j = f"-Dlog4j2.configurationFile=file:{_log4j_config(log_file)}"
    spark_conf.set("spark.driver.extraJavaOptions", f"{options} {log4j}".strip())
    local_ip = os.environ.get("SPARK_LOCAL_IP")
    if is_local_master(master) and local_ip is None:
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # the JVM reads it at launch: bind loopback
    try:
        with open(log_file, "ab") as output:  # the JVM keeps its own copy of the handle
            return launch_gateway(  # type: ignore[no-untyped-call]
                spark_conf, popen_kwargs={"stdout": output, "stderr": output}
            )
    finally:
        if is_local_master(master) and local_ip is None:
            os.environ.pop("SPARK_LOCAL_IP", None)


def wait_for_executors(sc: SparkContext) -> None:
    """Executors register after the context starts; return once they stop arriving."""
    tracker = sc.statusTracker()
    deadline = time.monotonic() + EXECUTOR_WAIT_SECONDS
    # A context that has run for a while has its executors; a new one may still get more.
    settle = 1.0 if time.time() - sc.startTime / 1000 < 30 else 0.0
    seen, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(tracker.getExecutorInfos()) - 1  # minus the driver
        if count != seen:
            seen, stable_since = count, time.monotonic()
        if count > 0 and time.monotonic() - stable_since >= settle:
            return
        time.sleep(0.2)
    if seen <= 0:
        log.warning(
            "no Spark executor registered within %.0fs; check the cluster", EXECUTOR_WAIT_SECONDS
        )
