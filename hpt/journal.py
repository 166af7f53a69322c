"""The append-only event journal: the single source of truth of a sweep.

One JSON object per line, each with ``seq`` (0, 1, 2, ...), ``t`` (UNIX time) and ``event``.
Lines are flushed as they are written; events that change a trial's final state are also
``fsync``-ed, so a power cut loses at most the reports of running trials. Everything else in a run
dir is derived from the journal by :func:`hpt.state.SweepState.replay`.

A torn last line (the driver died mid-write) is ignored when reading and cut off before the next
append, so the file stays one valid event per line.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from hpt.events import DURABLE, encode

JOURNAL_NAME = "journal.jsonl"


def _complete_lines(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Parse every complete line; return the events and the byte length of the valid prefix."""
    data = path.read_bytes()
    events: list[dict[str, Any]] = []
    valid = 0
    while True:
        newline = data.find(b"\n", valid)
        if newline < 0:
            break  # a tail with no newline is a torn write
        raw = data[valid:newline]
        if raw.strip():
            try:
                events.append(json.loads(raw))
            except json.JSONDecodeError:
                break  # a torn line can only be the last one written; stop here
        valid = newline + 1
    return events, valid


def read_journal(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All complete events of the journal in ``run_dir`` (empty if there is none)."""
    path = Path(run_dir) / JOURNAL_NAME
    if not path.exists():
        return []
    return _complete_lines(path)[0]


class Journal:
    """Appends events to ``run_dir/journal.jsonl``. Not thread-safe: the sweep loop owns it."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.path = Path(run_dir) / JOURNAL_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._seq = 0
        if self.path.exists():
            events, valid = _complete_lines(self.path)
            if valid < self.path.stat().st_size:
                with open(self.path, "r+b") as handle:  # drop the torn tail before appending
                    handle.truncate(valid)
            self._seq = (events[-1]["seq"] + 1) if events else 0
        # One unbuffered write per event: nothing is held back in a buffer that a full disk could
        # fail to flush later; a write cut short leaves a torn tail, which the next open cuts.
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        """Write one event and return it (with ``seq`` and ``t`` filled in)."""
        record = {"seq": self._seq, "t": round(time.time(), 6), "event": event, **fields}
        data = (encode(record) + "\n").encode("utf-8")
        assert self._fd is not None, "journal is closed"
        written = os.write(self._fd, data)
        while written < len(data):  # rare: a signal or a nearly full disk split the write
            written += os.write(self._fd, data[written:])
        if event in DURABLE:
            os.fsync(self._fd)
        self._seq += 1
        return record

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
