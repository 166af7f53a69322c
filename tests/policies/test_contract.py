"""The shipped policy contract (hpt.testing.policies) for every built-in policy, plus
reference ("oracle") implementations of the rank rules written straight from the spec's
counting wording, compared with the threshold-based implementations on random histories.
"""

from __future__ import annotations

import doctest
import math
import subprocess
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType

import pytest
from hypothesis import given, settings

from hpt.policies import (
    AshaPolicy,
    BanditPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    StopReason,
    TerminationPolicy,
    TruncationSelectionPolicy,
    _asha,
    _bandit,
    _base,
    _median,
    _none,
    _truncation,
)
from hpt.testing import policies as contract
from hpt.testing.policies import PolicyContract

GOALS = ("maximize", "minimize")
ORACLE_EXAMPLES = 40

# --- the contract, once per built-in policy (default and non-default schedules) --------------


class TestNoTermination(PolicyContract):
    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return NoTerminationPolicy()


class TestBanditFactor(PolicyContract):
    goal_symmetric = False  # the factor acts on the magnitude: the sign matters

    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return BanditPolicy(slack_factor=0.1)


class TestBanditAmount(PolicyContract):
    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return BanditPolicy(slack_amount=0.2, evaluation_interval=2)


class TestBanditDelay(PolicyContract):
    goal_symmetric = False

    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return BanditPolicy(slack_factor=0.5, delay_evaluation=3)


class TestMedian(PolicyContract):
    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return MedianStoppingPolicy()


class TestMedianDelay(PolicyContract):
    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return MedianStoppingPolicy(evaluation_interval=2, delay_evaluation=3)


class TestTruncation(PolicyContract):
    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return TruncationSelectionPolicy(truncation_percentage=30)


class TestTruncationExcludingFinished(PolicyContract):
    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return TruncationSelectionPolicy(truncation_percentage=75, exclude_finished_jobs=True)


class TestTruncation99(PolicyContract):
    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return TruncationSelectionPolicy(truncation_percentage=99)


class TestAsha(PolicyContract):
    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return AshaPolicy(max_interval=20, reduction_factor=2)


class TestAsha3(PolicyContract):
    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return AshaPolicy(max_interval=10, reduction_factor=3, grace_period=1)


class StopBelow(TerminationPolicy):
    """A user's policy, as in the TerminationPolicy docstring: an absolute floor."""

    rule = "floor"

    def __init__(self, floor: float, **schedule: int) -> None:
        super().__init__(**schedule)
        self.floor = floor

    def judge(self, trial_id: str, interval: int, snapshot: _base.Snapshot) -> StopReason | None:
        latest = snapshot.history[trial_id][interval - 1]
        return snapshot.stop_if_worse(latest, self.floor, interval=interval, rule=self.rule)


class TestAUserPolicy(PolicyContract):
    relative = False  # a fixed floor stops a lone trial below it
    goal_symmetric = False  # the floor does not change sign with the goal

    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        return StopBelow(0.0, evaluation_interval=2)


# --- the suite itself: a policy that breaks the contract fails it ---------------------------


class _StopsEveryone(TerminationPolicy):
    """Stops every running trial: not relative (a lone trial is stopped)."""

    def judge(self, trial_id: str, interval: int, snapshot: _base.Snapshot) -> StopReason:
        return StopReason(interval, snapshot.history[trial_id][-1], None, "all")


def test_the_suite_catches_a_policy_that_stops_a_lone_trial() -> None:
    suite = type("Suite", (PolicyContract,), {})()
    with pytest.raises(AssertionError):
        suite.test_a_lone_trial_is_never_stopped(_StopsEveryone())
    # Declared non-relative, the same policy passes the rest of the contract.
    contract.check_call(_StopsEveryone(), {"a": [1.0], "b": []}, {"a", "b"}, "maximize")


def test_the_suite_catches_a_threshold_better_than_the_value() -> None:
    class Lying(TerminationPolicy):
        def judge(self, trial_id: str, interval: int, snapshot: _base.Snapshot) -> StopReason:
            return StopReason(interval, 0.1, 0.05, "lying")  # 0.1 is better than 0.05

    with pytest.raises(AssertionError, match="better than its threshold"):
        contract.check_call(Lying(), {"a": [0.1]}, {"a"}, "maximize")


def test_hpt_testing_imports_without_the_dev_dependencies() -> None:
    # A user's environment may lack hypothesis (and pytest): the package still imports, and a
    # random-history test says what to install.
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import hpt.testing\n"
        "from hpt.testing import PolicyContract\n"
        "from hpt.policies import MedianStoppingPolicy\n"
        "try:\n"
        "    PolicyContract().test_contract_on_random_histories(MedianStoppingPolicy())\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert "pip install 'hypothesis" in out


def test_a_policy_without_judge_says_what_to_implement() -> None:
    with pytest.raises(NotImplementedError, match=r"must implement judge\(trial_id"):
        TerminationPolicy().decide({"a": [1.0]}, goal="maximize", running={"a"})


def test_nan_is_read_as_the_worst_value() -> None:
    nan = math.nan
    for goal in GOALS:
        worst = -math.inf if goal == "maximize" else math.inf
        # Truncation 50%: at interval 2 the NaN trial ranks last and is stopped; reported as worst.
        history = {"a": [1.0, 1.0], "b": [1.0, nan]}
        reasons = TruncationSelectionPolicy(truncation_percentage=50).explain(
            history, goal=goal, running={"a", "b"}
        )
        assert reasons == {"b": StopReason(2, worst, 1.0, "truncation")}
        # Bandit: a NaN never becomes anyone's best; "b"'s best is still its first value, 1.0,
        # and equal to B, so nothing is stopped.
        assert BanditPolicy(slack_factor=0.1).decide(history, goal=goal, running={"a", "b"}) == (
            set()
        )
        # ASHA at rung 2 (max_interval 4, factor 2): same ranking as truncation.
        assert AshaPolicy(max_interval=4, reduction_factor=2).decide(
            history, goal=goal, running={"a", "b"}
        ) == {"b"}
        # Median: means a 1.0, b worst -> b's best 1.0 is not worse than the median: no stop.
        assert MedianStoppingPolicy().decide(history, goal=goal, running={"a", "b"}) == set()
        # The input still holds its NaN (a sanitised copy is used, not written back).
        assert math.isnan(history["b"][1])


# --- oracles: the counting rules exactly as the spec words them ----------------------------


def _strictly_better(a: float, b: float, goal: str) -> bool:
    return a > b if goal == "maximize" else a < b


def _truncation_oracle(
    policy: TruncationSelectionPolicy,
    history: Mapping[str, Sequence[float]],
    running: set[str],
    goal: str,
) -> set[str]:
    stopped = set()
    for tid in running:
        n = len(history.get(tid, ()))
        if not policy._due(n):
            continue
        population = [values[n - 1] for values in history.values() if len(values) >= n]
        if not policy.exclude_finished_jobs:
            population += [
                values[-1]
                for other, values in history.items()
                if other not in running and 0 < len(values) < n
            ]
        size = len(population)
        k = math.floor(size * policy.truncation_percentage / 100)
        own = history[tid][n - 1]
        if sum(_strictly_better(score, own, goal) for score in population) >= size - k:
            stopped.add(tid)
    return stopped


def _asha_oracle(
    policy: AshaPolicy, history: Mapping[str, Sequence[float]], running: set[str], goal: str
) -> set[str]:
    stopped = set()
    for tid in running:
        n = len(history.get(tid, ()))
        if n not in policy.rungs or not policy._due(n):
            continue
        reached = [values[n - 1] for values in history.values() if len(values) >= n]
        own = history[tid][n - 1]
        top = math.ceil(len(reached) / policy.reduction_factor)
        if (
            sum(_strictly_better(score, own, goal) for score in reached) >= top
        ):  # not among the top `top`
            stopped.add(tid)
    return stopped


@pytest.mark.parametrize("percentage", [1, 25, 50, 99])
@pytest.mark.parametrize("exclude", [False, True])
@settings(max_examples=ORACLE_EXAMPLES, deadline=None)
@given(scenario=contract.scenario_strategy(finite=True))
def test_truncation_matches_the_counting_rule(
    percentage: int, exclude: bool, scenario: tuple[dict[str, list[float]], set[str], str]
) -> None:
    history, running, goal = scenario
    policy = TruncationSelectionPolicy(
        truncation_percentage=percentage, exclude_finished_jobs=exclude
    )
    assert policy.decide(history, goal=goal, running=running) == _truncation_oracle(
        policy, history, running, goal
    )


@pytest.mark.parametrize("reduction_factor", [2, 3, 4])
@settings(max_examples=ORACLE_EXAMPLES, deadline=None)
@given(scenario=contract.scenario_strategy(finite=True))
def test_asha_matches_the_counting_rule(
    reduction_factor: int, scenario: tuple[dict[str, list[float]], set[str], str]
) -> None:
    history, running, goal = scenario
    policy = AshaPolicy(max_interval=12, reduction_factor=reduction_factor)
    assert policy.decide(history, goal=goal, running=running) == _asha_oracle(
        policy, history, running, goal
    )


# --- the examples in the docstrings are true ------------------------------------------------


@pytest.mark.parametrize("module", [_base, _none, _bandit, _median, _truncation, _asha])
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
