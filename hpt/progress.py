"""The console's view of a sweep: one log line per finished trial, with the best so far."""

from __future__ import annotations

import logging
import math
from typing import Any

from hpt.callbacks import SweepCallback
from hpt.events import TRIAL_TERMINAL, JournalEvent
from hpt.state import SweepState

log = logging.getLogger("hpt")


class ConsoleProgress(SweepCallback):
    """``[done/planned] trial 0007 neg_log_loss -0.41 | best -0.40 (trial 0003)`` per finished
    trial. Keeps the best so far itself, so each line costs O(1) however long the sweep."""

    def __init__(self, metric: str, goal: str, planned: int | None) -> None:
        self.metric = metric
        self.sign = 1.0 if goal == "maximize" else -1.0
        self.planned = planned
        self.done = 0
        self.best: tuple[float, str] | None = None

    def on_start(self, state: SweepState, *, resumed: bool) -> None:
        self.done = 0
        self.best = None
        for trial in state.ordered():
            if trial.status.is_finished():
                self.done += 1
                self._consider(trial.status.value, trial.value, trial.trial_id, trial.number)

    def _consider(self, kind: str, value: float | None, tid: str, number: int) -> None:
        if kind != JournalEvent.COMPLETED or value is None or math.isnan(value):
            return
        if self.best is None or self.sign * value > self.sign * self.best[0]:
            self.best = (value, tid)

    def on_event(self, record: dict[str, Any], state: SweepState) -> None:
        kind = record["event"]
        if kind not in TRIAL_TERMINAL:
            return
        trial = state.trials[record["trial_id"]]
        self.done += 1
        self._consider(kind, trial.value, trial.trial_id, trial.number)
        total = f"/{self.planned}" if self.planned else ""
        best = f"best {self.best[0]:.5f} (trial {self.best[1]})" if self.best else "no best yet"
        if kind == JournalEvent.COMPLETED:
            what = f"{self.metric} {trial.value:.5f}"
        elif kind == JournalEvent.TERMINATED:
            reason = trial.stop_reason or {}
            what = f"stopped early at interval {reason.get('interval')} by {reason.get('rule')}"
        else:
            what = f"{kind}: {trial.error or ''}".strip()
        log.info("[%d%s] trial %s %s | %s", self.done, total, trial.trial_id, what, best)
