"""End to end: script-mode sweeps whose scripts log scripted curves, under each policy.

The expected trials -- and only they -- end ``terminated``, at the interval worked out by hand
from the policy's rule (comments below each case).

**Why this is deterministic.** A policy only sees the reports the driver has received, so
normally what it decides depends on the order reports arrive in. Here every trial runs at once
(``max_concurrent_runs`` = number of trials) and ``tests/scripts/curve.py --journal`` paces the
scripts by the sweep's own journal: reports come one at a time in round-robin order (trial 0's
interval n, trial 1's interval n, ..., then interval n + 1), each only after the previous one
was journaled, so the policy runs after each single report on a known history. Two races
remain, and the curves are designed to avoid them, which :func:`lockstep_replay` checks:

* a trial whose stop is decided on the report of the trial just before it in the round robin
  could print its next value before the driver writes ``stop_requested``;
* a trial stopped at its last interval could exit normally before the stop reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import hpt
from hpt.policies import (
    AshaPolicy,
    BanditPolicy,
    MedianStoppingPolicy,
    TerminationPolicy,
    TruncationSelectionPolicy,
)
from hpt.trial import TrialStatus

CURVE = Path(__file__).resolve().parent / "scripts" / "curve.py"

Expected = dict[str, tuple[int, float, float]]  # trial id -> (interval, value, threshold)


def lockstep_replay(
    curves: Sequence[Sequence[float]], policy: TerminationPolicy, goal: str
) -> Expected:
    """The stops the policy makes when reports arrive in the scripts' round-robin order.

    Fails if the curves hit one of the two races of the module docstring, so a curve edit that
    makes the test order-dependent is caught here rather than as a flaky test.
    """
    ids = [f"{k:04d}" for k in range(len(curves))]
    order = [
        (ids[k], n)
        for n in range(1, max(map(len, curves)) + 1)
        for k, curve in enumerate(curves)
        if len(curve) >= n
    ]
    history: dict[str, list[float]] = {tid: [] for tid in ids}
    stopped: Expected = {}
    for i, (tid, n) in enumerate(order):
        if tid in stopped:
            continue
        history[tid].append(curves[int(tid)][n - 1])
        following = next((t for t, _ in order[i + 1 :] if t not in stopped), None)
        running = {t for t in ids if t not in stopped and history[t]}
        seen = {t: values for t, values in history.items() if values}
        for stop, reason in policy.explain(seen, goal=goal, running=running).items():
            assert len(history[stop]) < len(curves[int(stop)]), f"{stop} stopped at its end"
            assert stop == tid or stop != following, f"{stop} stopped by the report before it"
            assert reason.threshold is not None
            stopped[stop] = (reason.interval, reason.value, reason.threshold)
    return stopped


def assert_same(got: Expected, expected: Expected) -> None:
    assert sorted(got) == sorted(expected)
    for tid, (interval, value, threshold) in expected.items():
        assert got[tid][0] == interval, tid
        assert got[tid][1:] == pytest.approx((value, threshold), abs=1e-9), tid


def run_curves(
    tmp_path: Path,
    curves: Sequence[Sequence[float]],
    policy: dict[str, Any],
    *,
    metric: str = "accuracy",
    goal: str = "maximize",
    plain: bool = False,
) -> hpt.api.TuneResult:
    run_dir = tmp_path / "run"
    args: list[Any] = ["--journal", run_dir / "journal.jsonl", "--trials", len(curves)]
    cfg = {
        "trainer": {
            "kind": "script",
            "script": str(CURVE),
            "args": [str(a) for a in args] + (["--plain"] if plain else []),
        },
        "search_space": {"curve": [",".join(map(repr, c)) for c in curves]},
        "metric": {"primary_metric": metric, "goal": goal},
        "policy": policy,
        "resources": {"max_concurrent_runs": len(curves)},
        "refit": False,
    }
    return hpt.tune(cfg, run_dir=run_dir)


def check(
    result: hpt.api.TuneResult, curves: Sequence[Sequence[float]], expected: Expected
) -> None:
    """Exactly the expected trials are terminated, where expected; the others completed."""
    for trial in result.state.ordered():
        curve = list(curves[trial.number])
        if trial.trial_id in expected:
            interval, value, threshold = expected[trial.trial_id]
            assert trial.status is TrialStatus.TERMINATED, trial.trial_id
            reason = trial.stop_reason or {}
            assert reason["interval"] == interval, trial.trial_id
            assert reason["value"] == pytest.approx(value, abs=1e-9), trial.trial_id
            assert reason["threshold"] == pytest.approx(threshold, abs=1e-9), trial.trial_id
            assert list(trial.values) == curve[:interval]  # nothing reported after the stop
        else:
            assert trial.status is TrialStatus.COMPLETED, trial.trial_id
            assert list(trial.values) == curve
            assert trial.value == curve[-1]


BANDIT_CURVES = [
    [0.80, 0.85, 0.90, 0.95, 0.95, 0.95],  # the leader: B(n) = .80 .85 .90 .95 .95 .95
    [0.75, 0.80, 0.82, 0.86, 0.90, 0.92],  # best >= B(n) - 0.1 at every n: completes
    [0.70, 0.76, 0.79, 0.84, 0.88, 0.90],  # n=3: best .79 < .90 - .1 = .80 -> stop at 3
    [0.60, 0.70, 0.80, 0.90, 0.95, 0.99],  # n=2: best .70 < .85 - .1 = .75 -> stop at 2
    [0.70, 0.78, 0.81, 0.84, 0.85, 0.86],  # n=4: best .84 < .95 - .1 = .85 -> stop at 4
]
# BanditPolicy(slack_amount=0.1, delay_evaluation=2): nothing is judged at interval 1.
BANDIT_EXPECTED: Expected = {
    "0002": (3, 0.79, 0.80),
    "0003": (2, 0.70, 0.75),  # a late bloomer: bandit cannot know it would reach .99
    "0004": (4, 0.84, 0.85),
}


def test_bandit_stops_the_expected_trials_at_the_expected_intervals(tmp_path: Path) -> None:
    policy = {"_target_": "hpt.policies.BanditPolicy", "slack_amount": 0.1, "delay_evaluation": 2}
    replay = lockstep_replay(
        BANDIT_CURVES, BanditPolicy(slack_amount=0.1, delay_evaluation=2), "maximize"
    )
    assert_same(replay, BANDIT_EXPECTED)
    check(run_curves(tmp_path, BANDIT_CURVES, policy), BANDIT_CURVES, BANDIT_EXPECTED)


def test_bandit_minimizing_a_loss_printed_as_plain_lines(tmp_path: Path) -> None:
    # The same race as above run on losses (1 - accuracy) with goal=minimize: B(n) is the
    # smallest loss, a trial stops when its best loss is above B(n) + 0.1.
    losses = [[round(1 - v, 6) for v in curve] for curve in BANDIT_CURVES]
    expected: Expected = {
        "0002": (3, 0.21, 0.20),  # B(3) = .10
        "0003": (2, 0.30, 0.25),  # B(2) = .15
        "0004": (4, 0.16, 0.15),  # B(4) = .05
    }
    policy = {"_target_": "hpt.policies.BanditPolicy", "slack_amount": 0.1, "delay_evaluation": 2}
    replay = lockstep_replay(losses, BanditPolicy(slack_amount=0.1, delay_evaluation=2), "minimize")
    assert_same(replay, expected)
    result = run_curves(tmp_path, losses, policy, metric="loss", goal="minimize", plain=True)
    check(result, losses, expected)
    assert result.best_trial_id == "0000"  # the smallest final loss, 0.05


MEDIAN_CURVES = [
    [0.90, 0.90, 0.90, 0.90, 0.90],
    [0.80, 0.82, 0.84, 0.86, 0.88],
    [0.60, 0.80, 0.80, 0.80, 0.80],
    [0.725, 0.725, 0.725, 0.725, 0.725],
    [0.50, 0.55, 0.60, 0.65, 0.70],
]
# MedianStoppingPolicy(delay_evaluation=2): at n, the median of every trial's mean over 1..n.
# n=2, trial 4 (the last to report 2): means .90 .81 .70 .725 .525 -> median .725; its best .55
#   is below: stopped at 2. (Trial 3 at n=2: its best .725 equals the median: a tie survives.)
# n=3, trial 3: means .90 .82 .7333 (trial 2: (.6+.8+.8)/3) .725, and trial 4's two values
#   .525 -> median .7333; its best .725 is below: stopped at 3.
# Trials 1 and 2 stay above the median (.725, .7333, .75, .76) at every interval.
MEDIAN_EXPECTED: Expected = {"0004": (2, 0.55, 0.725), "0003": (3, 0.725, 2.2 / 3)}


def test_median_stopping_stops_the_expected_trials(tmp_path: Path) -> None:
    policy = {"_target_": "hpt.policies.MedianStoppingPolicy", "delay_evaluation": 2}
    replay = lockstep_replay(MEDIAN_CURVES, MedianStoppingPolicy(delay_evaluation=2), "maximize")
    assert_same(replay, MEDIAN_EXPECTED)
    check(run_curves(tmp_path, MEDIAN_CURVES, policy, plain=True), MEDIAN_CURVES, MEDIAN_EXPECTED)


TRUNCATION_CURVES = [
    [0.90, 0.90, 0.90, 0.90, 0.90],
    [0.85, 0.86, 0.87, 0.88, 0.89],
    [0.70, 0.82, 0.81, 0.65, 0.90],
    [0.60, 0.78, 0.79, 0.80, 0.81],
    [0.65, 0.84, 0.70, 0.95, 0.99],
]
# TruncationSelectionPolicy(truncation_percentage=20, delay_evaluation=2): with N trials in the
# population, k = floor(N/5) and a trial stops when N - k of them are strictly better; below 5
# that is never, at 5 it is the strictly worst one.
# n=2, once trial 4 reported: .90 .86 .82 .78 .84 -> trial 3 (.78) is worst: stopped at 2,
#   threshold the 4th best, .82.
# n=3, trial 4: .90 .87 .81, trial 3 finished earlier at its last value .78, trial 4 .70 ->
#   trial 4 worst: stopped at 3, threshold .78.
# n=4, trial 2: .90 .88 .65, with trials 3 (.78) and 4 (.70) at their last values -> trial 2
#   worst: stopped at 4, threshold .70 (its later .90 never happens).
TRUNCATION_EXPECTED: Expected = {
    "0003": (2, 0.78, 0.82),
    "0004": (3, 0.70, 0.78),
    "0002": (4, 0.65, 0.70),
}


def test_truncation_selection_stops_the_expected_trials(tmp_path: Path) -> None:
    policy = {
        "_target_": "hpt.policies.TruncationSelectionPolicy",
        "truncation_percentage": 20,
        "delay_evaluation": 2,
    }
    rule = TruncationSelectionPolicy(truncation_percentage=20, delay_evaluation=2)
    assert_same(lockstep_replay(TRUNCATION_CURVES, rule, "maximize"), TRUNCATION_EXPECTED)
    result = run_curves(tmp_path, TRUNCATION_CURVES, policy)
    check(result, TRUNCATION_CURVES, TRUNCATION_EXPECTED)


ASHA_CURVES = [
    [0.40, 0.50, 0.60, 0.70, 0.80],
    [0.45, 0.60, 0.60, 0.70, 0.80],
    [0.50, 0.70, 0.72, 0.75, 0.80],
    [0.55, 0.80, 0.82, 0.85, 0.90],
    [0.60, 0.90, 0.50, 0.80, 0.85],
]
# AshaPolicy(max_interval=5, reduction_factor=2, grace_period=2): rungs 2 and 4; at a rung the
# top ceil(N/2) of the N trials that reached it go on.
# Rung 2, once trial 1 reached it: .50 .60 -> keep 1, trial 0 (.50 < .60) stopped at 2.
# Rung 2, once trial 3 reached it: .50 .60 .70 .80 -> keep 2 (cut .70), trial 1 stopped at 2;
#   trial 4 (.90) then makes 5, keep 3, cut .70: trial 2 (.70) ties and goes on.
# Rung 4, once trial 3 reached it: .75 .85 -> keep 1, trial 2 stopped at 4; trial 4 (.80) then
#   makes 3, keep 2, cut .80: it ties and goes on. Interval 5 is no rung: nobody else stops.
ASHA_EXPECTED: Expected = {
    "0000": (2, 0.50, 0.60),
    "0001": (2, 0.60, 0.70),
    "0002": (4, 0.75, 0.85),
}


def test_asha_stops_the_expected_trials(tmp_path: Path) -> None:
    params = {"max_interval": 5, "reduction_factor": 2, "grace_period": 2}
    replay = lockstep_replay(ASHA_CURVES, AshaPolicy(**params), "maximize")
    assert_same(replay, ASHA_EXPECTED)
    result = run_curves(tmp_path, ASHA_CURVES, {"_target_": "hpt.policies.AshaPolicy", **params})
    check(result, ASHA_CURVES, ASHA_EXPECTED)


def test_no_policy_lets_every_trial_finish(tmp_path: Path) -> None:
    curves = BANDIT_CURVES[:3]
    result = run_curves(tmp_path, curves, {"_target_": "hpt.policies.NoTerminationPolicy"})
    check(result, curves, {})
    assert result.best_trial_id == "0000"
