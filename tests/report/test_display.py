"""The console: seed-style lines per finished trial when stdout is not a terminal, and the live
panel's content (counts, best, the trials in flight with their latest interval)."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from rich.console import Console

from hpt.display import LiveDisplay
from hpt.progress import SweepTracker, TrialLines
from hpt.state import SweepState


def test_plain_lines_when_stdout_is_not_a_terminal(swept: tuple[Path, str]) -> None:
    _, stdout = swept
    assert "\x1b[" not in stdout  # no redrawn display, no colour codes in a log
    lines = stdout.splitlines()
    (head,) = [i for i, line in enumerate(lines) if line.split()[:2] == ["ITERATION", "PARAMS"]]
    assert lines[head].split() == ["ITERATION", "PARAMS", "DURATION", "accuracy", "BEST"]
    rows = [line.split() for line in lines[head + 1 : head + 6]]
    assert sorted(int(r[0]) for r in rows) == [0, 1, 2, 3, 4]
    by_number = {int(r[0]): r for r in rows}
    assert by_number[0][1] == "max_depth=-1"  # only the dimensions that vary
    assert by_number[0][3] == "failed"
    assert re.fullmatch(r"0\.\d{5}", by_number[1][3])
    best = by_number[1][3]
    for n in (2, 3, 4):
        assert by_number[n][3] == "stop@1" and by_number[n][4] == best


def _events() -> list[dict[str, object]]:
    t = 1000.0
    return [
        {"seq": 0, "t": t, "event": "sweep_created", "config": {}, "max_total_runs": 3},
        {
            "seq": 1,
            "t": t,
            "event": "proposed",
            "trial_id": "0000",
            "number": 0,
            "params": {"a": 1},
        },
        {
            "seq": 2,
            "t": t,
            "event": "proposed",
            "trial_id": "0001",
            "number": 1,
            "params": {"a": 2},
        },
        {"seq": 3, "t": t + 1, "event": "started", "trial_id": "0000", "attempt": 1},
        {"seq": 4, "t": t + 1, "event": "started", "trial_id": "0001", "attempt": 1},
        {"seq": 5, "t": t + 2, "event": "report", "trial_id": "0000", "value": 0.5, "fold": 0},
        {
            "seq": 6,
            "t": t + 3,
            "event": "completed",
            "trial_id": "0000",
            "attempt": 1,
            "value": 0.5,
        },
        {"seq": 7, "t": t + 4, "event": "report", "trial_id": "0001", "value": 0.61, "fold": 0},
        {"seq": 8, "t": t + 5, "event": "report", "trial_id": "0001", "value": 0.62, "fold": 1},
    ]


def test_verbose_lines_show_every_interval(caplog: pytest.LogCaptureFixture) -> None:
    events = _events()
    state = SweepState.replay(events[:1])
    lines = TrialLines("accuracy", "maximize", 3, param_names=["a"], verbosity=1)
    lines.on_start(state, resumed=False)
    with caplog.at_level(logging.INFO, logger="hpt"):
        for event in events[1:]:
            state.apply(event)
            lines.on_event(event, state)
    text = [r.getMessage() for r in caplog.records]
    assert text[0].split() == ["ITERATION", "PARAMS", "DURATION", "accuracy", "BEST"]
    assert "  trial 0000 interval 1: accuracy 0.50000" in text
    assert "  trial 0001 interval 2: accuracy 0.62000" in text
    (done,) = [t for t in text if t.split()[:2] == ["0", "a=1"]]
    assert done.split()[2:] == ["0:00:02", "0.50000", "0.50000"]


def test_live_panel_shows_counts_best_and_trials_in_flight() -> None:
    events = _events()
    state = SweepState.replay(events[:1])
    tracker = SweepTracker("maximize", planned=3)
    panel = LiveDisplay("accuracy", tracker, capacity=2)
    tracker.start(state)
    lines = TrialLines("accuracy", "maximize", 3, param_names=["a"], tracker=tracker)
    for event in events[1:]:
        state.apply(event)
        panel.tracker.update(event, state)  # what on_event does, without starting rich's thread
        lines.on_event(event, state)
    out = Console(file=io.StringIO(), width=100, record=True)
    out.print(panel.render())
    text = out.export_text()
    assert "1/3 done, 1 running, 1 completed" in text
    assert "best 0.50000 (trial 0000)" in text and "remaining ~" in text
    (row,) = [line for line in text.splitlines() if line.startswith("0001")]
    assert row.split()[:4] == ["0001", "1", "2", "0.62000"]  # attempt 1, interval 2, its value
