"""``compute=spark``: every trial attempt is one Spark job of one task; the driver is hpt itself.

How it works:

* A SparkContext the launcher starts itself is quiet (Spark's log and the JVM's output go to a
  file), stays on loopback for ``local`` masters, and is warmed up: one task per slot starts the
  executors' Python workers and imports hpt there, so an executor without hpt fails the session
  with one clear error instead of failing every trial. A context already running is used as is.
* ``open(trainer)`` broadcasts the trainer (estimator, data, folds) once per sweep. Each executor
  Python worker unpickles it once and keeps it for the next tasks (``spark.python.worker.reuse``
  stays on), so the data is not shipped per trial.
* ``start(spec)`` hands the attempt to a driver thread, which submits a one-task job in its own job
  group (pinned-thread mode, so the group belongs to that job only). Up to ``capacity`` attempts are
  in flight; a free slot takes the next trial at once, there are no batches.
* The task connects back to a small TCP server on the driver and streams the attempt's events as
  JSON lines while it runs, so early-termination policies see every fold. The same connection
  carries the driver's stop request, which the trial's ``should_stop()`` sees between folds or
  boosting rounds. The task also returns all its events as the job's result; the driver forwards
  each event once (by its per-attempt sequence number), so nothing is lost if the stream broke.
* A hard stop cancels the job group (interrupting the task) and reports the attempt ``lost``
  (``reason: killed``). A job that fails for any reason other than the trial's own exception -- a
  crashed Python worker, a lost executor, a killed task -- is reported ``lost`` too and hpt's loop
  runs it again as a new attempt (up to ``resources.max_retries``), resuming after the last
  completed fold. The trial's own exception never fails the job: :func:`hpt.worker.execute` records
  it as ``failed`` with its traceback.
* Spark's task retries are off (``spark.task.maxFailures=1``) and a task that Spark runs again anyway
  (a user-supplied context, an executor lost for unrelated reasons) does not run the trial: it
  reports the attempt lost, so every execution of a trial is one hpt attempt with its own number.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import importlib.util
import json
import logging
import os
import pickle
import queue
import re
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hpt.errors import ConfigError
from hpt.launcher import Launcher
from hpt.trainers import Trainer
from hpt.trial import TrialSpec

if TYPE_CHECKING:
    from pyspark import SparkContext

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "pip install 'hpt[spark]' (pyspark) and Java 17 (apt-get install openjdk-17-jre-headless)"
)

# Events after which an attempt is over; anything it sends later is dropped.
_FINAL_EVENTS = frozenset({"finished", "failed", "stopped", "lost"})
# After a job fails, how long to let the task's event stream drain before declaring it lost.
_DRAIN_SECONDS = 2.0
# A soft stop for a task whose event stream never connected becomes a job cancel after this long.
_STOP_GRACE_SECONDS = 10.0
# How long to wait for the first executor of a cluster to register (to count its task slots).
_EXECUTOR_WAIT_SECONDS = 60.0

_LOG_LEVELS = ("ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF")
_LOCAL_MASTER = re.compile(r"^local(?:\[(\*|\d+)(?:,\s*\d+)?\])?$")
_LOCAL_CLUSTER_MASTER = re.compile(r"^local-cluster\[\s*(\d+)\s*,\s*(\d+)\s*,\s*\d+\s*\]$")


def _require_pyspark() -> None:
    if importlib.util.find_spec("pyspark") is None:
        raise ConfigError(
            "compute", f"compute=spark needs pyspark, which is not installed: {INSTALL_HINT}"
        )


def _flatten(conf: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"spark": {"executor": {"memory": "4g"}}}`` -> ``{"spark.executor.memory": "4g"}``:
    a command-line override ``compute.conf.spark.executor.memory=4g`` arrives nested."""
    flat: dict[str, Any] = {}
    for key, value in conf.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _conf_text(value: Any) -> str:
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


# -- executor side ---------------------------------------------------------------------------
# One trainer per executor Python worker: pyspark caches the broadcast value per worker process,
# and this cache makes sure ``setup()`` runs once per worker, not once per task.
_TRAINERS: dict[str, Trainer] = {}
_TRAINERS_LOCK = threading.Lock()
# Driver event servers this worker could not connect to.
_UNREACHABLE: set[tuple[str, int]] = set()


class _ByValue:
    """Pickles its object with cloudpickle, so classes and functions defined in the user's
    ``__main__`` (a custom scorer or estimator) reach the executors; importable ones still travel
    by reference. Unpickling yields the object itself, so the executor holds the data once."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        from pyspark import cloudpickle

        data: bytes = cloudpickle.dumps(  # type: ignore[no-untyped-call]
            self.obj, protocol=pickle.HIGHEST_PROTOCOL
        )
        return pickle.loads, (data,)


def _trainer_of(key: str, broadcast: Any) -> Trainer:
    """The trainer of sweep ``key``, unpickled and set up once per Python worker."""
    with _TRAINERS_LOCK:
        trainer = _TRAINERS.get(key)
        if trainer is None:
            value = broadcast.value
            if not isinstance(value, Trainer):
                raise TypeError(f"the broadcast holds a {type(value).__name__}, not a Trainer")
            trainer = value
            trainer.setup()
            # A worker serves one sweep at a time: drop the trainers (and data) of earlier sweeps.
            _TRAINERS.clear()
            _TRAINERS[key] = trainer
        return trainer


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _dumps(event: Mapping[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), default=_json_default)


class _EventStream:
    """The task's end of the connection to the driver: events out, a stop request in.

    A task that cannot reach the driver still runs; its events then reach the driver only with
    the job's result, when the attempt ends.
    """

    def __init__(self, sock: socket.socket | None) -> None:
        self._sock = sock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        if sock is not None:
            threading.Thread(target=self._read, args=(sock,), daemon=True).start()

    @classmethod
    def connect(cls, address: tuple[str, int], token: str, tag: Mapping[str, Any]) -> _EventStream:
        if address in _UNREACHABLE:
            return cls(None)  # do not make every task of this worker wait for the timeout
        try:
            sock = socket.create_connection(address, timeout=10)
            sock.settimeout(None)
            sock.sendall((_dumps({"token": token, **tag}) + "\n").encode())
        except OSError:
            _UNREACHABLE.add(address)
            return cls(None)
        return cls(sock)

    def _read(self, sock: socket.socket) -> None:
        try:
            with sock.makefile("rb") as lines:
                for line in lines:
                    if line.strip() == b"stop":
                        self._stop.set()
        except (OSError, ValueError):
            pass  # the driver went away or the task closed the stream

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def send(self, event: Mapping[str, Any]) -> None:
        if self._sock is None:
            return
        data = (_dumps(event) + "\n").encode()
        with self._lock:
            try:
                self._sock.sendall(data)
            except OSError:
                self._drop()

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # also wakes the reader thread
            sock.close()

    def close(self) -> None:
        with self._lock:
            self._drop()


def _run_attempt(
    key: str, broadcast: Any, address: tuple[str, int], token: str, items: Iterable[str]
) -> Iterator[str]:
    """The Spark task: run one attempt, stream its events, return them all as one JSON list."""
    from pyspark import TaskContext

    from hpt.worker import execute

    # Read the whole input: a Python worker that leaves input unread is not reused.
    (payload,) = list(items)
    spec = TrialSpec.from_json(json.loads(payload))
    tag = {"trial_id": spec.trial_id, "attempt": spec.attempt}
    events: list[dict[str, Any]] = []

    def record(event: dict[str, Any]) -> dict[str, Any]:
        event = {**event, "seq": len(events) + 1}
        events.append(event)
        return event

    context = TaskContext.get()
    spark_attempt = context.attemptNumber() if context is not None else 0
    if spark_attempt > 0:
        # Spark ran this task again after a failure. Running the trial here would mix two
        # executions under one hpt attempt number; hpt retries it as a new attempt instead.
        record(
            {
                "event": "lost",
                **tag,
                "reason": f"Spark re-ran the task (task attempt {spark_attempt}) after a failure",
            }
        )
        yield _dumps_list(events)
        return
    stream = _EventStream.connect(address, token, tag)

    def emit(event: dict[str, Any]) -> None:
        stream.send(record(event))

    try:
        try:
            trainer = _trainer_of(key, broadcast)
        except Exception as err:
            emit(
                {
                    "event": "failed",
                    **tag,
                    "error": "the trainer could not be loaded on the executor "
                    f"({type(err).__name__}: {err}); are hpt and the model's library installed "
                    "in the executors' Python (spark.pyspark.python)?",
                    "traceback": traceback.format_exc(),
                }
            )
        else:
            execute(trainer, spec, emit, stream.should_stop)
    finally:
        stream.close()
    yield _dumps_list(events)


def _warm_up(items: Iterable[Any]) -> Iterator[str]:
    """Executor side, once per task slot at session start: start the Python worker and import
    what every trial needs (hpt, scikit-learn), so the first trials start on warm workers and an
    executor without hpt fails the session, not every trial."""
    list(items)
    for module in ("hpt.worker", "sklearn.base", "sklearn.metrics"):
        importlib.import_module(module)
    yield socket.gethostname()


def _dumps_list(events: list[dict[str, Any]]) -> str:
    return json.dumps(events, separators=(",", ":"), default=_json_default)


# -- driver side -----------------------------------------------------------------------------
@dataclass
class _Attempt:
    spec: TrialSpec
    group: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    conn: socket.socket | None = None
    connected: threading.Event = field(default_factory=threading.Event)
    stream_closed: threading.Event = field(default_factory=threading.Event)
    forwarded: int = 0  # highest event sequence number passed on
    done: bool = False  # a final event was passed on; later events are dropped
    stop_asked: float | None = None  # monotonic time of a cooperative stop request

    @property
    def key(self) -> tuple[str, int]:
        return (self.spec.trial_id, self.spec.attempt)


def _failure_reason(err: BaseException) -> str:
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


class SparkLauncher(Launcher):
    """Runs up to ``capacity`` trials at once as Spark tasks; see the module docstring.

    ``master`` is any Spark master URL (``local[*]``, ``spark://host:7077``, ``yarn``,
    ``k8s://...``) and ``conf`` any Spark settings (``spark.executor.memory``,
    ``spark.task.cpus``, ...). A SparkContext already running in this process is used as it is
    (and left running); otherwise one is created and stopped by :meth:`close`. ``capacity``
    defaults to the cluster's task slots (``defaultParallelism / spark.task.cpus``). Spark's own
    log (log4j and the JVM's output) goes to ``log_file`` (default: a file in the temp dir) at
    ``log_level``, not to the console.
    """

    def __init__(
        self,
        capacity: int | None = None,
        master: str = "local[*]",
        app_name: str = "hpt",
        conf: Mapping[str, Any] | None = None,
        ui: bool = True,
        log_level: str = "WARN",
        log_file: str | None = None,
        *,
        spark_context: SparkContext | None = None,
    ) -> None:
        _require_pyspark()
        if capacity is not None and int(capacity) < 1:
            raise ConfigError("resources.max_concurrent_runs", f"must be >= 1, got {capacity}")
        self.master = str(master)
        self.app_name = str(app_name)
        self.conf = {str(k): _conf_text(v) for k, v in _flatten(conf or {}).items()}
        self.ui = bool(ui)
        self.log_level = str(log_level).upper()
        if self.log_level not in _LOG_LEVELS:
            raise ConfigError(
                "compute.log_level", f"unknown {log_level!r}; use one of {', '.join(_LOG_LEVELS)}"
            )
        self.log_file = log_file or os.path.join(
            tempfile.gettempdir(), f"hpt-spark-{os.getpid()}.log"
        )
        self._capacity = int(capacity) if capacity else None
        self._sc: SparkContext | None = spark_context
        self._owns_context = False
        self.session_seconds: float | None = None  # time to start the SparkContext, if we did
        self._broadcast: Any = None
        self._server: socket.socket | None = None
        self._address: tuple[str, int] = ("127.0.0.1", 0)
        self._token = secrets.token_hex(16)
        self._uid = secrets.token_hex(4)
        self._lock = threading.Lock()
        self._attempts: dict[tuple[str, int], _Attempt] = {}
        self._current: dict[str, _Attempt] = {}  # trial id -> its attempt in flight
        self._events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._jobs: queue.SimpleQueue[_Attempt | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._free_threads = 0
        self._stream_ok = True  # False once a task could not stream its events
        self._closed = False

    # -- capacity and the SparkContext ------------------------------------------------------
    @property
    def capacity(self) -> int:
        if self._capacity is None:
            self._capacity = self._task_slots()
        return self._capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        self._capacity = int(value)

    def _task_cpus(self) -> int:
        if self._sc is not None:
            return int(self._sc.getConf().get("spark.task.cpus", "1") or 1)
        return int(self.conf.get("spark.task.cpus", "1"))

    def _task_slots(self) -> int:
        """The cluster's task slots; starts Spark only when the master does not tell."""
        cores = local_cores(self.master) if self._sc is None else None
        if cores is None:
            sc = self.context()
            if not is_local_master(str(sc.master)):
                self._wait_for_executors(sc)
            cores = int(sc.defaultParallelism)
        return max(1, cores // max(1, self._task_cpus()))

    @staticmethod
    def _wait_for_executors(sc: SparkContext) -> None:
        """Executors register after the context starts; count slots once they stop arriving."""
        tracker = sc.statusTracker()
        deadline = time.monotonic() + _EXECUTOR_WAIT_SECONDS
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
                "no Spark executor registered within %.0fs; check the cluster",
                _EXECUTOR_WAIT_SECONDS,
            )

    def _spark_conf(self) -> dict[str, str]:
        settings = {
            "spark.ui.showConsoleProgress": "false",
            "spark.ui.enabled": _conf_text(self.ui),
            # The trainer is unpickled once per Python worker only if workers are reused.
            "spark.python.worker.reuse": "true",
            # hpt retries lost attempts itself, resuming after the last completed fold.
            "spark.task.maxFailures": "1",
            "spark.speculation": "false",
        }
        if is_local_master(self.master):
            # Everything stays on loopback: nothing listens on the machine's network interfaces.
            settings["spark.driver.host"] = "127.0.0.1"
            settings["spark.driver.bindAddress"] = "127.0.0.1"
        settings.update(self.conf)
        return settings

    def _log4j_config(self) -> str:
        """A log4j2 config sending every Spark log line to ``log_file`` instead of the console."""
        path = f"{self.log_file}.log4j2.properties"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(
                "rootLogger.level = warn\n"
                "rootLogger.appenderRef.file.ref = file\n"
                "appender.file.type = File\n"
                "appender.file.name = file\n"
                f"appender.file.fileName = {self.log_file}\n"
                "appender.file.layout.type = PatternLayout\n"
                "appender.file.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex\n"
            )
        return path

    def context(self) -> SparkContext:
        """The SparkContext trials run on: the given one, the running one, or a new one."""
        if self._sc is not None:
            return self._sc
        from pyspark import SparkConf, SparkContext

        active = SparkContext._active_spark_context
        if active is not None:
            if active.master != self.master:
                log.warning(
                    "using the SparkContext already running in this process (master %s), "
                    "not compute.master=%s",
                    active.master,
                    self.master,
                )
            self._sc = active
            return active
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise ConfigError(
                "compute", f"compute=spark needs Java 17, which was not found: {INSTALL_HINT}"
            )
        settings = self._spark_conf()
        spark_conf = SparkConf().setMaster(self.master).setAppName(self.app_name)
        for key, value in settings.items():
            spark_conf.set(key, value)
        started = time.perf_counter()
        gateway = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pyspark's import-time notes (pandas version)
                if SparkContext._gateway is None:  # a new JVM: point its logging at the log file
                    gateway = self._launch_gateway(spark_conf, settings)
                sc = SparkContext(conf=spark_conf, gateway=gateway)
        except Exception as err:
            raise ConfigError(
                "compute",
                f"Spark did not start with master {self.master!r} ({_failure_reason(err)}); "
                f"check compute.master and compute.conf, and Spark's log {self.log_file}",
            ) from None
        sc.setLogLevel(self.log_level)
        executable = settings.get("spark.pyspark.python")
        if executable:
            sc.pythonExec = executable
        elif is_local_master(self.master) and "PYSPARK_PYTHON" not in os.environ:
            sc.pythonExec = sys.executable  # the executors run next to us: use our interpreter
        self._sc, self._owns_context = sc, True
        self._warm_up_executors(sc)
        self.session_seconds = time.perf_counter() - started
        log.info(
            "Spark session started in %.1fs, executors' Python warmed up (Spark %s, master %s)",
            self.session_seconds,
            sc.version,
            sc.master,
        )
        if self.ui and sc.uiWebUrl:
            log.info("Spark UI: %s", sc.uiWebUrl)
        log.info("Spark's own log: %s", self.log_file)
        return sc

    def _warm_up_executors(self, sc: SparkContext) -> None:
        slots = max(1, int(sc.defaultParallelism))
        try:
            sc.parallelize(range(slots), slots).mapPartitions(_warm_up).collect()
        except Exception as err:
            self.close()
            raise ConfigError(
                "compute",
                f"the Spark executors cannot run hpt ({_failure_reason(err)}); install hpt in "
                "the executors' Python and point spark.pyspark.python at it",
            ) from None

    def _launch_gateway(self, spark_conf: Any, settings: Mapping[str, str]) -> Any:
        from pyspark.java_gateway import launch_gateway

        options = settings.get("spark.driver.extraJavaOptions", "")
        log4j = f"-Dlog4j2.configurationFile=file:{self._log4j_config()}"
        spark_conf.set("spark.driver.extraJavaOptions", f"{options} {log4j}".strip())
        local_ip = os.environ.get("SPARK_LOCAL_IP")
        if is_local_master(self.master) and local_ip is None:
            os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # the JVM reads it at launch: bind loopback
        try:
            with open(self.log_file, "ab") as output:  # the JVM keeps its own copy of the handle
                return launch_gateway(  # type: ignore[no-untyped-call]
                    spark_conf, popen_kwargs={"stdout": output, "stderr": output}
                )
        finally:
            if is_local_master(self.master) and local_ip is None:
                os.environ.pop("SPARK_LOCAL_IP", None)

    @classmethod
    def preflight(cls, settings: dict[str, Any]) -> None:
        """Check the master URL (and that a ``spark://`` master answers) before anything runs."""
        master = settings.get("master", "local[*]")
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
        conf = settings.get("conf") or {}
        if not isinstance(conf, Mapping):
            raise ConfigError("compute.conf", f"must be a mapping of Spark settings, got {conf!r}")

    def describe(self) -> str:
        master = self._sc.master if self._sc is not None else self.master
        return f"spark (master {master}, up to {self.capacity} trial(s) at a time)"

    # -- Launcher interface -----------------------------------------------------------------
    def open(self, trainer: Trainer) -> None:
        sc = self.context()
        if logging.getLogger("py4j").level == logging.NOTSET:
            # py4j logs every connection it closes (one per job thread) at INFO: Spark's noise.
            logging.getLogger("py4j").setLevel(logging.WARNING)
        if not self._pinned_threads():
            log.warning(
                "PYSPARK_PIN_THREAD is off: job groups are not per thread, so stopping one trial "
                "may cancel another; unset PYSPARK_PIN_THREAD"
            )
        if (sc.getConf().get("spark.python.worker.reuse") or "true").lower() == "false":
            log.warning("spark.python.worker.reuse=false: the data is unpickled for every trial")
        started = time.perf_counter()
        self._broadcast = sc.broadcast(_ByValue(trainer))
        log.info(
            "trainer and data broadcast to the executors in %.1fs", time.perf_counter() - started
        )
        self._start_server(sc)

    @staticmethod
    def _pinned_threads() -> bool:
        from py4j.clientserver import ClientServer
        from pyspark import SparkContext

        return isinstance(SparkContext._gateway, ClientServer)

    def _start_server(self, sc: SparkContext) -> None:
        conf = sc.getConf()
        local = is_local_master(str(sc.master))
        host = "127.0.0.1" if local else conf.get("spark.driver.host")
        host = host or socket.gethostname()
        bind = conf.get("spark.driver.bindAddress") or host
        self._server = socket.create_server((bind, 0))
        self._address = (host, self._server.getsockname()[1])
        threading.Thread(target=self._accept, name="hpt-spark-events", daemon=True).start()

    def start(self, spec: TrialSpec) -> None:
        if self._broadcast is None:
            raise RuntimeError("SparkLauncher.start called before open()")
        attempt = _Attempt(spec, f"hpt-{self._uid}-{spec.trial_id}-{spec.attempt}")
        with self._lock:
            self._attempts[attempt.key] = attempt
            self._current[spec.trial_id] = attempt
            if self._free_threads == 0:
                self._spawn_job_thread()
            self._free_threads -= 1
        self._jobs.put(attempt)

    def poll(self, timeout: float) -> list[dict[str, Any]]:
        self._escalate_unheard_stops()
        events: list[dict[str, Any]] = []
        try:
            events.append(self._events.get(timeout=max(0.0, timeout)))
        except queue.Empty:
            return events
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def stop(self, trial_id: str, *, hard: bool = False) -> None:
        attempt = self._current.get(trial_id)
        if attempt is None or attempt.done:
            return
        if hard:
            self._cancel(attempt, "killed")
            return
        with attempt.lock:
            if attempt.stop_asked is None:
                attempt.stop_asked = time.monotonic()
        self._send_stop(attempt)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock:
            running = [a for a in self._current.values() if not a.done]
        for attempt in running:  # the sweep is over: no more events from these
            with attempt.lock:
                attempt.done = True
            self._cancel_job(attempt)
        for _ in self._threads:
            self._jobs.put(None)
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.close()
        for thread in self._threads:
            thread.join(timeout=10)
        if self._broadcast is not None:
            with contextlib.suppress(Exception):
                self._broadcast.destroy()
            self._broadcast = None
        if self._owns_context and self._sc is not None:
            self._sc.stop()
            self._sc = None

    # -- job threads ------------------------------------------------------------------------
    def _spawn_job_thread(self) -> None:
        from pyspark import InheritableThread

        # InheritableThread: in pinned-thread mode each Python thread has its own JVM thread, so
        # each job's group (set in that thread) is its own and can be cancelled alone.
        thread = InheritableThread(
            target=self._job_loop, name=f"hpt-spark-job-{len(self._threads)}"
        )
        thread.daemon = True
        self._threads.append(thread)
        self._free_threads += 1
        thread.start()

    def _job_loop(self) -> None:
        while True:
            attempt = self._jobs.get()
            if attempt is None:
                return
            try:
                self._run_job(attempt)
            except Exception as err:  # never let a driver-side bug hang the sweep
                log.exception("trial %s: Spark job thread failed", attempt.spec.trial_id)
                self._lose(attempt, f"driver-side error: {type(err).__name__}: {err}")
            finally:
                with self._lock:
                    self._free_threads += 1

    def _run_job(self, attempt: _Attempt) -> None:
        if attempt.done or self._closed:  # stopped before it was submitted
            return
        sc = self.context()
        spec = attempt.spec
        sc.setJobGroup(
            attempt.group,
            f"hpt trial {spec.trial_id} attempt {spec.attempt}",
            interruptOnCancel=True,
        )
        task = functools.partial(
            _run_attempt, self._uid, self._broadcast, self._address, self._token
        )
        try:
            rows = sc.parallelize([json.dumps(spec.to_json())], 1).mapPartitions(task).collect()
        except Exception as err:
            if attempt.connected.is_set():  # let the events the task sent before dying arrive
                attempt.stream_closed.wait(_DRAIN_SECONDS)
            reason = _failure_reason(err)
            if not attempt.done and not self._closed:
                log.debug("trial %s attempt %d: Spark job failed: %s", *attempt.key, err)
            self._lose(attempt, reason)
            return
        events = [event for row in rows for event in json.loads(row)]
        ran = any(event.get("event") == "started" for event in events)
        if ran and self._stream_ok and not attempt.connected.wait(0.5):
            self._stream_ok = False
            log.warning(
                "Spark tasks cannot connect to hpt's event server at %s:%d (firewall? set "
                "spark.driver.host to an address the executors reach): trials report only when "
                "they end, so early-termination policies cannot act on them",
                *self._address,
            )
        for event in events:
            self._forward(attempt, event)
        self._lose(attempt, "the Spark task ended without a final event")  # no-op if it had one

    # -- events -----------------------------------------------------------------------------
    def _forward(self, attempt: _Attempt, event: dict[str, Any]) -> None:
        """Pass ``event`` on unless it was already (from the stream or the job's result)."""
        seq = int(event.pop("seq", 0))
        with attempt.lock:
            if attempt.done or seq <= attempt.forwarded:
                return
            attempt.forwarded = seq
            if event.get("event") in _FINAL_EVENTS:
                attempt.done = True
            self._events.put(event)
        if attempt.done:
            self._retire(attempt)

    def _lose(self, attempt: _Attempt, reason: str) -> None:
        with attempt.lock:
            if attempt.done:
                return
            attempt.done = True
            self._events.put(
                {
                    "event": "lost",
                    "trial_id": attempt.spec.trial_id,
                    "attempt": attempt.spec.attempt,
                    "reason": reason,
                }
            )
        self._retire(attempt)

    def _retire(self, attempt: _Attempt) -> None:
        with self._lock:
            self._attempts.pop(attempt.key, None)
            if self._current.get(attempt.spec.trial_id) is attempt:
                del self._current[attempt.spec.trial_id]
        conn = attempt.conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _cancel(self, attempt: _Attempt, reason: str) -> None:
        self._lose(attempt, reason)
        self._cancel_job(attempt)

    def _cancel_job(self, attempt: _Attempt) -> None:
        if self._sc is not None:
            with contextlib.suppress(Exception):
                self._sc.cancelJobGroup(attempt.group)

    def _send_stop(self, attempt: _Attempt) -> None:
        conn = attempt.conn
        if conn is None:
            return  # sent when the task connects (see _serve)
        with contextlib.suppress(OSError):
            conn.sendall(b"stop\n")

    def _escalate_unheard_stops(self) -> None:
        now = time.monotonic()
        with self._lock:
            waiting = [
                a
                for a in self._current.values()
                if a.stop_asked is not None and not a.connected.is_set() and not a.done
            ]
        for attempt in waiting:
            assert attempt.stop_asked is not None
            if now - attempt.stop_asked >= _STOP_GRACE_SECONDS:
                self._cancel(attempt, "stop requested; the task's event stream never connected")

    # -- the event server -------------------------------------------------------------------
    def _accept(self) -> None:
        server = self._server
        assert server is not None
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(30)
                lines = conn.makefile("rb")
                hello = json.loads(lines.readline() or b"{}")
                conn.settimeout(None)
            except (OSError, ValueError):
                return
            if not hmac.compare_digest(str(hello.get("token", "")), self._token):
                return  # not one of our tasks
            key = (str(hello.get("trial_id")), int(hello.get("attempt", -1)))
            with self._lock:
                attempt = self._attempts.get(key)
            if attempt is None or attempt.done:
                # An attempt already written off (hard stop raced its submission): end it.
                with contextlib.suppress(OSError):
                    conn.sendall(b"stop\n")
                return
            with attempt.lock:
                attempt.conn = conn
                stop = attempt.stop_asked is not None
            attempt.connected.set()
            if stop:
                self._send_stop(attempt)
            try:
                for line in lines:
                    if line.strip():
                        self._forward(attempt, json.loads(line))
            except (OSError, ValueError):
                pass
            finally:
                with attempt.lock:
                    attempt.conn = None
                attempt.stream_closed.set()
