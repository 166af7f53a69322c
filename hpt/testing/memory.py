"""An in-memory launcher: trials run on threads of this process. For fast tests of the sweep loop
(and of samplers, policies and callbacks through it) without processes, Spark or machines."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from hpt.events import WORKER_FINAL, lost
from hpt.launcher import Launcher
from hpt.trainers import Trainer
from hpt.trial import TrialSpec
from hpt.worker import execute


@dataclass
class _Attempt:
    spec: TrialSpec
    stop: threading.Event = field(default_factory=threading.Event)
    written_off: bool = False  # hard-stopped: its thread may run on, its events are dropped


class InMemoryLauncher(Launcher):
    """Runs up to ``capacity`` attempts at once, each on a daemon thread calling
    :func:`hpt.worker.execute` with the trainer given to :meth:`open` (no pickling, so any
    trainer works, even one defined in a test). A hard stop reports the attempt ``lost`` at once
    and drops whatever its thread sends afterwards, as a killed worker process would."""

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = int(capacity) if capacity else 2
        self._trainer: Trainer | None = None
        self._events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._running: dict[str, _Attempt] = {}
        self._lock = threading.Lock()
        self.started: list[TrialSpec] = []  # every spec started, in order (for assertions)

    def describe(self) -> str:
        return f"in-memory ({self.capacity} threads)"

    def open(self, trainer: Trainer) -> None:
        trainer.setup()
        self._trainer = trainer

    def start(self, spec: TrialSpec) -> None:
        assert self._trainer is not None, "open() first"
        with self._lock:
            if len(self._running) >= self.capacity:
                raise RuntimeError("InMemoryLauncher.start called at capacity")
            attempt = self._running[spec.trial_id] = _Attempt(spec)
        self.started.append(spec)
        trainer = self._trainer

        def emit(event: dict[str, Any]) -> None:
            with self._lock:
                if attempt.written_off:
                    return
                if event["event"] in WORKER_FINAL:
                    self._running.pop(spec.trial_id, None)
                self._events.put(event)

        threading.Thread(
            target=execute,
            args=(trainer, spec, emit, attempt.stop.is_set),
            name=f"hpt-trial-{spec.trial_id}",
            daemon=True,
        ).start()

    def poll(self, timeout: float) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        try:
            events.append(self._events.get(timeout=timeout))
        except queue.Empty:
            return events
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def stop(self, trial_id: str, *, hard: bool = False) -> None:
        with self._lock:
            attempt = self._running.get(trial_id)
            if attempt is None:
                return
            attempt.stop.set()
            if hard:
                attempt.written_off = True
                del self._running[trial_id]
                self._events.put(lost(trial_id, attempt.spec.attempt, "hard stop"))

    def close(self) -> None:
        with self._lock:
            for attempt in self._running.values():
                attempt.stop.set()
                attempt.written_off = True
            self._running.clear()
