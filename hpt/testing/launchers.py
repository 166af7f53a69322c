"""The launcher contract suite: what every compute target must do, as pytest tests.

A launcher proves conformance with one subclass that says how to make it::

    from hpt.testing.launchers import LauncherContract

    class TestMyLauncher(LauncherContract):
        def make_launcher(self, capacity: int) -> Launcher:
            return MyLauncher(capacity=capacity)

The tests run :class:`~hpt.testing._trainers.ScriptedTrainer` trials (an importable class, so it
reaches worker processes and executors) and check the contract of :class:`hpt.launcher.Launcher`:
every started attempt sends ``started`` first and exactly one final event last, events carry the
trial id and attempt and are JSON, reports keep their order, a free slot takes the next trial,
failures carry their exception type, stops (cooperative and hard) end the attempt and leave the
launcher usable, ``close`` is idempotent. Waits are bounded (``timeout`` seconds, a guard against a
hung launcher), never timing assertions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from hpt.events import ATTEMPT_FINAL, WorkerEvent, decode, encode
from hpt.launcher import Launcher
from hpt.testing._trainers import ScriptedTrainer
from hpt.trial import TrialSpec, trial_id


def spec(number: int, attempt: int = 1, **params: Any) -> TrialSpec:
    return TrialSpec(trial_id(number), number, attempt, params)


class LauncherContract:
    """Subclass, override :meth:`make_launcher`; every ``test_*`` here then runs on it."""

    #: Upper bound (seconds) for one test's events to arrive: a hang guard, not a measurement.
    timeout: float = 120.0
    capacity: int = 2

    def make_launcher(self, capacity: int) -> Launcher:
        raise NotImplementedError("override make_launcher() in your LauncherContract subclass")

    @pytest.fixture
    def launcher(self) -> Iterator[Launcher]:
        launcher = self.make_launcher(self.capacity)
        launcher.warm_up(["hpt.testing._trainers"])
        launcher.open(ScriptedTrainer())
        try:
            yield launcher
        finally:
            launcher.close()

    # -- helpers -----------------------------------------------------------------------------
    def collect(
        self, launcher: Launcher, pending: list[TrialSpec], *, until_all_end: bool = True
    ) -> dict[tuple[str, int], list[dict[str, Any]]]:
        """Start ``pending`` as slots free up; return every attempt's events in arrival order."""
        events: dict[tuple[str, int], list[dict[str, Any]]] = {}
        running: set[tuple[str, int]] = set()
        queue = list(pending)
        deadline = time.monotonic() + self.timeout
        while queue or running:
            while queue and len(running) < launcher.capacity:
                item = queue.pop(0)
                running.add((item.trial_id, item.attempt))
                events[(item.trial_id, item.attempt)] = []
                launcher.start(item)
            assert time.monotonic() < deadline, f"attempts {sorted(running)} never ended"
            for event in launcher.poll(0.2):
                key = (str(event["trial_id"]), int(event["attempt"]))
                events.setdefault(key, []).append(event)
                if event["event"] in ATTEMPT_FINAL:
                    running.discard(key)
            if not until_all_end:
                break
        return events

    def wait_for(
        self, launcher: Launcher, key: tuple[str, int], kind: str, seen: list[dict[str, Any]]
    ) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e["event"] == kind for e in seen if (e["trial_id"], e["attempt"]) == key):
            assert time.monotonic() < deadline, f"no {kind} event for {key}"
            seen.extend(launcher.poll(0.2))

    def drain(
        self, launcher: Launcher, key: tuple[str, int], seen: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.timeout
        while not any(
            e["event"] in ATTEMPT_FINAL for e in seen if (e["trial_id"], e["attempt"]) == key
        ):
            assert time.monotonic() < deadline, f"attempt {key} never ended"
            seen.extend(launcher.poll(0.2))
        return [e for e in seen if (e["trial_id"], e["attempt"]) == key]

    # -- the contract ------------------------------------------------------------------------
    def test_capacity_is_positive(self, launcher: Launcher) -> None:
        assert isinstance(launcher.capacity, int) and launcher.capacity >= 1
        assert launcher.describe()

    def test_every_attempt_starts_first_and_ends_exactly_once(self, launcher: Launcher) -> None:
        specs = [spec(n, value=float(n), intervals=3) for n in range(2 * launcher.capacity + 1)]
        events = self.collect(launcher, specs)
        assert set(events) == {(s.trial_id, s.attempt) for s in specs}
        for s in specs:
            seen = events[(s.trial_id, s.attempt)]
            assert seen[0]["event"] == WorkerEvent.STARTED
            finals = [e for e in seen if e["event"] in ATTEMPT_FINAL]
            assert len(finals) == 1 and seen[-1] is finals[0]
            assert finals[0]["event"] == WorkerEvent.FINISHED
            assert finals[0]["value"] == float(s.number)
            reports = [e for e in seen if e["event"] == WorkerEvent.REPORT]
            assert [e["interval"] for e in reports] == [1, 2, 3]
            for event in seen:
                assert event["trial_id"] == s.trial_id and event["attempt"] == s.attempt

    def test_events_are_json(self, launcher: Launcher) -> None:
        events = self.collect(launcher, [spec(0, value=0.5)])
        for event in events[(trial_id(0), 1)]:
            assert decode(encode(event)) == event

    def test_a_trial_failure_carries_its_type_and_traceback(self, launcher: Launcher) -> None:
        events = self.collect(launcher, [spec(0, fail=True), spec(1, value=2.0)])
        failed = events[(trial_id(0), 1)][-1]
        assert failed["event"] == WorkerEvent.FAILED
        assert failed["error_type"] == "ValueError"
        assert "told to fail" in failed["error"] and "Traceback" in failed["traceback"]
        assert events[(trial_id(1), 1)][-1]["event"] == WorkerEvent.FINISHED

    def test_a_cooperative_stop_ends_the_attempt_stopped(self, launcher: Launcher) -> None:
        slow = spec(0, intervals=200, sleep=0.05)
        launcher.start(slow)
        seen: list[dict[str, Any]] = []
        key = (slow.trial_id, slow.attempt)
        self.wait_for(launcher, key, WorkerEvent.REPORT, seen)
        launcher.stop(slow.trial_id)
        final = self.drain(launcher, key, seen)[-1]
        assert final["event"] == WorkerEvent.STOPPED

    def test_a_hard_stop_ends_the_attempt_and_the_launcher_goes_on(
        self, launcher: Launcher
    ) -> None:
        slow = spec(0, intervals=200, sleep=0.05)
        launcher.start(slow)
        seen: list[dict[str, Any]] = []
        key = (slow.trial_id, slow.attempt)
        self.wait_for(launcher, key, WorkerEvent.REPORT, seen)
        launcher.stop(slow.trial_id, hard=True)
        final = self.drain(launcher, key, seen)[-1]
        assert final["event"] in (WorkerEvent.LOST, WorkerEvent.STOPPED)
        # The slot is free again and a new attempt of the same trial runs to the end.
        events = self.collect(launcher, [spec(0, attempt=2, value=3.0)])
        assert events[(trial_id(0), 2)][-1]["event"] == WorkerEvent.FINISHED

    def test_an_attempt_resumes_from_its_reported_intervals(self, launcher: Launcher) -> None:
        resumed = TrialSpec(trial_id(0), 0, 2, {"intervals": 3}, reported=(1.0,))
        events = self.collect(launcher, [resumed])
        reports = [e for e in events[(trial_id(0), 2)] if e["event"] == WorkerEvent.REPORT]
        assert [e["interval"] for e in reports] == [2, 3]

    def test_close_is_idempotent(self) -> None:
        launcher = self.make_launcher(1)
        launcher.open(ScriptedTrainer())
        launcher.close()
        launcher.close()
