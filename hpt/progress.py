"""The console's view of a sweep: what is done, what runs, the best so far and what is left.

:class:`SweepTracker` keeps the numbers (O(1) per event, however long the sweep);
:class:`TrialLines` prints one line per finished trial in the seed's AutoML style::

     ITERATION  PARAMS                                DURATION     METRIC      BEST
             3  max_depth=4 n_estimators=300           0:00:12   -2.29096  -2.29096

through the ``hpt`` logger, so the same lines reach ``hpt.log``. On a terminal the CLI adds the
redrawn live panel (:mod:`hpt.display`); elsewhere (CI, a log file) these plain lines are all there
is, plus, every ``heartbeat`` seconds while trials run, one line saying what is in flight.

Verbosity (the CLI's ``-q``/``-v``, :func:`configure_console`): ``-1`` only warnings and the final
summary on the console (:func:`quiet_console`; ``hpt.log`` keeps every line) and no live panel;
``0`` the lines above; ``1`` also every interval report and stop request.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hpt.callbacks import SweepCallback
from hpt.events import TRIAL_TERMINAL, JournalEvent
from hpt.state import SweepState
from hpt.trial import TrialStatus

if TYPE_CHECKING:
    from hpt.experiment import Experiment

log = logging.getLogger("hpt")

PARAMS_WIDTH = 40


def format_duration(seconds: float | None) -> str:
    """``0:02:36`` (hours unbounded); ``-`` when unknown."""
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return "-"
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def format_value(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.5f}"


def format_params(params: dict[str, Any], names: list[str] | None = None) -> str:
    """``max_depth=3 n_estimators=300``: the sampled dimensions only when ``names`` is given."""
    keys = [k for k in (names or sorted(params)) if k in params]
    return " ".join(f"{k}={_short(params[k])}" for k in keys)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass
class Running:
    """A trial in flight as the console shows it."""

    trial_id: str
    started: float  # journal time of its current attempt
    attempt: int
    interval: int = 0
    value: float | None = None
    stopping: bool = False


@dataclass
class SweepTracker:
    """Counts, best so far, in-flight trials and the time estimate, updated per journal event."""

    goal: str = "maximize"
    planned: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    best: tuple[float, str] | None = None  # (value, trial id)
    running: dict[str, Running] = field(default_factory=dict)
    durations: list[float] = field(default_factory=list)  # of trials finished this session
    session_start: float = field(default_factory=time.time)
    prior_elapsed: float = 0.0

    @property
    def sign(self) -> float:
        return 1.0 if self.goal == "maximize" else -1.0

    def start(self, state: SweepState) -> None:
        """Take over what earlier sessions did (a resume) from the replayed ``state``."""
        self.counts = {}
        self.best = None
        self.running = {}
        self.session_start = time.time()
        self.prior_elapsed = state.elapsed_seconds()
        for trial in state.ordered():
            if trial.status.is_finished():
                self.counts[trial.status.value] = self.counts.get(trial.status.value, 0) + 1
                self.consider(trial.status, trial.value, trial.trial_id)
                if trial.started_at is not None and trial.ended_at is not None:
                    self.durations.append(trial.ended_at - trial.started_at)

    def consider(self, status: TrialStatus, value: float | None, tid: str) -> bool:
        """Take a finished trial into the best so far; ``True`` when it is the new best."""
        if status is not TrialStatus.COMPLETED or value is None or math.isnan(value):
            return False
        if self.best is None or self.sign * value > self.sign * self.best[0]:
            self.best = (value, tid)
            return True
        return False

    def update(self, record: dict[str, Any], state: SweepState) -> None:
        kind = record["event"]
        tid = str(record.get("trial_id"))
        now = float(record.get("t", time.time()))
        if kind == JournalEvent.STARTED:
            self.running[tid] = Running(tid, now, int(record.get("attempt", 1)))
        elif kind == JournalEvent.REPORT and tid in self.running:
            run = self.running[tid]
            run.interval = len(state.trials[tid].reports)
            run.value = float(record["value"])
        elif kind == JournalEvent.STOP_REQUESTED and tid in self.running:
            self.running[tid].stopping = True
        elif kind in (JournalEvent.LOST, JournalEvent.REQUEUED):
            self.running.pop(tid, None)
        elif kind in TRIAL_TERMINAL:
            self.running.pop(tid, None)
            trial = state.trials[tid]
            status = trial.status.value
            self.counts[status] = self.counts.get(status, 0) + 1
            self.consider(trial.status, trial.value, tid)
            if trial.started_at is not None:
                self.durations.append(now - trial.started_at)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def elapsed(self, now: float | None = None) -> float:
        return self.prior_elapsed + ((now or time.time()) - self.session_start)

    def remaining(self, capacity: int, now: float | None = None) -> float | None:
        """Seconds left, from the mean trial duration and the slots in use; ``None`` if unknown."""
        if self.planned is None or not self.durations:
            return None
        now = now or time.time()
        mean = sum(self.durations) / len(self.durations)
        left_in_flight = sum(max(0.0, mean - (now - r.started)) for r in self.running.values())
        queued = max(0, self.planned - self.done - len(self.running))
        slots = max(1, capacity, len(self.running))
        return (left_in_flight + queued * mean) / slots

    def status_counts(self) -> str:
        parts = [f"{self.done}{f'/{self.planned}' if self.planned else ''} done"]
        parts.append(f"{len(self.running)} running")
        for status in ("completed", "terminated", "failed", "timed_out", "cancelled"):
            if self.counts.get(status):
                parts.append(f"{self.counts[status]} {status}")
        return ", ".join(parts)


class TrialLines(SweepCallback):
    """One log line per finished trial (``ITERATION PARAMS DURATION METRIC BEST``).

    ``heartbeat``: seconds between "still running" lines when nothing finishes (``None``: never;
    the live display makes them pointless on a terminal).
    """

    def __init__(
        self,
        metric: str,
        goal: str,
        planned: int | None,
        *,
        param_names: list[str] | None = None,
        verbosity: int = 0,
        heartbeat: float | None = None,
        tracker: SweepTracker | None = None,
    ) -> None:
        self.metric = metric
        self.param_names = param_names
        # Room for every sampled dimension with a short value; very wide spaces are cut with "~".
        names = param_names or []
        self.params_width = min(90, max(PARAMS_WIDTH, sum(len(n) + 8 for n in names)))
        self.verbosity = verbosity
        self.heartbeat = heartbeat
        self.tracker = tracker or SweepTracker(goal, planned)
        self._owns_tracker = tracker is None
        self._last_line = time.monotonic()
        self._header_due = False

    def header(self) -> str:
        return (
            f"{'ITERATION':>10}  {'PARAMS':<{self.params_width}}  {'DURATION':>9}  "
            f"{self.metric[:12]:>12}  {'BEST':>10}"
        )

    def on_start(self, state: SweepState, *, resumed: bool) -> None:
        if self._owns_tracker:
            self.tracker.start(state)
        self._header_due = True

    def on_event(self, record: dict[str, Any], state: SweepState) -> None:
        if self._owns_tracker:
            self.tracker.update(record, state)
        kind = record["event"]
        if self._header_due and (kind in TRIAL_TERMINAL or self.verbosity >= 1):
            log.info("%s", self.header())  # with the first line, after the startup messages
            self._header_due = False
        if kind in TRIAL_TERMINAL:
            log.info("%s", self.line(state.trials[record["trial_id"]], record))
            self._last_line = time.monotonic()
        elif self.verbosity >= 1 and kind == JournalEvent.REPORT:
            log.info(
                "  trial %s interval %d: %s %s",
                record["trial_id"],
                len(state.trials[record["trial_id"]].reports),
                self.metric,
                format_value(float(record["value"])),
            )
        elif self.verbosity >= 1 and kind == JournalEvent.STOP_REQUESTED:
            reason = record.get("reason") or {}
            log.info(
                "  trial %s: stop requested by %s at interval %s (value %s, threshold %s)",
                record["trial_id"],
                reason.get("rule"),
                reason.get("interval"),
                format_value(reason.get("value")),
                format_value(reason.get("threshold")),
            )
        self._maybe_heartbeat()

    def _maybe_heartbeat(self) -> None:
        if self.heartbeat is None or not self.tracker.running:
            return
        if time.monotonic() - self._last_line < self.heartbeat:
            return
        self._last_line = time.monotonic()
        flying = ", ".join(
            f"{r.trial_id} (interval {r.interval})" for r in self.tracker.running.values()
        )
        log.info(
            "  ... %s; elapsed %s; in flight: %s",
            self.tracker.status_counts(),
            format_duration(self.tracker.elapsed()),
            flying,
        )

    def line(self, trial: Any, record: dict[str, Any]) -> str:
        """The finished-trial line; non-completed trials show their status as the metric."""
        duration = None
        if trial.started_at is not None and trial.ended_at is not None:
            duration = trial.ended_at - trial.started_at
        kind = record["event"]
        if kind == JournalEvent.COMPLETED:
            metric = format_value(trial.value)
        elif kind == JournalEvent.TERMINATED:
            reason = trial.stop_reason or {}
            metric = f"stop@{reason.get('interval')}"
        else:
            metric = kind
        best = format_value(self.tracker.best[0]) if self.tracker.best else "-"
        params = format_params(trial.params, self.param_names)
        if len(params) > self.params_width:
            params = params[: self.params_width - 1] + "~"
        text = (
            f"{trial.number:>10}  {params:<{self.params_width}}  {format_duration(duration):>9}  "
            f"{metric:>12}  {best:>10}"
        )
        if kind in (JournalEvent.FAILED, JournalEvent.TIMED_OUT) and trial.error:
            text += f"  ({str(trial.error).splitlines()[0][:120]})"
        return text


# -- the console the CLI chose ------------------------------------------------------------------
@dataclass
class ConsoleSettings:
    """How the console shows sweeps in this process (the CLI sets it from ``-q``/``-v``).

    ``live``: ``True`` redraws a rich panel, ``False`` prints plain lines only, ``None`` decides
    by whether stdout is a terminal.
    """

    verbosity: int = 0
    live: bool | None = None
    heartbeat: float = 60.0


CONSOLE = ConsoleSettings()  # what the CLI chose (-q/-v); read by hpt.display.console_callbacks


def configure_console(verbosity: int = 0, live: bool | None = None) -> None:
    """Set how later sweeps of this process show progress (see :class:`ConsoleSettings`)."""
    CONSOLE.verbosity = verbosity
    CONSOLE.live = live


def quiet_console() -> None:
    """``-q``: the console's log handlers keep only warnings from now on; files keep everything."""
    if CONSOLE.verbosity < 0:
        for handler in console_handlers():
            handler.setLevel(max(handler.level, logging.WARNING))


def sampled_names(exp: Experiment) -> list[str]:
    """The dimensions that take more than one value (the others are the same in every trial)."""
    space = exp.space
    return [
        name
        for name in space.names
        if not (space[name].is_discrete and len(space[name].values()) <= 1)
    ]


def console_handlers() -> list[logging.StreamHandler[Any]]:
    """The root logger's handlers that write to the console (not to a file)."""
    return [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler)
        and not isinstance(h, logging.FileHandler)
        and getattr(h, "stream", None) in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    ]


#: The name earlier code used for the per-trial lines.
ConsoleProgress = TrialLines
