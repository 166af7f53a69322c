"""``compute=local``: a pool of long-lived worker processes on this machine.

Each worker is a fresh interpreter (``python -m launchers._local_worker``) that receives the
pickled trainer -- estimator, data and folds -- once, then runs trials one at a time as the driver
sends them. The data's big arrays are not in that pickle: they travel as ``.npy`` files (the
feature cache's own, or written once per sweep) that every worker memory-maps read-only, so the
machine holds one copy of the data however many workers run (``hpt.data._shared``). Events and
control messages are JSON lines (``hpt.events.encode``/``decode``). A free worker takes the next trial at once; there are no batches. Stopping is
cooperative (a stop message the trainer sees between folds or boosting rounds); a hard stop, or a
worker that dies, is handled by killing and respawning the process and reporting the attempt as
``lost``. Estimators and trainers must be importable classes (not defined in ``__main__``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from hpt.data._shared import dumps_shared, shared_directory
from hpt.errors import ConfigError
from hpt.events import WORKER_FINAL, decode, lost
from hpt.launcher import Launcher
from hpt.trainers import Trainer
from hpt.trial import TrialSpec

log = logging.getLogger(__name__)


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    conn: Connection
    loading: threading.Thread  # sends the payload; the worker takes no trial before it is done
    spec: TrialSpec | None = None


class LocalLauncher(Launcher):
    """Runs up to ``capacity`` trials at once in worker processes on this machine.

    ``capacity`` defaults to the number of CPUs. Workers are fresh interpreters, never forks:
    forking a process that already runs OpenMP threads (XGBoost) is unsafe.
    """

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = int(capacity) if capacity else (os.cpu_count() or 1)
        self._workers: list[_Worker] = []
        self._payload: bytes | None = None
        self._pending: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._modules: list[str] = []
        self._warm: list[tuple[subprocess.Popen[bytes], Connection]] = []
        self._shared_dir: str | None = None  # the sweep's mapped arrays; removed by close()

    def describe(self) -> str:
        return f"local ({self.capacity} worker processes)"

    @classmethod
    def preflight(cls, settings: dict[str, Any]) -> None:
        unknown = sorted(set(settings) - {"capacity"})
        if unknown:
            raise ConfigError(
                f"compute.{unknown[0]}", "is not a setting of compute=local; remove it"
            )

    def _start_process(self) -> tuple[subprocess.Popen[bytes], Connection]:
        parent, child = socket.socketpair()
        process = subprocess.Popen(
            [sys.executable, "-m", "launchers._local_worker", str(child.fileno()), *self._modules],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            env={**os.environ, "HPT_DRIVER_PID": str(os.getpid())},
        )
        child.close()
        return process, Connection(parent.detach())

    def _spawn(self, index: int) -> _Worker:
        process, conn = self._warm.pop() if self._warm else self._start_process()
        # The data reaches this worker once. Sent from a thread: the worker reads it only after
        # its imports (a second or two), and the sweep loop must not wait for that.
        loading = threading.Thread(
            target=self._send_payload, args=(conn,), name=f"hpt-load-{index}", daemon=True
        )
        loading.start()
        return _Worker(index, process, conn, loading)

    def warm_up(self, modules: list[str]) -> None:
        """Start the worker processes now; they import ``modules`` while the data loads."""
        self._modules = list(modules)
        self._warm = [self._start_process() for _ in range(self.capacity)]

    def _send_payload(self, conn: Connection) -> None:
        assert self._payload is not None
        try:
            conn.send_bytes(self._payload)
        except OSError:
            pass  # the worker died while loading; poll() reports it

    def open(self, trainer: Trainer) -> None:
        self._shared_dir = shared_directory()
        self._payload = dumps_shared(trainer, self._shared_dir)
        self._workers = [self._spawn(i) for i in range(self.capacity)]

    def start(self, spec: TrialSpec) -> None:
        worker = next((w for w in self._workers if w.spec is None), None)
        if worker is None:
            raise RuntimeError("LocalLauncher.start called with every worker busy")
        worker.loading.join()
        worker.spec = spec
        try:
            _send(worker.conn, {"run": spec.to_json()})
        except OSError:
            pass  # the worker died; poll() reports the attempt lost

    def _worker_of(self, trial_id: str) -> _Worker | None:
        return next((w for w in self._workers if w.spec and w.spec.trial_id == trial_id), None)

    def _replace(self, worker: _Worker, reason: str) -> None:
        """Kill ``worker``, report its attempt lost, and put a fresh process in its place."""
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.wait(timeout=30)
        worker.conn.close()
        if worker.spec is not None:
            self._pending.put(lost(worker.spec.trial_id, worker.spec.attempt, reason))
        self._workers[worker.index] = self._spawn(worker.index)

    def stop(self, trial_id: str, *, hard: bool = False) -> None:
        worker = self._worker_of(trial_id)
        if worker is None or worker.spec is None:
            return
        if hard:
            self._replace(worker, "killed")
        else:
            try:
                _send(worker.conn, {"stop": worker.spec.number})
            except OSError:
                pass  # the worker is dying; poll() reports it

    def poll(self, timeout: float) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        while not self._pending.empty():
            events.append(self._pending.get())
        busy = {w.conn: w for w in self._workers if w.spec is not None}
        if not busy:
            return events
        ready = wait(list(busy), timeout=0 if events else timeout)
        for conn in ready:
            worker = busy[conn]  # type: ignore[index]
            try:
                while worker.conn.poll():
                    event = decode(worker.conn.recv_bytes())
                    events.append(event)
                    if event["event"] in WORKER_FINAL:
                        worker.spec = None
                        break
            except (EOFError, OSError):
                code = worker.process.poll()
                log.warning("worker %d died (exit code %s)", worker.index, code)
                self._replace(worker, f"worker process died (exit code {code})")
        while not self._pending.empty():
            events.append(self._pending.get())
        return events

    def close(self) -> None:
        for process, conn in self._warm:  # warmed up but never used (the sweep failed early)
            process.kill()
            process.wait(timeout=30)
            conn.close()
        self._warm = []
        for worker in self._workers:
            if worker.loading.is_alive():
                # Still receiving the data: a message now would interleave with the payload's
                # bytes (the worker would unpickle garbage). Nothing runs there; end it.
                worker.process.kill()
                continue
            with contextlib.suppress(OSError):
                _send(worker.conn, None)
        for worker in self._workers:
            worker.loading.join(timeout=30)  # the process is gone or done: the send has ended
            try:
                worker.process.wait(timeout=0 if worker.spec is not None else 2)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait(timeout=30)
            worker.conn.close()
        self._workers = []
        if self._shared_dir is not None:
            shutil.rmtree(self._shared_dir, ignore_errors=True)
            self._shared_dir = None


def _send(conn: Connection, message: dict[str, Any] | None) -> None:
    """A control message as one JSON document (``None`` asks the worker to exit)."""
    conn.send_bytes(json.dumps(message).encode())
