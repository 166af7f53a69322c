"""``compute=spark``: every trial attempt is one Spark job of one task; the driver is hpt itself.

How it works:

* A SparkContext the launcher starts itself (:mod:`launchers._spark_context`) is quiet (Spark's log and the JVM's output go to a
  file), stays on loopback for ``local`` masters, and is warmed up: one task per slot starts the
  executors' Python workers and imports hpt there, so an executor without hpt fails the session
  with one clear error instead of failing every trial. A context already running is used as is.
* ``open(trainer)`` broadcasts the trainer (estimator, data, folds) once per sweep. Each executor
  Python worker unpickles it once and keeps it for the next tasks (``spark.python.worker.reuse``
  stays on), so the data is not shipped per trial.
* ``start(spec)`` hands the attempt to a driver thread, which submits a one-task job in its own job
  group (pinned-thread mode, so the group belongs to that job only). Up to ``capacity`` attempts are
  in flight; a free slot takes the next trial at once, there are no batches.
* The task (:mod:`launchers._spark_task`) connects back to the driver's event server
  (:mod:`launchers._event_stream`: hello + token, JSON lines) and streams the attempt's events
  while it runs, so early-termination policies see every fold. The same connection carries the
  driver's stop request, which the trial's ``should_stop()`` sees between folds or boosting
  rounds. The task also returns all its events as the job's result; the driver forwards each
  event once (by its per-attempt sequence number), so nothing is lost if the stream broke.
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
import json
import logging
import os
import queue
import secrets
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hpt.errors import ConfigError
from hpt.events import ATTEMPT_FINAL, decode
from hpt.launcher import Launcher
from hpt.trainers import Trainer
from hpt.trial import TrialSpec
from launchers._event_stream import Channel, EventServer
from launchers._spark_context import (
    INSTALL_HINT,
    LOG_LEVELS,
    check_master,
    conf_text,
    failure_reason,
    flatten,
    is_local_master,
    local_cores,
    require_pyspark,
    start_context,
    wait_for_executors,
)
from launchers._spark_task import ByValue, run_attempt

if TYPE_CHECKING:
    from pyspark import SparkContext

__all__ = ["INSTALL_HINT", "SparkLauncher", "is_local_master", "local_cores"]

log = logging.getLogger(__name__)

# After a job fails, how long to let the task's event stream drain before declaring it lost.
_DRAIN_SECONDS = 2.0
# A soft stop for a task whose event stream never connected becomes a job cancel after this long.
_STOP_GRACE_SECONDS = 10.0


@dataclass
class _Job:
    """One attempt's Spark job: its job group (to cancel it) and its event channel."""

    spec: TrialSpec
    group: str
    channel: Channel


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
        require_pyspark()
        if capacity is not None and int(capacity) < 1:
            raise ConfigError("resources.max_concurrent_runs", f"must be >= 1, got {capacity}")
        self.master = str(master)
        self.app_name = str(app_name)
        self.conf = {str(k): conf_text(v) for k, v in flatten(conf or {}).items()}
        self.ui = bool(ui)
        self.log_level = str(log_level).upper()
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                "compute.log_level", f"unknown {log_level!r}; use one of {', '.join(LOG_LEVELS)}"
            )
        self.log_file = log_file or os.path.join(
            tempfile.gettempdir(), f"hpt-spark-{os.getpid()}.log"
        )
        self._capacity = int(capacity) if capacity else None
        self._sc: SparkContext | None = spark_context
        self._owns_context = False
        # pyspark's SparkContext installs its own SIGINT handler (cancel all jobs, then raise
        # KeyboardInterrupt) and leaves it installed after stop(); the one it replaced is put
        # back when the context we started is stopped.
        self._sigint_before: Any = None
        self.session_seconds: float | None = None  # time to start the SparkContext, if we did
        self._broadcast: Any = None
        self._server: EventServer | None = None
        self._address: tuple[str, int] = ("127.0.0.1", 0)  # where tasks send their events
        self._uid = secrets.token_hex(4)
        self._lock = threading.Lock()
        self._current: dict[str, _Job] = {}  # trial id -> its attempt in flight
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
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
                wait_for_executors(sc)
            cores = int(sc.defaultParallelism)
        return max(1, cores // max(1, self._task_cpus()))

    def _spark_conf(self) -> dict[str, str]:
        settings = {
            "spark.ui.showConsoleProgress": "false",
            "spark.ui.enabled": conf_text(self.ui),
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

    def context(self) -> SparkContext:
        """The SparkContext trials run on: the given one, the running one, or a new one."""
        if self._sc is not None:
            return self._sc
        from pyspark import SparkContext

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
        started = time.perf_counter()
        if threading.current_thread() is threading.main_thread():
            self._sigint_before = signal.getsignal(signal.SIGINT)
        try:
            sc = start_context(
                self.master, self.app_name, self._spark_conf(), self.log_file, self.log_level
            )
        except BaseException:
            self._restore_sigint()
            raise
        self.session_seconds = time.perf_counter() - started
        self._sc, self._owns_context = sc, True
        return sc

    @classmethod
    def preflight(cls, settings: dict[str, Any]) -> None:
        """Check the master URL (and that a ``spark://`` master answers) before anything runs."""
        check_master(settings.get("master", "local[*]"))
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
        self._broadcast = sc.broadcast(ByValue(trainer))
        log.info(
            "trainer and data broadcast to the executors in %.1fs", time.perf_counter() - started
        )
        conf = sc.getConf()
        local = is_local_master(str(sc.master))
        host = ("127.0.0.1" if local else conf.get("spark.driver.host")) or socket.gethostname()
        self._server = EventServer(host, bind=conf.get("spark.driver.bindAddress") or host)
        self._address = self._server.address

    @staticmethod
    def _pinned_threads() -> bool:
        from py4j.clientserver import ClientServer
        from pyspark import SparkContext

        return isinstance(SparkContext._gateway, ClientServer)

    def start(self, spec: TrialSpec) -> None:
        if self._broadcast is None or self._server is None:
            raise RuntimeError("SparkLauncher.start called before open()")
        channel = self._server.open_channel(spec.trial_id, spec.attempt)
        job = _Job(spec, f"hpt-{self._uid}-{spec.trial_id}-{spec.attempt}", channel)
        with self._lock:
            self._current[spec.trial_id] = job
            if self._free_threads == 0:
                self._spawn_job_thread()
            self._free_threads -= 1
        self._jobs.put(job)

    def poll(self, timeout: float) -> list[dict[str, Any]]:
        self._escalate_unheard_stops()
        if self._server is None:
            return []
        events = self._server.poll(timeout)
        with self._lock:  # an attempt that ended is no longer in flight
            for event in events:
                job = self._current.get(event["trial_id"])
                final = event["event"] in ATTEMPT_FINAL
                if final and job and job.spec.attempt == event["attempt"]:
                    del self._current[job.spec.trial_id]
        return events

    def stop(self, trial_id: str, *, hard: bool = False) -> None:
        with self._lock:
            job = self._current.get(trial_id)
        if job is None or job.channel.done:
            return
        if hard:
            self._cancel(job, "killed")
        else:
            job.channel.stop()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock:
            running = [job for job in self._current.values() if not job.channel.done]
        if self._server is not None:  # the sweep is over: no more events from anyone
            self._server.close()
        for job in running:
            self._cancel_job(job)
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        if self._broadcast is not None:
            with contextlib.suppress(Exception):
                self._broadcast.destroy()
            self._broadcast = None
        if self._owns_context and self._sc is not None:
            self._sc.stop()
            self._sc = None
            self._restore_sigint()

    def _restore_sigint(self) -> None:
        before, self._sigint_before = self._sigint_before, None
        if before is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, before)

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
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._run_job(job)
            except Exception as err:  # never let a driver-side bug hang the sweep
                log.exception("trial %s: Spark job thread failed", job.spec.trial_id)
                job.channel.lose(f"driver-side error: {type(err).__name__}: {err}")
            finally:
                with self._lock:
                    self._free_threads += 1

    def _run_job(self, job: _Job) -> None:
        channel = job.channel
        if channel.done or self._closed:  # stopped before it was submitted
            return
        sc = self.context()
        spec = job.spec
        sc.setJobGroup(
            job.group, f"hpt trial {spec.trial_id} attempt {spec.attempt}", interruptOnCancel=True
        )
        assert self._server is not None
        task = functools.partial(
            run_attempt, self._uid, self._broadcast, self._address, self._server.token
        )
        try:
            rows = sc.parallelize([json.dumps(spec.to_json())], 1).mapPartitions(task).collect()
        except Exception as err:
            if channel.connected.is_set():  # let the events the task sent before dying arrive
                channel.wait_stream_closed(_DRAIN_SECONDS)
            if not channel.done and not self._closed:
                log.debug("trial %s attempt %d: Spark job failed: %s", *channel.key, err)
            channel.lose(failure_reason(err))
            return
        events = [decode(row) for row in rows]
        ran = any(event.get("event") == "started" for event in events)
        if ran and self._stream_ok and not channel.connected.wait(0.5):
            self._stream_ok = False
            log.warning(
                "Spark tasks cannot connect to hpt's event server at %s:%d (firewall? set "
                "spark.driver.host to an address the executors reach): trials report only when "
                "they end, so early-termination policies cannot act on them",
                *self._address,
            )
        for event in events:  # the ones the stream did not bring (if any)
            channel.deliver(event)
        channel.lose("the Spark task ended without a final event")  # no-op if it had one

    def _cancel(self, job: _Job, reason: str) -> None:
        job.channel.lose(reason)
        self._cancel_job(job)

    def _cancel_job(self, job: _Job) -> None:
        if self._sc is not None:
            with contextlib.suppress(Exception):
                self._sc.cancelJobGroup(job.group)

    def _escalate_unheard_stops(self) -> None:
        """A stop the task cannot hear (its stream never connected) becomes a job cancel."""
        now = time.monotonic()
        with self._lock:
            waiting = [
                job
                for job in self._current.values()
                if job.channel.stop_asked_at is not None
                and not job.channel.connected.is_set()
                and not job.channel.done
            ]
        for job in waiting:
            asked = job.channel.stop_asked_at
            if asked is not None and now - asked >= _STOP_GRACE_SECONDS:
                self._cancel(job, "stop requested; the task's event stream never connected")
