"""``compute=local``: a pool of long-lived worker processes on this machine.

Each worker is a fresh interpreter (spawn) that receives the pickled trainer -- estimator, data and
folds -- once, then runs trials one at a time as the driver sends them. A free worker takes the next
trial at once; there are no batches. Stopping is cooperative (a shared flag polled between folds or
boosting rounds); a hard stop, or a worker that dies, is handled by killing and respawning the
process and reporting the attempt as ``lost``.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import queue
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from hpt.errors import ConfigError
from hpt.trainers import Trainer
from hpt.trial import TrialSpec
from launchers.base import Launcher

log = logging.getLogger(__name__)

_NO_STOP = -1


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the driver dies (even by SIGKILL): no orphans."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
    if os.getppid() == 1:  # the driver already died before the request took effect
        os._exit(1)


def _worker_main(conn: Connection, stop_flag: Synchronized) -> None:  # type: ignore[type-arg]
    """Worker process loop: receive the trainer once, then run trials until told to exit."""
    from hpt.worker import execute

    _die_with_parent()
    # Ctrl-C reaches the whole process group; the driver decides what happens to running trials.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    trainer: Trainer = pickle.loads(conn.recv_bytes())
    trainer.setup()
    while True:
        try:
            message = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if message is None:
            return
        spec = TrialSpec.from_json(message)

        def should_stop(number: int = spec.number) -> bool:
            return bool(stop_flag.value == number)

        execute(trainer, spec, conn.send, should_stop)


@dataclass
class _Worker:
    index: int
    process: mp.process.BaseProcess
    conn: Connection
    stop_flag: Synchronized  # type: ignore[type-arg]
    spec: TrialSpec | None = None


class LocalLauncher(Launcher):
    """Runs up to ``capacity`` trials at once in worker processes on this machine.

    ``capacity`` defaults to the number of CPUs. ``start_method`` is ``spawn`` by default: forking a
    process that already runs OpenMP threads (XGBoost) is unsafe.
    """

    def __init__(self, capacity: int | None = None, start_method: str = "spawn") -> None:
        self.capacity = int(capacity) if capacity else (os.cpu_count() or 1)
        self._context = mp.get_context(start_method)
        self._workers: list[_Worker] = []
        self._payload: bytes | None = None
        self._pending: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()

    def describe(self) -> str:
        return f"local ({self.capacity} worker processes)"

    @classmethod
    def preflight(cls, settings: dict[str, Any]) -> None:
        method = settings.get("start_method", "spawn")
        if method not in mp.get_all_start_methods():
            raise ConfigError(
                "compute.start_method",
                f"{method!r} is not available here; use one of {', '.join(mp.get_all_start_methods())}",
            )
        unknown = sorted(set(settings) - {"start_method", "capacity"})
        if unknown:
            raise ConfigError(
                f"compute.{unknown[0]}", "is not a setting of compute=local; remove it"
            )

    def _spawn(self, index: int) -> _Worker:
        assert self._payload is not None
        parent, child = self._context.Pipe(duplex=True)
        stop_flag = self._context.Value("q", _NO_STOP, lock=False)
        process = self._context.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child, stop_flag), name=f"hpt-worker-{index}", daemon=True
        )
        process.start()
        child.close()
        parent.send_bytes(self._payload)  # the data reaches this worker once
        return _Worker(index, process, parent, stop_flag)

    def open(self, trainer: Trainer) -> None:
        self._payload = pickle.dumps(trainer, protocol=pickle.HIGHEST_PROTOCOL)
        self._workers = [self._spawn(i) for i in range(self.capacity)]

    def start(self, spec: TrialSpec) -> None:
        worker = next((w for w in self._workers if w.spec is None), None)
        if worker is None:
            raise RuntimeError("LocalLauncher.start called with every worker busy")
        worker.stop_flag.value = _NO_STOP
        worker.spec = spec
        worker.conn.send(spec.to_json())

    def _worker_of(self, trial_id: str) -> _Worker | None:
        return next((w for w in self._workers if w.spec and w.spec.trial_id == trial_id), None)

    def _replace(self, worker: _Worker, reason: str) -> None:
        """Kill ``worker``, report its attempt lost, and put a fresh process in its place."""
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=10)
        worker.conn.close()
        if worker.spec is not None:
            self._pending.put(
                {
                    "event": "lost",
                    "trial_id": worker.spec.trial_id,
                    "attempt": worker.spec.attempt,
                    "reason": reason,
                }
            )
        self._workers[worker.index] = self._spawn(worker.index)

    def stop(self, trial_id: str, *, hard: bool = False) -> None:
        worker = self._worker_of(trial_id)
        if worker is None or worker.spec is None:
            return
        if hard:
            self._replace(worker, "killed")
        else:
            worker.stop_flag.value = worker.spec.number

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
                    event = worker.conn.recv()
                    events.append(event)
                    if event["event"] in ("finished", "failed", "stopped"):
                        worker.spec = None
                        worker.stop_flag.value = _NO_STOP
                        break
            except (EOFError, OSError):
                code = worker.process.exitcode
                log.warning("worker %d died (exit code %s)", worker.index, code)
                self._replace(worker, f"worker process died (exit code {code})")
        while not self._pending.empty():
            events.append(self._pending.get())
        return events

    def close(self) -> None:
        for worker in self._workers:
            try:
                if worker.spec is None:
                    worker.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for worker in self._workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()
        self._workers = []
