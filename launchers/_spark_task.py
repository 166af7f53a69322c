"""The executor side of ``compute=spark``: what runs inside a Spark task.

Everything here is pickled into a Spark job by the driver (:mod:`launchers.spark`) and runs in an
executor's Python worker, which Spark reuses from task to task (``spark.python.worker.reuse``):

* :class:`ByValue` wraps the broadcast trainer so cloudpickle carries classes defined in the
  user's ``__main__``;
* :func:`run_attempt` is the task of one trial attempt: it loads the trainer (once per Python
  worker), streams the attempt's events to the driver (:class:`launchers._event_stream.EventClient`)
  and returns them all, one encoded event per row, as the job's result;
* :func:`warm_up` is the task the driver runs once per slot when it starts a session.
"""

from __future__ import annotations

import importlib
import json
import pickle
import socket
import threading
import traceback
from collections.abc import Iterable, Iterator
from typing import Any

from hpt.events import WorkerEvent, encode, error_type, lost
from hpt.trainers import Trainer
from hpt.trial import TrialSpec
from launchers._event_stream import EventClient

# One trainer per executor Python worker: pyspark caches the broadcast value per worker process,
# and this cache makes sure ``setup()`` runs once per worker, not once per task.
_TRAINERS: dict[str, Trainer] = {}
_TRAINERS_LOCK = threading.Lock()
# What every trial imports; the warm-up imports it first so an executor without hpt fails early.
WARM_MODULES = ("hpt.worker", "sklearn.base", "sklearn.metrics")


class ByValue:
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


def run_attempt(
    key: str, broadcast: Any, address: tuple[str, int], token: str, items: Iterable[str]
) -> Iterator[str]:
    """The Spark task of one attempt (its only input row is the :class:`TrialSpec` as JSON).

    Streams the attempt's events to the driver's event server at ``address`` while it runs and
    yields every event (encoded, with its ``seq``) as the job's result, so the driver gets them
    even if the stream never connected or broke. The trial's own exception is a ``failed`` event,
    never a failed task.
    """
    from pyspark import TaskContext

    from hpt.worker import execute

    # Read the whole input: a Python worker that leaves input unread is not reused.
    (payload,) = list(items)
    spec = TrialSpec.from_json(json.loads(payload))
    context = TaskContext.get()
    spark_attempt = context.attemptNumber() if context is not None else 0
    if spark_attempt > 0:
        # Spark ran this task again after a failure. Running the trial here would mix two
        # executions under one hpt attempt number; hpt retries it as a new attempt instead.
        replay = EventClient(spec.trial_id, spec.attempt)
        reason = f"Spark re-ran the task (task attempt {spark_attempt}) after a failure"
        replay.send(lost(spec.trial_id, spec.attempt, reason))
        yield from (encode(event) for event in replay.events)
        return
    client = EventClient.connect(address, token, spec.trial_id, spec.attempt)
    try:
        try:
            trainer = _trainer_of(key, broadcast)
        except Exception as err:
            client.send(
                {
                    "event": WorkerEvent.FAILED.value,
                    "trial_id": spec.trial_id,
                    "attempt": spec.attempt,
                    "error": "the trainer could not be loaded on the executor "
                    f"({type(err).__name__}: {err}); are hpt and the model's library installed "
                    "in the executors' Python (spark.pyspark.python)?",
                    "error_type": error_type(err),
                    "traceback": traceback.format_exc(),
                }
            )
        else:
            execute(trainer, spec, client.send, client.should_stop)
    finally:
        client.close()
    yield from (encode(event) for event in client.events)


def warm_up(items: Iterable[Any]) -> Iterator[str]:
    """Executor side, once per task slot at session start: start the Python worker and import
    what every trial needs (hpt, scikit-learn), so the first trials start on warm workers and an
    executor without hpt fails the session, not every trial."""
    list(items)
    for module in WARM_MODULES:
        importlib.import_module(module)
    yield socket.gethostname()
