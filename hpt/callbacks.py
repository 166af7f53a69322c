"""Sweep callbacks: everything that watches a sweep (result files, the console display, the report,
MLflow) is one :class:`SweepCallback` in the list the sweep loop is given.

Contract:

* ``on_start(state, resumed=...)`` is called once per session, after the session's opening events
  (``sweep_created`` or ``sweep_resumed``) are in ``state`` and before the first trial starts.
* ``on_event(record, state)`` is called for every journal event the loop appends in this session,
  in order, after the event is written (durably when it is durable) and applied to ``state``.
  Events of earlier sessions are not replayed: a callback that must be idempotent across resumes
  (MLflow) reads what it needs from ``state`` in ``on_start``.
* ``on_finishing(state)`` is called once, just before the loop journals ``sweep_finished``: files
  that must be complete once the journal says the sweep finished are written here (a kill after
  that line leaves nothing for a resume to redo, so nothing would rewrite them later).
* ``on_end(state, reason)`` is called once when the session ends, however it ends: ``reason`` is
  the journal's end reason, or ``None`` when the session was interrupted or failed.
* Callbacks observe: they never write the journal or change ``state``. They run on the loop's
  thread, so they must be cheap per event; anything costly (rewriting files) is throttled. An
  exception from a callback ends the sweep (the journal stays resumable): a callback that talks
  to something flaky catches its own errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpt.state import SweepState


class SweepCallback:
    """Base class with no-op hooks; override the ones you need."""

    def on_start(self, state: SweepState, *, resumed: bool) -> None:
        """The session starts (``resumed``: the run dir already held a sweep)."""

    def on_event(self, record: dict[str, Any], state: SweepState) -> None:
        """One journal event was appended and applied."""

    def on_finishing(self, state: SweepState) -> None:
        """Every trial is done; ``sweep_finished`` is journaled right after this returns."""

    def on_end(self, state: SweepState, reason: str | None) -> None:
        """The session ended; ``reason`` is ``None`` when it did not end normally."""
