"""Small trainers the contract suites run. Importable by module path, so they reach worker
processes and executors like any user's trainer."""

from __future__ import annotations

import time
from typing import Any

from hpt.trainers import Emit, ShouldStop, Trainer, TrialOutcome, TrialStopped
from hpt.trial import TrialSpec


class ScriptedTrainer(Trainer):
    """Reports ``intervals`` values for each trial and finishes with the last one.

    Params: ``value`` (reported at every interval, default 1.0), ``intervals`` (default 3),
    ``sleep`` (seconds per interval, default 0), ``fail`` (raise ``ValueError`` at the start).
    Between intervals it honours stop requests.
    """

    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        params: dict[str, Any] = dict(spec.params)
        if params.get("fail"):
            raise ValueError(f"trial {spec.trial_id} was told to fail")
        value = float(params.get("value", 1.0))
        sleep = float(params.get("sleep", 0.0))
        interval = len(spec.reported)
        for _ in range(int(params.get("intervals", 3)) - interval):
            deadline = time.monotonic() + sleep
            while time.monotonic() < deadline:
                if should_stop():
                    raise TrialStopped()
                time.sleep(min(0.01, sleep))
            if should_stop():
                raise TrialStopped()
            interval += 1
            emit({"event": "report", "interval": interval, "value": value})
        return TrialOutcome(value)
