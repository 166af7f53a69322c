"""Golden tests at and beside every policy's boundary.

The seed's wording is "less than" the cut-off, i.e. strict: a value exactly at the cut-off
survives, one float step (ulp) worse is stopped, one ulp better survives. Values and parameters
are read as the decimals they print as, and cut-offs are exact, so "exactly at" means the
decimal a person computes by hand (``0.8 - 0.2 = 0.6``). Each case says what float arithmetic
computed instead, which stopped the trial at the cut-off (the behaviour before exact
thresholds).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpt.policies import (
    AshaPolicy,
    BanditPolicy,
    MedianStoppingPolicy,
    TerminationPolicy,
    TruncationSelectionPolicy,
)

MAX = "maximize"
MIN = "minimize"


def worse(value: float, goal: str) -> float:
    """The float one ulp worse than ``value`` for ``goal``."""
    return math.nextafter(value, -math.inf if goal == MAX else math.inf)


def better(value: float, goal: str) -> float:
    """The float one ulp better than ``value`` for ``goal``."""
    return math.nextafter(value, math.inf if goal == MAX else -math.inf)


def stopped(policy: TerminationPolicy, history: dict[str, list[float]], goal: str) -> set[str]:
    return policy.decide(history, goal=goal, running=set(history))


# --- bandit -------------------------------------------------------------------------------

# (slack, goal, B = best so far, exact cut-off, what float arithmetic gave)
BANDIT_CASES = [
    # The seed's example: 0.8 - 0.2 = 0.6; floats 0.6000000000000001 stopped a trial at 0.6.
    ({"slack_amount": 0.2}, MAX, 0.8, 0.6, 0.8 - 0.2),
    # A loss, minimized: 0.35 + 0.1 = 0.45; floats 0.44999999999999996 stopped 0.45.
    ({"slack_amount": 0.1}, MIN, 0.35, 0.45, 0.35 + 0.1),
    # neg_log_loss, maximized: -0.35 - 0.1 = -0.45; floats -0.44999999999999996 stopped -0.45.
    ({"slack_amount": 0.1}, MAX, -0.35, -0.45, -0.35 - 0.1),
    # A negative metric minimized: -0.2 + 0.3 = 0.1; floats 0.09999999999999998 stopped 0.1.
    ({"slack_amount": 0.3}, MIN, -0.2, 0.1, -0.2 + 0.3),
    # Factor, maximize, B >= 0: 0.88 / 1.1 = 0.8; floats 0.7999999999999999 let one ulp below
    # 0.8 survive.
    ({"slack_factor": 0.1}, MAX, 0.88, 0.8, 0.88 / (1 + 0.1)),
    # Factor, maximize, B < 0 (on the magnitude): -0.3 - 0.3 * 0.5 / 1.5 = -0.4; floats
    # -0.39999999999999997 stopped -0.4.
    ({"slack_factor": 0.5}, MAX, -0.3, -0.4, -0.3 - 0.3 * 0.5 / (1 + 0.5)),
    # Factor, minimize, B >= 0: 0.3 * 1.5 = 0.45; floats 0.44999999999999996 stopped 0.45.
    ({"slack_factor": 0.5}, MIN, 0.3, 0.45, 0.3 * (1 + 0.5)),
    # Factor, minimize, B < 0: -0.4 + 0.4 * 0.25 = -0.3; floats -0.30000000000000004 stopped -0.3.
    ({"slack_factor": 0.25}, MIN, -0.4, -0.3, -0.4 + 0.4 * 0.25),
]
BANDIT_IDS = [
    "amount-max",
    "amount-min",
    "amount-max-negative",
    "amount-min-negative",
    "factor-max",
    "factor-max-negative",
    "factor-min",
    "factor-min-negative",
]


@pytest.mark.parametrize(
    ("slack", "goal", "best", "cutoff", "in_floats"), BANDIT_CASES, ids=BANDIT_IDS
)
def test_bandit_at_and_beside_the_threshold(
    slack: dict[str, float], goal: str, best: float, cutoff: float, in_floats: float
) -> None:
    policy = BanditPolicy(**slack)
    assert in_floats != cutoff  # the case is one that float arithmetic gets wrong
    assert policy.threshold(best, goal=goal) == cutoff
    at = {"best": [best], "x": [cutoff]}
    assert stopped(policy, at, goal) == set()  # exactly at the threshold: survives
    assert stopped(policy, {"best": [best], "x": [better(cutoff, goal)]}, goal) == set()
    one_ulp_worse = worse(cutoff, goal)
    reasons = policy.explain({"best": [best], "x": [one_ulp_worse]}, goal=goal, running={"x"})
    assert set(reasons) == {"x"}
    assert reasons["x"].value == one_ulp_worse
    assert reasons["x"].threshold == cutoff
    # A visible step either side (0.01) decides the same way.
    step = 0.01 if goal == MAX else -0.01
    assert stopped(policy, {"best": [best], "x": [cutoff + step]}, goal) == set()
    assert stopped(policy, {"best": [best], "x": [cutoff - step]}, goal) == {"x"}


def test_bandit_factor_threshold_between_two_floats() -> None:
    # Seed example, slack_factor 0.2, B = 0.8: the cut-off is exactly 2/3, which no float equals.
    # 0.6666666666666666 is below 2/3 (stopped), 0.6666666666666667 above it (survives); the
    # reported threshold is the float nearest to 2/3, 0.6666666666666666. (Floats put the cut at
    # 0.8 / 1.2 = 0.6666666666666667, so they agreed here.)
    policy = BanditPolicy(slack_factor=0.2)
    below, above = 0.6666666666666666, 0.6666666666666667
    assert Fraction(repr(below)) < Fraction(2, 3) < Fraction(repr(above))
    assert stopped(policy, {"best": [0.8], "x": [above]}, MAX) == set()
    reasons = policy.explain({"best": [0.8], "x": [below]}, goal=MAX, running={"x"})
    assert reasons["x"].threshold == below == float(Fraction(2, 3))


def test_bandit_best_equal_to_zero_and_infinite() -> None:
    # B = 0 with a factor: the threshold is 0 itself, so 0 survives and -5e-324 (one ulp below)
    # is stopped, maximizing and minimizing alike.
    policy = BanditPolicy(slack_factor=0.5)
    assert stopped(policy, {"best": [0.0], "x": [0.0]}, MAX) == set()
    assert stopped(policy, {"best": [0.0], "x": [-5e-324]}, MAX) == {"x"}
    assert stopped(policy, {"best": [0.0], "x": [5e-324]}, MIN) == {"x"}
    # B = +inf (maximize): only another +inf survives. B = -inf (minimize, e.g. a loss that
    # reported -inf): every trial is stopped but another -inf, never the best itself.
    assert stopped(policy, {"best": [math.inf], "x": [math.inf], "y": [1e308]}, MAX) == {"y"}
    assert stopped(policy, {"best": [-math.inf], "y": [-1e308]}, MIN) == {"y"}


def test_bandit_best_comes_from_the_decimals_of_every_trial() -> None:
    # B one ulp above 0.8 prints as 0.8000000000000002, so the cut is exactly
    # 0.8000000000000002 - 0.2 = 0.6000000000000002, itself a float (two ulps above 0.6):
    # 0.6 and 0.6000000000000001 are now stopped, 0.6000000000000002 survives.
    policy = BanditPolicy(slack_amount=0.2)
    up = better(0.8, MAX)
    assert repr(up) == "0.8000000000000002"
    assert stopped(policy, {"best": [0.8], "x": [0.6]}, MAX) == set()
    assert stopped(policy, {"best": [up], "x": [0.6]}, MAX) == {"x"}
    assert stopped(policy, {"best": [up], "x": [0.6000000000000001]}, MAX) == {"x"}
    assert stopped(policy, {"best": [up], "x": [0.6000000000000002]}, MAX) == set()


# Decimals with up to three places, as people write metrics and slacks.
decimals = st.integers(min_value=-5000, max_value=5000).map(lambda i: Decimal(i) / 1000)
slacks = st.integers(min_value=1, max_value=2000).map(lambda i: Decimal(i) / 1000)


@settings(max_examples=60, deadline=None)
@given(best=decimals, slack=slacks, goal=st.sampled_from([MAX, MIN]))
def test_bandit_amount_on_any_written_decimal(best: Decimal, slack: Decimal, goal: str) -> None:
    # Whatever decimals B and a are, a trial at exactly B -/+ a survives, one ulp worse stops.
    cut = float(best - slack if goal == MAX else best + slack)
    policy = BanditPolicy(slack_amount=float(slack))
    assert stopped(policy, {"best": [float(best)], "x": [cut]}, goal) == set()
    assert stopped(policy, {"best": [float(best)], "x": [worse(cut, goal)]}, goal) == {"x"}


@settings(max_examples=60, deadline=None)
@given(best=decimals, slack=slacks)
def test_bandit_factor_minimize_on_any_written_decimal(best: Decimal, slack: Decimal) -> None:
    # Minimizing, the cut B * (1 + s) (B >= 0) or B + |B| * s (B < 0) is a decimal again.
    cut = float(best * (1 + slack) if best >= 0 else best + abs(best) * slack)
    policy = BanditPolicy(slack_factor=float(slack))
    assert stopped(policy, {"best": [float(best)], "x": [cut]}, MIN) == set()
    assert stopped(policy, {"best": [float(best)], "x": [worse(cut, MIN)]}, MIN) == {"x"}


# --- median -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goal", "history", "median"),
    [
        # Maximize. Means at interval 2: a (0.1 + 0.2) / 2 = 0.15, b ~0.145, c 0.9: median 0.15.
        # Floats summed exactly on the binary values gave 0.15000000000000000832 > 0.15, and
        # stopped b at 0.15.
        (MAX, {"a": [0.1, 0.2], "c": [0.9, 0.9]}, 0.15),
        # Minimize. Means: a (0.3 + 0.7) / 2 = 0.5, b ~0.51, c 0.01: median 0.5. The binary mean
        # was 0.49999999999999997 < 0.5, which stopped b at 0.5.
        (MIN, {"a": [0.3, 0.7], "c": [0.01, 0.01]}, 0.5),
        # neg_log_loss, maximized. Means: a -0.5, b ~-0.51, c -0.01: median -0.5. The binary
        # mean was -0.49999999999999997 > -0.5, which stopped b at -0.5.
        (MAX, {"a": [-0.3, -0.7], "c": [-0.01, -0.01]}, -0.5),
    ],
    ids=["max", "min", "max-negative"],
)
def test_median_at_and_beside_the_median(
    goal: str, history: dict[str, list[float]], median: float
) -> None:
    # b = [v, w] with w a bit worse than the median: b's best is v, and b's own mean stays on
    # the far side of the median whatever v is, so the median is a's mean in every case.
    w = median - 0.02 if goal == MAX else median + 0.02
    policy = MedianStoppingPolicy()

    def judge(v: float) -> set[str]:
        return policy.decide({**history, "b": [v, w]}, goal=goal, running={"b"})

    assert judge(median) == set()  # exactly at the median: survives
    assert judge(better(median, goal)) == set()
    assert judge(worse(median, goal)) == {"b"}
    assert judge(median + (0.01 if goal == MAX else -0.01)) == set()
    assert judge(median - (0.01 if goal == MAX else -0.01)) == {"b"}
    reason = policy.explain({**history, "b": [worse(median, goal), w]}, goal=goal, running={"b"})
    assert reason["b"].threshold == median


def test_median_of_an_even_count_at_and_beside() -> None:
    # Interval 2, means: a 0.9, b 0.7, d 0.1 (finished) and c = [0.1, v] with mean (0.1 + v) / 2.
    # For v = 0.5: c's mean 0.3, sorted 0.1, 0.3, 0.7, 0.9 -> median (0.3 + 0.7) / 2 = 0.5 = v:
    # c survives. One ulp u below: the median drops by u / 4 only, c's best by u: stopped. One
    # ulp above: c's best rises more than the median: survives.
    others = {"a": [0.9, 0.9], "b": [0.7, 0.7], "d": [0.1, 0.1]}
    policy = MedianStoppingPolicy()

    def judge(v: float) -> set[str]:
        return policy.decide({**others, "c": [0.1, v]}, goal=MAX, running={"c"})

    assert judge(0.5) == set()
    assert judge(worse(0.5, MAX)) == {"c"}
    assert judge(better(0.5, MAX)) == set()


def test_median_sums_beyond_float_precision() -> None:
    # a = [1e16, 1.0, -1e16] has mean exactly 1/3; in floats (1e16 + 1.0) - 1e16 is 0. Means
    # 1/3, b 0.3, c 0.5 -> median 1/3: b (best 0.3) is stopped, c survives. With a's mean read
    # as 0 the median would have been 0.3 and b would have survived.
    history = {"a": [1e16, 1.0, -1e16], "b": [0.3] * 3, "c": [0.5] * 3}
    reasons = MedianStoppingPolicy().explain(history, goal=MAX, running={"b", "c"})
    assert set(reasons) == {"b"}
    assert reasons["b"].threshold == 1 / 3
    # Sums of the largest floats do not overflow: means a 1e308, b 0, c 0.5, d 0.4 -> median
    # (0.4 + 0.5) / 2 = 0.45: d is stopped, b (best 1e308) and c survive.
    huge = {"a": [1e308, 1e308], "b": [1e308, -1e308], "c": [0.5, 0.5], "d": [0.4, 0.4]}
    assert MedianStoppingPolicy().decide(huge, goal=MAX, running={"b", "c", "d"}) == {"d"}


# --- truncation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goal", "values", "cut"),
    [
        # 20% of N = 5 -> k = 1: stopped if >= 4 members are strictly better, i.e. worse than
        # the 4th best. The others are 0.9, 0.8, 0.7 and d = 0.6; x is the fifth.
        (MAX, [0.9, 0.8, 0.7], 0.6),
        (MIN, [0.1, 0.2, 0.3], 0.4),
        (MAX, [-0.1, -0.2, -0.3], -0.4),  # neg_log_loss
    ],
    ids=["max", "min", "max-negative"],
)
def test_truncation_at_and_beside_the_cut(goal: str, values: list[float], cut: float) -> None:
    policy = TruncationSelectionPolicy(truncation_percentage=20)
    others = {name: [v] for name, v in zip("abc", values, strict=True)}
    # x equal to d: a tie, 3 strictly better each, nobody is stopped.
    assert stopped(policy, {**others, "d": [cut], "x": [cut]}, goal) == set()
    # x one ulp worse: 4 strictly better -> stopped; the reported cut-off is d's value.
    below = {**others, "d": [cut], "x": [worse(cut, goal)]}
    reasons = policy.explain(below, goal=goal, running=set(below))
    assert set(reasons) == {"x"}
    assert reasons["x"].threshold == cut
    # x one ulp better than d: now d is the worst, and x (3 better) survives.
    above = {**others, "d": [cut], "x": [better(cut, goal)]}
    assert stopped(policy, above, goal) == {"d"}


@pytest.mark.parametrize(
    ("size", "percentage", "k"),
    [
        (5, 20, 1),  # 5 * 20 / 100 = 1 exactly: the worst trial is stopped
        (5, 19, 0),  # 0.95 rounds down: nobody
        (4, 25, 1),
        (4, 24, 0),
        (10, 10, 1),
        (10, 9, 0),
        (10, 30, 3),
        (10, 29, 2),
        (3, 34, 1),  # 1.02
        (3, 33, 0),  # 0.99
        (100, 99, 99),  # all but the best
    ],
)
def test_truncation_percentile_cut_is_a_floor_in_integers(
    size: int, percentage: int, k: int
) -> None:
    # Distinct values 1..size (maximize): exactly the k lowest are stopped.
    history = {f"t{i:03d}": [float(i)] for i in range(1, size + 1)}
    policy = TruncationSelectionPolicy(truncation_percentage=percentage)
    assert stopped(policy, history, MAX) == {f"t{i:03d}" for i in range(1, k + 1)}
    # Minimizing the same values stops the k highest.
    assert stopped(policy, history, MIN) == {f"t{i:03d}" for i in range(size - k + 1, size + 1)}


# --- ASHA ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goal", "values", "cut"),
    [
        # Rung 1 (max_interval 9, reduction_factor 3: rungs 1 and 3). N = 4 trials -> keep
        # ceil(4 / 3) = 2: stopped if >= 2 are strictly better, i.e. worse than the 2nd best.
        # The others are a = 0.9, d = 0.8 (the cut) and c = 0.1; x is the fourth.
        (MAX, [0.9, 0.1], 0.8),
        (MIN, [0.1, 0.9], 0.2),
        (MAX, [-0.1, -0.9], -0.2),  # neg_log_loss
    ],
    ids=["max", "min", "max-negative"],
)
def test_asha_at_and_beside_the_rung_cut(goal: str, values: list[float], cut: float) -> None:
    policy = AshaPolicy(max_interval=9, reduction_factor=3)
    others = {"a": [values[0]], "c": [values[1]], "d": [cut]}
    assert stopped(policy, {**others, "x": [cut]}, goal) == {"c"}  # x ties with d: survives
    below = {**others, "x": [worse(cut, goal)]}
    reasons = policy.explain(below, goal=goal, running=set(below))
    assert set(reasons) == {"c", "x"}
    assert reasons["x"].threshold == cut
    # x one ulp better than d: x is 2nd best and survives, d is now 3rd and stopped.
    assert stopped(policy, {**others, "x": [better(cut, goal)]}, goal) == {"c", "d"}


@pytest.mark.parametrize(("size", "keep"), [(3, 1), (4, 2), (6, 2), (7, 3), (9, 3), (10, 4)])
def test_asha_keeps_the_top_third_rounded_up(size: int, keep: int) -> None:
    # Distinct values 1..size at rung 1: all but the `keep` best are stopped.
    history = {f"t{i:02d}": [float(i)] for i in range(1, size + 1)}
    policy = AshaPolicy(max_interval=9, reduction_factor=3)
    assert stopped(policy, history, MAX) == {f"t{i:02d}" for i in range(1, size - keep + 1)}


def test_asha_judges_at_rungs_only() -> None:
    # Rungs 1 and 3 (max_interval 9): at interval 2 nobody is judged, at 3 the worse is stopped,
    # and max_interval itself is never a rung (the budget is spent).
    policy = AshaPolicy(max_interval=9, reduction_factor=3)
    for n, expected in [(1, {"bad"}), (2, set()), (3, {"bad"}), (4, set()), (9, set())]:
        history = {"good": [0.9] * n, "bad": [0.1] * n}
        assert stopped(policy, history, MAX) == expected, n


# --- the schedule boundary, common to every policy ----------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        BanditPolicy(slack_amount=0.1, delay_evaluation=5),
        MedianStoppingPolicy(delay_evaluation=5),
        TruncationSelectionPolicy(truncation_percentage=50, delay_evaluation=5),
        AshaPolicy(max_interval=9, reduction_factor=3, grace_period=5),
    ],
    ids=["bandit", "median", "truncation", "asha"],
)
def test_first_evaluation_is_at_delay_evaluation(policy: TerminationPolicy) -> None:
    # HyperDrive: "applied at every interval starting at evaluation interval 5": judged at
    # n = 5, not at n = 4.
    for n, expected in [(4, set()), (5, {"bad"})]:
        history = {"good": [0.9] * n, "bad": [0.1] * n}
        assert stopped(policy, history, MAX) == expected, n
