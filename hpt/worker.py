"""The worker side of every launcher: run one trial attempt and turn its outcome into events.

Local processes, Spark tasks and remote containers all call :func:`execute`, so a trial behaves the
same wherever it runs. Events are small JSON-serialisable dicts; nothing else crosses back.
"""

from __future__ import annotations

import os
import socket
import traceback
import warnings
from typing import Any

from hpt.events import WorkerEvent, error_type
from hpt.trainers import Emit, ShouldStop, Trainer, TrialStopped
from hpt.trial import TrialSpec


def execute(trainer: Trainer, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> None:
    """Run ``spec`` with ``trainer``; always ends with exactly one finished/failed/stopped event."""
    tag: dict[str, Any] = {"trial_id": spec.trial_id, "attempt": spec.attempt}

    def send(event: dict[str, Any]) -> None:
        emit({**event, **tag})

    send({"event": WorkerEvent.STARTED.value, "pid": os.getpid(), "host": socket.gethostname()})
    caught: list[warnings.WarningMessage] = []
    try:
        # Library warnings (convergence, deprecations) belong to the trial's record, not to the
        # driver's console, where N workers would repeat them N times.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            outcome = trainer.run(spec, send, should_stop)
    except TrialStopped:
        send({"event": WorkerEvent.STOPPED.value})
    except Exception as err:  # the trial's own failure: keep the traceback, the sweep goes on
        send(
            {
                "event": WorkerEvent.FAILED.value,
                "error": f"{type(err).__name__}: {err}".strip(),
                "error_type": error_type(err),
                "traceback": traceback.format_exc(),
            }
        )
    else:
        send(
            {
                "event": WorkerEvent.FINISHED.value,
                "value": outcome.value,
                "failed_folds": list(outcome.failed_folds),
                "errors": list(outcome.errors),
                "error_types": list(outcome.error_types),
                "warnings": _unique_warnings(caught),
                **({"extra": outcome.extra} if outcome.extra else {}),
            }
        )


def _unique_warnings(caught: list[warnings.WarningMessage], limit: int = 5) -> list[str]:
    seen: list[str] = []
    for item in caught:
        text = f"{item.category.__name__}: {str(item.message).splitlines()[0]}"
        if text not in seen:
            seen.append(text)
    return seen[:limit]
