"""The sweep loop on the in-memory launcher: fast unit tests of scheduling, callbacks, failure
budgets, policies and bookkeeping, with no worker process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hpt.callbacks import SweepCallback
from hpt.errors import SweepAborted
from hpt.events import JournalEvent
from hpt.journal import Journal, read_journal
from hpt.limits import Limits
from hpt.policies import BanditPolicy, TerminationPolicy
from hpt.results import ResultFiles
from hpt.samplers import GridSampler
from hpt.space import SearchSpace
from hpt.state import SweepState
from hpt.sweep import SweepLoop
from hpt.testing._trainers import ScriptedTrainer
from hpt.testing.memory import InMemoryLauncher
from hpt.trial import TrialStatus


class Recorder(SweepCallback):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.events: list[dict[str, Any]] = []

    def on_start(self, state: SweepState, *, resumed: bool) -> None:
        self.calls.append(f"start:{resumed}")

    def on_event(self, record: dict[str, Any], state: SweepState) -> None:
        self.events.append(record)

    def on_end(self, state: SweepState, reason: str | None) -> None:
        self.calls.append(f"end:{reason}")


def sweep(
    tmp_path: Path,
    space: dict[str, Any],
    *,
    limits: Limits | None = None,
    policy: TerminationPolicy | None = None,
    callbacks: list[SweepCallback] | None = None,
    capacity: int = 2,
) -> tuple[SweepState, InMemoryLauncher, str | None]:
    journal = Journal(tmp_path)
    state = SweepState()
    state.apply(journal.append("sweep_created", config={}, max_total_runs=None))
    launcher = InMemoryLauncher(capacity)
    loop = SweepLoop(
        journal=journal,
        state=state,
        sampler=GridSampler(SearchSpace.from_config(space)),
        launcher=launcher,
        limits=limits or Limits(),
        goal="maximize",
        callbacks=callbacks or [],
        **({"policy": policy} if policy is not None else {}),
    )
    launcher.open(ScriptedTrainer())
    reason: str | None = None
    try:
        for callback in callbacks or []:
            callback.on_start(state, resumed=False)
        reason = loop.run()
    finally:
        launcher.close()
        journal.close()
        for callback in callbacks or []:
            callback.on_end(state, reason)
    return state, launcher, reason


def test_every_configuration_runs_once_and_the_journal_replays_to_the_same_state(
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    state, launcher, reason = sweep(
        tmp_path, {"value": [0.1, 0.2, 0.3, 0.4, 0.5]}, callbacks=[recorder]
    )
    assert reason == "search space exhausted"
    assert state.count(TrialStatus.COMPLETED) == 5 == len(launcher.started)
    assert sorted(t.value for t in state.ordered()) == [0.1, 0.2, 0.3, 0.4, 0.5]
    replayed = SweepState.replay(read_journal(tmp_path))
    assert [(t.trial_id, t.status, t.value) for t in replayed.ordered()] == [
        (t.trial_id, t.status, t.value) for t in state.ordered()
    ]
    # Callbacks saw every event after the header, in journal order, then the end.
    assert [e["seq"] for e in recorder.events] == [e["seq"] for e in read_journal(tmp_path)][1:]
    assert recorder.calls == ["start:False", f"end:{reason}"]


def test_fail_fast_needs_the_same_error_type(tmp_path: Path) -> None:
    with pytest.raises(SweepAborted, match="first 3 trials all failed"):
        sweep(tmp_path / "a", {"fail": [1, 2, 3, 4, 5]}, capacity=1)
    # Same failures, but fail-fast off: every trial runs and is failed with its type.
    state, _, _ = sweep(
        tmp_path / "b", {"fail": [1, 2, 3]}, limits=Limits(fail_fast=False), capacity=1
    )
    assert {t.error_type for t in state.ordered()} == {"ValueError"}
    assert state.count(TrialStatus.FAILED) == 3


def test_max_failed_runs_aborts_with_the_last_error(tmp_path: Path) -> None:
    with pytest.raises(SweepAborted, match=r"2 trials failed \(max_failed_runs=2\)"):
        sweep(
            tmp_path,
            {"fail": [0, 1, 1, 0, 0]},
            limits=Limits(max_failed_runs=2, fail_fast=False),
            capacity=1,
        )


def test_the_policy_stops_a_trial_behind_the_best(tmp_path: Path) -> None:
    state, _, _ = sweep(
        tmp_path,
        {"value": [0.8, 0.5], "intervals": [20], "sleep": [0.02]},
        policy=BanditPolicy(slack_amount=0.2),
        capacity=1,
    )
    first, second = state.ordered()
    assert first.status is TrialStatus.COMPLETED
    assert second.status is TrialStatus.TERMINATED
    assert second.stop_reason is not None and second.stop_reason["rule"]
    stops = [e for e in read_journal(tmp_path) if e["event"] == JournalEvent.STOP_REQUESTED]
    assert [e["trial_id"] for e in stops] == [second.trial_id]


def test_a_trial_timeout_hard_stops_it(tmp_path: Path) -> None:
    state, _, _ = sweep(
        tmp_path,
        {"intervals": [1000], "sleep": [0.05]},
        limits=Limits(trial_timeout_minutes=0.3 / 60),
        capacity=1,
    )
    (trial,) = state.ordered()
    assert trial.status is TrialStatus.TIMED_OUT


class CountingFiles(ResultFiles):
    writes = 0

    def write(self, state: SweepState) -> None:
        type(self).writes += 1
        super().write(state)


def test_result_files_are_throttled_not_rewritten_per_trial(tmp_path: Path) -> None:
    files = CountingFiles(
        tmp_path,
        metric="m",
        goal="maximize",
        param_names=["value"],
        n_folds=None,
        min_interval=3600,
    )
    state, _, _ = sweep(
        tmp_path, {"value": [float(v) for v in range(30)]}, callbacks=[files], capacity=2
    )
    assert state.count(TrialStatus.COMPLETED) == 30
    # once at the start, at most once within the hour, once at the end
    assert CountingFiles.writes <= 3
    assert (tmp_path / "best.json").read_text().count('"best_score": 29.0') == 1
