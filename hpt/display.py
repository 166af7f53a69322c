"""The live sweep panel on a terminal (rich): counts, best so far, time, the trials in flight.

rich's :class:`~rich.live.Live` redraws the panel from its own thread four times a second, so the
screen moves while a long trial runs even when no event arrives. The sweep loop's thread updates
the :class:`~hpt.progress.SweepTracker` under a lock and the refresh thread renders a snapshot
under the same lock. Log lines (the per-trial lines of :class:`~hpt.progress.TrialLines`, warnings)
are printed above the panel: the console's log handlers write through rich while the panel is up.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from hpt.callbacks import SweepCallback
from hpt.progress import (
    CONSOLE,
    SweepTracker,
    TrialLines,
    console_handlers,
    format_duration,
    format_value,
    sampled_names,
)
from hpt.state import SweepState

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

    from hpt.experiment import Experiment

MAX_ROWS = 12


def console_callbacks(exp: Experiment) -> list[SweepCallback]:
    """The console's callbacks for ``exp``: plain lines, plus the live panel on a terminal."""
    live = CONSOLE.live
    if live is None:
        live = sys.stdout.isatty()
    live = live and CONSOLE.verbosity >= 0
    # With the live panel, the panel owns the tracker (it updates it under its lock).
    tracker = SweepTracker(exp.goal, exp.planned_trials()) if live else None
    lines = TrialLines(
        exp.metric,
        exp.goal,
        exp.planned_trials(),
        param_names=sampled_names(exp),
        verbosity=CONSOLE.verbosity,
        heartbeat=None if live else CONSOLE.heartbeat,
        tracker=tracker,
    )
    if tracker is None:
        return [lines]
    return [LiveDisplay(exp.metric, tracker, capacity=exp.capacity), lines]


# trials in flight shown; the rest are counted


class LiveDisplay(SweepCallback):
    """The redrawn panel. Owns ``tracker``: it updates it, other callbacks only read it."""

    def __init__(self, metric: str, tracker: SweepTracker, *, capacity: int | None = None) -> None:
        self.metric = metric
        self.tracker = tracker
        self.capacity = capacity
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._streams: list[tuple[Any, Any]] = []
        self._ended = False

    # -- callback ----------------------------------------------------------------------------
    def on_start(self, state: SweepState, *, resumed: bool) -> None:

        from rich.console import Console
        from rich.live import Live

        with self._lock:
            self.tracker.start(state)
        console = Console(file=sys.stdout)
        handlers = [(h, h.stream) for h in console_handlers()]
        self._live = Live(
            get_renderable=self.render,
            console=console,
            refresh_per_second=4,
            transient=False,
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self._live.start()
        # Log handlers hold the real stream object: point them at rich's proxies while the panel
        # is up, so their lines land above it instead of tearing it.
        for handler, stream in handlers:
            proxy = sys.stderr if stream in (sys.__stderr__,) else sys.stdout
            handler.setStream(proxy)
            self._streams.append((handler, stream))

    def on_event(self, record: dict[str, Any], state: SweepState) -> None:
        with self._lock:
            self.tracker.update(record, state)

    def on_end(self, state: SweepState, reason: str | None) -> None:
        with self._lock:
            self._ended = True  # the last frame: counts and best, no empty table
        if self._live is not None:
            self._live.refresh()
        for handler, stream in self._streams:
            handler.setStream(stream)
        self._streams = []
        if self._live is not None:
            self._live.stop()
            self._live = None

    # -- rendering ---------------------------------------------------------------------------
    def render(self) -> RenderableType:
        """The panel as it is now (called from rich's refresh thread)."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        now = time.time()
        with self._lock:
            tracker = self.tracker
            counts = tracker.status_counts()
            best = tracker.best
            elapsed = tracker.elapsed(now)
            remaining = tracker.remaining(self.capacity or len(tracker.running) or 1, now)
            flying = sorted(tracker.running.values(), key=lambda r: r.started)
            rows = [
                (r.trial_id, r.attempt, r.interval, r.value, now - r.started, r.stopping)
                for r in flying[:MAX_ROWS]
            ]
            hidden = max(0, len(flying) - MAX_ROWS)
            ended = self._ended
        head = Text()
        head.append("hpt sweep  ", style="bold")
        head.append(counts)
        head.append("\nbest ")
        head.append(
            f"{format_value(best[0])} (trial {best[1]})" if best else "none yet", style="bold green"
        )
        head.append(f"   elapsed {format_duration(elapsed)}")
        if remaining is not None and not ended:
            head.append(f"   remaining ~{format_duration(remaining)}")
        if ended:
            return head
        table = Table(box=None, pad_edge=False, header_style="bold")
        table.add_column("TRIAL")
        table.add_column("ATTEMPT", justify="right")
        table.add_column("INTERVAL", justify="right")
        table.add_column(self.metric[:14], justify="right")
        table.add_column("RUNNING", justify="right")
        table.add_column("")
        for tid, attempt, interval, value, running_for, stopping in rows:
            table.add_row(
                tid,
                str(attempt),
                str(interval),
                format_value(value),
                format_duration(running_for),
                "stopping" if stopping else "",
            )
        parts: list[RenderableType] = [head, table]
        if hidden:
            parts.append(Text(f"... and {hidden} more running"))
        return Group(*parts)
