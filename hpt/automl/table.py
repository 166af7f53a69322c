"""The seed's live table: one line per finished iteration, ITERATION / PIPELINE / DURATION /
METRIC / BEST, as AzureML's AutoML prints it."""

from __future__ import annotations

import logging
import math
from typing import Any

from hpt.automl.pipeline import describe
from hpt.callbacks import SweepCallback
from hpt.events import TRIAL_TERMINAL, JournalEvent
from hpt.state import SweepState, TrialState

log = logging.getLogger("hpt")

LEGEND = (
    "ITERATION: The iteration being evaluated.",
    "PIPELINE:  A summary description of the pipeline being evaluated.",
    "DURATION: Time taken for the current iteration.",
    "METRIC: The result of computing score on the fitted pipeline.",
    "BEST: The best observed score thus far.",
)
RULE = "*" * 95


def duration(seconds: float | None) -> str:
    """``H:MM:SS`` like the seed's DURATION column."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    total = round(max(0.0, seconds))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def row(iteration: Any, pipeline: str, took: str, metric: str, best: str) -> str:
    return f"{iteration!s:>10}      {pipeline:<38} {took:<16} {metric:>10} {best:>10}"


class AutoMLTable(SweepCallback):
    """Logs the legend and the header when the session starts, then a row per finished trial
    (a trial that did not complete shows its status in METRIC). BEST follows the goal."""

    def __init__(self, metric: str, goal: str) -> None:
        self.metric = metric
        self.sign = 1.0 if goal == "maximize" else -1.0
        self.best: float | None = None

    def _consider(self, trial: TrialState) -> None:
        value = trial.value
        if trial.status.value != JournalEvent.COMPLETED or value is None or math.isnan(value):
            return
        if self.best is None or self.sign * value > self.sign * self.best:
            self.best = value

    def on_start(self, state: SweepState, *, resumed: bool) -> None:
        self.best = None
        for trial in state.ordered():
            self._consider(trial)
        for line in (
            RULE,
            *LEGEND,
            RULE,
            "",
            row("ITERATION", "PIPELINE", "DURATION", "METRIC", "BEST"),
        ):
            log.info("%s", line)

    def format(self, trial: TrialState) -> str:
        took = None
        if trial.started_at is not None and trial.ended_at is not None:
            took = trial.ended_at - trial.started_at
        if trial.status.value == JournalEvent.COMPLETED and trial.value is not None:
            metric = f"{trial.value:.4f}"
        else:
            metric = trial.status.value
        best = "-" if self.best is None else f"{self.best:.4f}"
        return row(trial.number, describe(dict(trial.params)), duration(took), metric, best)

    def on_event(self, record: dict[str, Any], state: SweepState) -> None:
        if record["event"] not in TRIAL_TERMINAL:
            return
        trial = state.trials[record["trial_id"]]
        self._consider(trial)
        log.info("%s", self.format(trial))
