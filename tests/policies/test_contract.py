"""The contract every policy honours, checked on fixed and on random (hypothesis) histories.

* the result is a subset of ``running``;
* pure: the same input twice gives the same output, and the input is not mutated;
* an empty history stops nothing;
* a single trial is never stopped by comparison with itself;
* ``decide == set(explain)``, and every reason is consistent with the evaluation schedule;
* an unknown goal raises ``ValueError``.

Plus reference ("oracle") implementations of the rank rules written straight from the spec's
counting wording, compared with the threshold-based implementations on random histories.
"""

from __future__ import annotations

import copy
import doctest
import math
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

GOALS = ("maximize", "minimize")

# Every policy, with default and non-default schedules. Factories, so each test gets a fresh one.
POLICIES: dict[str, Callable[[], TerminationPolicy]] = {
    "none": NoTerminationPolicy,
    "bandit-factor": lambda: BanditPolicy(slack_factor=0.1),
    "bandit-amount": lambda: BanditPolicy(slack_amount=0.2, evaluation_interval=2),
    "bandit-delay": lambda: BanditPolicy(slack_factor=0.5, delay_evaluation=3),
    "median": MedianStoppingPolicy,
    "median-delay": lambda: MedianStoppingPolicy(evaluation_interval=2, delay_evaluation=3),
    "truncation": lambda: TruncationSelectionPolicy(truncation_percentage=30),
    "truncation-excl": lambda: TruncationSelectionPolicy(
        truncation_percentage=75, exclude_finished_jobs=True
    ),
    "truncation-99": lambda: TruncationSelectionPolicy(truncation_percentage=99),
    "asha": lambda: AshaPolicy(max_interval=20, reduction_factor=2),
    "asha-3": lambda: AshaPolicy(max_interval=10, reduction_factor=3, grace_period=1),
}
# The policies that compare trials with each other (all but the null object).
COMPARING = [name for name in POLICIES if name != "none"]

# Values: small integers produce plenty of ties; finite floats (incl. negatives, as for
# neg_log_loss) exercise the arithmetic.
finite_st = st.one_of(
    st.integers(min_value=-3, max_value=3).map(float),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
)
# Now and then a diverged trial: NaN or an infinity (e.g. log loss of a certain wrong answer).
any_value_st = st.one_of(
    finite_st, finite_st, finite_st, st.sampled_from([math.nan, math.inf, -math.inf])
)
trial_ids = st.sampled_from([f"t{i}" for i in range(8)])


@st.composite
def scenarios(
    draw: st.DrawFn, values: st.SearchStrategy[float] = any_value_st
) -> tuple[dict[str, list[float]], set[str], str]:
    """A random history, a random subset of its ids (plus maybe an unknown one) running, a goal."""
    history = draw(
        st.dictionaries(trial_ids, st.lists(values, min_size=0, max_size=12), max_size=8)
    )
    running = draw(st.sets(st.sampled_from(sorted(history)))) if history else set()
    if draw(st.booleans()):
        running.add("not-in-history")  # running but has not reported yet
    return history, running, draw(st.sampled_from(GOALS))


def _schedule_ok(policy: TerminationPolicy, n: int) -> bool:
    return n >= 1 and n % policy.evaluation_interval == 0 and n >= policy.delay_evaluation


def _check_contract(
    policy: TerminationPolicy,
    history: Mapping[str, Sequence[float]],
    running: set[str],
    goal: str,
) -> None:
    before = copy.deepcopy((history, running))
    stopped = policy.decide(history, goal=goal, running=running)
    again = policy.decide(history, goal=goal, running=running)
    reasons = policy.explain(history, goal=goal, running=running)
    assert (history, running) == before, "input mutated"
    assert stopped == again, "not deterministic"
    assert stopped == set(reasons)
    assert stopped <= running
    maximize = goal == "maximize"
    for tid, reason in reasons.items():
        assert isinstance(reason, StopReason)
        # Judged at its own latest interval, only when the schedule says so.
        assert reason.interval == len(history[tid])
        assert _schedule_ok(policy, reason.interval)
        # The compared value is worse than the reported cut-off: strictly, except that the
        # median policy compares exactly and reports the median rounded to a float.
        assert reason.threshold is not None
        signed = (
            (reason.value, reason.threshold) if maximize else (-reason.value, -reason.threshold)
        )
        assert signed[0] <= signed[1] if reason.rule == "median" else signed[0] < signed[1]


# --- fixed inputs --------------------------------------------------------------------------


@pytest.mark.parametrize("name", POLICIES)
@pytest.mark.parametrize("goal", GOALS)
def test_empty_history_stops_nothing(name: str, goal: str) -> None:
    policy = POLICIES[name]()
    assert policy.decide({}, goal=goal, running=set()) == set()
    assert policy.explain({}, goal=goal, running=set()) == {}
    # Running ids that have not reported anything are not judged either.
    assert policy.decide({}, goal=goal, running={"a", "b"}) == set()


@pytest.mark.parametrize("name", POLICIES)
def test_unknown_goal_raises(name: str) -> None:
    policy = POLICIES[name]()
    for goal in ("max", "MAXIMIZE", ""):
        with pytest.raises(ValueError, match="goal must be 'maximize' or 'minimize'"):
            policy.decide({"a": [1.0, 2.0]}, goal=goal, running={"a"})
        with pytest.raises(ValueError, match="goal must be 'maximize' or 'minimize'"):
            policy.explain({}, goal=goal, running=set())


@pytest.mark.parametrize("name", POLICIES)
def test_contract_on_a_fixed_history(name: str) -> None:
    history = {
        "a": [0.1, 0.5, 0.9, 0.9],
        "b": [0.2, 0.2, 0.1],
        "c": [-0.5, -0.4],
        "d": [0.3],
        "e": [],
        "f": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
    }
    for goal in GOALS:
        _check_contract(POLICIES[name](), history, {"a", "b", "c", "d", "e"}, goal)
        # Tuples as sequences and a frozenset as running are accepted too.
        frozen = {tid: tuple(values) for tid, values in history.items()}
        assert POLICIES[name]().decide(frozen, goal=goal, running=frozenset({"b", "c"})) == (
            POLICIES[name]().decide(history, goal=goal, running={"b", "c"})
        )


def test_no_termination_policy_never_stops() -> None:
    history = {"a": [0.9] * 10, "b": [-100.0] * 10}
    for goal in GOALS:
        assert NoTerminationPolicy().decide(history, goal=goal, running={"a", "b"}) == set()
    assert repr(NoTerminationPolicy()) == "NoTerminationPolicy()"


# --- random histories ----------------------------------------------------------------------


@pytest.mark.parametrize("name", POLICIES)
@settings(max_examples=150, deadline=None)
@given(scenario=scenarios())
def test_contract_on_random_histories(
    name: str, scenario: tuple[dict[str, list[float]], set[str], str]
) -> None:
    history, running, goal = scenario
    _check_contract(POLICIES[name](), history, running, goal)


@pytest.mark.parametrize("name", COMPARING)
@settings(max_examples=150, deadline=None)
@given(values=st.lists(any_value_st, min_size=1, max_size=30), goal=st.sampled_from(GOALS))
def test_a_single_trial_is_never_stopped(name: str, values: list[float], goal: str) -> None:
    policy = POLICIES[name]()
    # Every prefix: the trial is judged at each interval the schedule allows.
    for n in range(1, len(values) + 1):
        assert policy.decide({"only": values[:n]}, goal=goal, running={"only"}) == set()


@pytest.mark.parametrize("name", COMPARING)
@settings(max_examples=150, deadline=None)
@given(scenario=scenarios(finite_st))
def test_the_overall_best_at_its_interval_is_never_stopped(
    name: str, scenario: tuple[dict[str, list[float]], set[str], str]
) -> None:
    # A trial whose value at its latest interval n is at least as good as every value any trial
    # reported at intervals <= n can never be stopped by any of the rules.
    history, running, goal = scenario
    stopped = POLICIES[name]().decide(history, goal=goal, running=running)
    pick = max if goal == "maximize" else min
    for tid in stopped:
        n = len(history[tid])
        best_upto_n = pick(v for values in history.values() for v in values[:n])
        assert history[tid][-1] != best_upto_n


@pytest.mark.parametrize(
    "name", ["bandit-amount", "median", "median-delay", "truncation", "truncation-excl", "asha"]
)
@settings(max_examples=150, deadline=None)
@given(scenario=scenarios())
def test_goal_symmetry(name: str, scenario: tuple[dict[str, list[float]], set[str], str]) -> None:
    # Maximising v and minimising -v are the same problem for every rule that has no
    # sign-dependent arithmetic (not bandit's slack_factor, which acts on the magnitude).
    history, running, goal = scenario
    flipped_goal = "minimize" if goal == "maximize" else "maximize"
    negated = {tid: [-v for v in values] for tid, values in history.items()}
    policy = POLICIES[name]()
    assert policy.decide(history, goal=goal, running=running) == policy.decide(
        negated, goal=flipped_goal, running=running
    )


@pytest.mark.parametrize("goal", GOALS)
def test_nan_is_read_as_the_worst_value(goal: str) -> None:
    nan = math.nan
    worst = -math.inf if goal == "maximize" else math.inf
    # Truncation 50%: at interval 2 the NaN trial ranks last and is stopped; reported as worst.
    history = {"a": [1.0, 1.0], "b": [1.0, nan]}
    reasons = TruncationSelectionPolicy(truncation_percentage=50).explain(
        history, goal=goal, running={"a", "b"}
    )
    assert reasons == {"b": StopReason(2, worst, 1.0, "truncation")}
    # Bandit: a NaN never becomes anyone's best; "b"'s best is still its first value, 1.0,
    # and equal to B, so nothing is stopped.
    assert BanditPolicy(slack_factor=0.1).decide(history, goal=goal, running={"a", "b"}) == set()
    # ASHA at rung 2 (max_interval 4, factor 2): same ranking as truncation.
    assert AshaPolicy(max_interval=4, reduction_factor=2).decide(
        history, goal=goal, running={"a", "b"}
    ) == {"b"}
    # Median: means a 1.0, b worst -> median worst-ish; b's best 1.0 is not worse: nobody stops.
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
        if not _schedule_ok(policy, n):
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
        if n not in policy.rungs or not _schedule_ok(policy, n):
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
@settings(max_examples=100, deadline=None)
@given(scenario=scenarios(finite_st))
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
@settings(max_examples=100, deadline=None)
@given(scenario=scenarios(finite_st))
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
