"""The contract every early-termination policy honours, as a pytest suite to subclass.

A policy proves conformance with one subclass that overrides the ``policy`` fixture::

    # tests/test_my_policy.py
    import pytest

    from hpt.testing.policies import PolicyContract
    from my_project.policies import StopBelow


    class TestStopBelow(PolicyContract):
        relative = False  # StopBelow compares with a fixed number, not with other trials

        @pytest.fixture
        def policy(self) -> StopBelow:
            return StopBelow(floor=0.5)

The checks, on fixed histories and on random ones drawn with Hypothesis (a dev dependency,
imported when a random test runs: ``pip install hypothesis``):

* the policy is a :class:`~hpt.policies.TerminationPolicy` (the sweep accepts nothing else);
* the stopped ids are a subset of ``running``; trials that reported nothing are never stopped;
* pure: the same input twice gives the same output, and the input is not mutated;
* ``decide == set(explain)``; every reason is a :class:`~hpt.policies.StopReason` judged at the
  trial's latest interval, at an interval the schedule (``evaluation_interval``,
  ``delay_evaluation``) allows, and its value is not better than its reported threshold;
* NaN and infinite reports never raise; an unknown goal raises :class:`ValueError` naming it;
* with ``relative = True`` (the default: the rule compares trials with each other), a lone trial
  and a trial at least as good as every value reported up to its interval are never stopped;
* with ``goal_symmetric = True`` (the default), maximizing ``v`` and minimizing ``-v`` stop the
  same trials.

``max_examples`` bounds the random examples per property (the suite's run time).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, TypeVar

try:
    import pytest
except ImportError as exc:  # pragma: no cover - the suite runs under pytest
    raise ImportError("hpt.testing.policies is a pytest suite; pip install pytest") from exc

from hpt.policies import StopReason, TerminationPolicy

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["PolicyContract", "check_call", "scenario_strategy", "value_strategy"]

_T = TypeVar("_T")

GOALS = ("maximize", "minimize")
Scenario = tuple[dict[str, list[float]], set[str], str]

# A history with every shape the rules meet: long and short trials, negative values, a trial
# that has reported nothing.
FIXED_HISTORY: dict[str, list[float]] = {
    "a": [0.1, 0.5, 0.9, 0.9],
    "b": [0.2, 0.2, 0.1],
    "c": [-0.5, -0.4],
    "d": [0.3],
    "e": [],
    "f": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
}


def require_hypothesis() -> None:
    """Raise an :class:`ImportError` with the install command when Hypothesis is missing."""
    try:
        import hypothesis  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "this hpt.testing contract test draws random histories with hypothesis; "
            "pip install 'hypothesis>=6.100'"
        ) from exc


def value_strategy(*, finite: bool = False) -> SearchStrategy[float]:
    """Reported values: small integers (plenty of ties), wide floats (including negatives, as
    for ``neg_log_loss``), and now and then a diverged trial's NaN or infinity."""
    require_hypothesis()
    from hypothesis import strategies as st

    values = st.one_of(
        st.integers(min_value=-3, max_value=3).map(float),
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    )
    if finite:
        return values
    return st.one_of(values, values, values, st.sampled_from([math.nan, math.inf, -math.inf]))


def scenario_strategy(*, finite: bool = False) -> SearchStrategy[Scenario]:
    """A random history of up to 8 trials, a random subset of them running (sometimes with an
    id that has not reported yet) and a goal."""
    require_hypothesis()
    from hypothesis import strategies as st

    trial_ids = st.sampled_from([f"t{i}" for i in range(8)])
    values = value_strategy(finite=finite)

    @st.composite
    def scenarios(draw: st.DrawFn) -> Scenario:
        history = draw(
            st.dictionaries(trial_ids, st.lists(values, min_size=0, max_size=12), max_size=8)
        )
        running = draw(st.sets(st.sampled_from(sorted(history)))) if history else set()
        if draw(st.booleans()):
            running.add("not-in-history")
        return history, running, draw(st.sampled_from(GOALS))

    return scenarios()


def check_call(
    policy: TerminationPolicy,
    history: Mapping[str, Sequence[float]],
    running: set[str],
    goal: str,
) -> dict[str, StopReason]:
    """Run ``decide`` and ``explain`` on one input and assert the per-call contract."""
    before = copy.deepcopy((history, running))
    stopped = policy.decide(history, goal=goal, running=running)
    again = policy.decide(history, goal=goal, running=running)
    reasons = policy.explain(history, goal=goal, running=running)
    assert (history, running) == before, "the policy mutated its input"
    assert stopped == again, "decide gave two answers to the same input"
    assert stopped == set(reasons), "decide disagrees with explain"
    assert stopped <= running, f"stopped ids {sorted(stopped - running)} are not running"
    for tid, reason in reasons.items():
        assert isinstance(reason, StopReason), f"{tid}: {reason!r} is not a StopReason"
        n = len(history[tid])
        assert reason.interval == n, f"{tid} judged at {reason.interval}, its latest is {n}"
        assert n >= 1 and n % policy.evaluation_interval == 0 and n >= policy.delay_evaluation, (
            f"{tid} judged at interval {n}, which the schedule does not evaluate"
        )
        if reason.threshold is not None:
            # Not strictly: the exact cut-off is reported rounded to the nearest float.
            worse_or_equal = (
                reason.value <= reason.threshold
                if goal == "maximize"
                else reason.value >= reason.threshold
            )
            assert worse_or_equal, f"{tid}: {reason} stops a value better than its threshold"
    return reasons


class PolicyContract:
    """Subclass and override the ``policy`` fixture (see the module docstring)."""

    #: The rule compares trials with each other, so a lone trial and the best are never stopped.
    relative: ClassVar[bool] = True
    #: Maximizing ``v`` and minimizing ``-v`` are the same problem for this rule.
    goal_symmetric: ClassVar[bool] = True
    #: Random examples per property.
    max_examples: ClassVar[int] = 25

    @pytest.fixture
    def policy(self) -> TerminationPolicy:
        """The policy under test (a fresh one per test)."""
        raise NotImplementedError(
            f"{type(self).__name__} must override the `policy` fixture to return the policy "
            "under test"
        )

    def _run_property(self, check: Callable[[_T], None], strategy: SearchStrategy[_T]) -> None:
        """Run ``check(example)`` on ``max_examples`` examples drawn from ``strategy``."""
        require_hypothesis()
        from hypothesis import given, settings

        prop = settings(max_examples=self.max_examples, deadline=None)(given(strategy)(check))
        prop()

    # --- fixed inputs ---------------------------------------------------------------------

    def test_is_a_termination_policy(self, policy: TerminationPolicy) -> None:
        assert isinstance(policy, TerminationPolicy)

    @pytest.mark.parametrize("goal", GOALS)
    def test_empty_history_stops_nothing(self, policy: TerminationPolicy, goal: str) -> None:
        assert policy.decide({}, goal=goal, running=set()) == set()
        assert policy.explain({}, goal=goal, running=set()) == {}
        # Running ids that have not reported anything are not judged either.
        assert policy.decide({"a": []}, goal=goal, running={"a", "b"}) == set()

    @pytest.mark.parametrize("goal", ["max", "MAXIMIZE", ""])
    def test_unknown_goal_raises(self, policy: TerminationPolicy, goal: str) -> None:
        # Even with nothing to judge; the message names the value (the built-ins say
        # "goal must be 'maximize' or 'minimize', got 'max'; ...").
        named = re.escape(repr(goal))
        with pytest.raises(ValueError, match=named):
            policy.decide({"a": [1.0, 2.0]}, goal=goal, running={"a"})
        with pytest.raises(ValueError, match=named):
            policy.explain({}, goal=goal, running=set())

    @pytest.mark.parametrize("goal", GOALS)
    def test_contract_on_a_fixed_history(self, policy: TerminationPolicy, goal: str) -> None:
        check_call(policy, FIXED_HISTORY, {"a", "b", "c", "d", "e"}, goal)
        # Tuples as sequences and a frozenset as running are accepted and change nothing.
        frozen = {tid: tuple(values) for tid, values in FIXED_HISTORY.items()}
        assert policy.decide(frozen, goal=goal, running=frozenset({"b", "c"})) == (
            policy.decide(FIXED_HISTORY, goal=goal, running={"b", "c"})
        )

    @pytest.mark.parametrize("goal", GOALS)
    def test_nan_and_infinities_are_accepted(self, policy: TerminationPolicy, goal: str) -> None:
        history = {
            "nan": [0.5, math.nan, math.nan],
            "inf": [math.inf, 1.0, -math.inf],
            "ok": [0.4, 0.5, 0.6],
        }
        check_call(policy, history, set(history), goal)
        assert math.isnan(history["nan"][1]), "the policy wrote into its input"

    # --- random histories -----------------------------------------------------------------

    def test_contract_on_random_histories(self, policy: TerminationPolicy) -> None:
        def check(scenario: Scenario) -> None:
            check_call(policy, *scenario)

        self._run_property(check, scenario_strategy())

    def test_a_lone_trial_is_never_stopped(self, policy: TerminationPolicy) -> None:
        if not self.relative:
            pytest.skip("relative = False: the rule does not compare trials with each other")
        require_hypothesis()
        from hypothesis import strategies as st

        def check(example: tuple[list[float], str]) -> None:
            values, goal = example
            # Every prefix: the trial is judged at each interval the schedule allows.
            for n in range(1, len(values) + 1):
                assert policy.decide({"only": values[:n]}, goal=goal, running={"only"}) == set()

        lists = st.lists(value_strategy(), min_size=1, max_size=20)
        self._run_property(check, st.tuples(lists, st.sampled_from(GOALS)))

    def test_the_best_at_its_interval_is_never_stopped(self, policy: TerminationPolicy) -> None:
        if not self.relative:
            pytest.skip("relative = False: the rule does not compare trials with each other")

        # A trial whose value at its latest interval n is at least as good as every value any
        # trial reported at intervals <= n is never stopped by a comparison with the others.
        def check(scenario: Scenario) -> None:
            history, running, goal = scenario
            pick = max if goal == "maximize" else min
            for tid in policy.decide(history, goal=goal, running=running):
                n = len(history[tid])
                best_upto_n = pick(v for values in history.values() for v in values[:n])
                assert history[tid][-1] != best_upto_n, f"{tid} is the best and was stopped"

        self._run_property(check, scenario_strategy(finite=True))

    def test_goal_symmetry(self, policy: TerminationPolicy) -> None:
        if not self.goal_symmetric:
            pytest.skip("goal_symmetric = False: the rule's arithmetic depends on the sign")

        def check(scenario: Scenario) -> None:
            history, running, goal = scenario
            flipped = "minimize" if goal == "maximize" else "maximize"
            negated = {tid: [-v for v in values] for tid, values in history.items()}
            assert policy.decide(history, goal=goal, running=running) == policy.decide(
                negated, goal=flipped, running=running
            )

        self._run_property(check, scenario_strategy())
