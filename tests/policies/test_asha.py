"""Golden tests for AshaPolicy (stopping variant): hand-computed scenarios, answers in comments."""

from __future__ import annotations

import pytest

from hpt.policies import AshaPolicy, StopReason

MAX = "maximize"
MIN = "minimize"


@pytest.mark.parametrize(
    ("kwargs", "rungs"),
    [
        # 1, 3, 9, 27 < 81; 81 itself is the full budget, not a rung.
        ({"max_interval": 81}, (1, 3, 9, 27)),
        ({"max_interval": 82}, (1, 3, 9, 27, 81)),
        ({"max_interval": 16, "grace_period": 2, "reduction_factor": 2}, (2, 4, 8)),
        ({"max_interval": 100, "grace_period": 10, "reduction_factor": 4}, (10, 40)),
        ({"max_interval": 2}, (1,)),
    ],
)
def test_rungs(kwargs: dict[str, int], rungs: tuple[int, ...]) -> None:
    assert AshaPolicy(**kwargs).rungs == rungs


def test_keeps_the_top_third_at_a_rung() -> None:
    # Rung 1, N = 4 trials reached it: keep ceil(4 / 3) = 2; stopped if >= 2 strictly better.
    # c (0.7; a, b better) and d (0.6) are stopped; cut-off = 2nd best = 0.8.
    history = {"a": [0.9], "b": [0.8], "c": [0.7], "d": [0.6]}
    reasons = AshaPolicy(max_interval=9).explain(history, goal=MAX, running=set(history))
    assert reasons == {
        "c": StopReason(interval=1, value=0.7, threshold=0.8, rule="asha"),
        "d": StopReason(interval=1, value=0.6, threshold=0.8, rule="asha"),
    }


def test_reduction_factor_two() -> None:
    # Rung 2 (grace_period 2), N = 5, reduction_factor 2: keep ceil(5 / 2) = 3.
    # Values at 2: 0.9, 0.8, 0.7, 0.6, 0.5 -> d (3 better) and e (4 better) stopped.
    history = {t: [0.0, v] for t, v in zip("abcde", [0.9, 0.8, 0.7, 0.6, 0.5], strict=True)}
    policy = AshaPolicy(max_interval=16, grace_period=2, reduction_factor=2)
    assert policy.decide(history, goal=MAX, running=set(history)) == {"d", "e"}


def test_only_judged_at_rungs() -> None:
    # Rungs 1, 3 (max_interval 9). A hopeless trial is judged at 1 and 3, never at 2 or 4..8.
    policy = AshaPolicy(max_interval=9)
    judged = []
    for n in range(1, 12):
        history = {"good": [0.9] * n, "bad": [0.1] * n}
        if policy.decide(history, goal=MAX, running={"bad"}):
            judged.append(n)
    assert judged == [1, 3]


def test_compares_values_at_the_rung_not_later() -> None:
    # At rung 3, "old" is scored by its value at interval 3 (0.4), not its later 0.99.
    # N = 2 (old, young): keep ceil(2 / 3) = 1; young (0.5) is the best at rung 3 -> survives.
    history = {"old": [0.1, 0.2, 0.4, 0.99, 0.99], "young": [0.3, 0.4, 0.5]}
    assert AshaPolicy(max_interval=9).decide(history, goal=MAX, running={"young"}) == set()


def test_finished_trials_count_but_are_never_returned() -> None:
    # Finished f1 (0.9), f2 (0.8) reached rung 1. Running r (0.5): N = 3, keep 1, 2 better ->
    # stopped. Finished f2 also has 1 better, but finished trials are never returned.
    history = {"f1": [0.9], "f2": [0.8], "r": [0.5]}
    assert AshaPolicy(max_interval=3).decide(history, goal=MAX, running={"r"}) == {"r"}


def test_trials_that_have_not_reached_the_rung_are_not_compared() -> None:
    # At rung 3 only "a" and "b" have 3 values: N = 2, keep 1 -> b (0.4 < 0.6) stopped.
    # "c" (running, 1 value) is judged at rung 1 against all three values at 1:
    # a 0.5, b 0.6, c 0.7 -> keep 1, c is the best -> survives.
    history = {"a": [0.5, 0.5, 0.6], "b": [0.6, 0.5, 0.4], "c": [0.7]}
    assert AshaPolicy(max_interval=9).decide(history, goal=MAX, running=set(history)) == {"b"}


def test_ties_never_stop_a_trial() -> None:
    # N = 3 at rung 1, keep 1: all three at 0.5 -> nobody strictly better -> nobody stopped.
    history = {"a": [0.5], "b": [0.5], "c": [0.5]}
    assert AshaPolicy(max_interval=3).decide(history, goal=MAX, running=set(history)) == set()
    # Two tied at the top: c (0.4) has 2 better >= 1 -> stopped, a and b survive.
    history = {"a": [0.5], "b": [0.5], "c": [0.4]}
    assert AshaPolicy(max_interval=3).decide(history, goal=MAX, running=set(history)) == {"c"}


def test_minimize_and_negative_metrics() -> None:
    # Losses at rung 1: 0.1, 0.2, 0.3 -> keep 1: b and c stopped.
    history = {"a": [0.1], "b": [0.2], "c": [0.3]}
    assert AshaPolicy(max_interval=3).decide(history, goal=MIN, running=set(history)) == {
        "b",
        "c",
    }
    # neg_log_loss, maximized: -0.1 is best and kept; -0.2, -0.3 stopped.
    neg = {"a": [-0.1], "b": [-0.2], "c": [-0.3]}
    assert AshaPolicy(max_interval=3).decide(neg, goal=MAX, running=set(neg)) == {"b", "c"}


def test_evaluation_interval_and_delay_filter_the_rungs() -> None:
    # Rungs 2, 4, 8 (grace 2, factor 2, max 16); delay_evaluation=3 skips rung 2.
    policy = AshaPolicy(max_interval=16, grace_period=2, reduction_factor=2, delay_evaluation=3)
    judged = []
    for n in range(1, 17):
        history = {"good": [0.9] * n, "bad": [0.1] * n}
        if policy.decide(history, goal=MAX, running={"bad"}):
            judged.append(n)
    assert judged == [4, 8]


def test_single_trial_is_never_stopped() -> None:
    history = {"only": [0.1, 0.2, 0.3]}
    for goal in (MAX, MIN):
        assert AshaPolicy(max_interval=9).decide(history, goal=goal, running={"only"}) == set()


def test_unknown_goal() -> None:
    with pytest.raises(ValueError, match="got 'up'"):
        AshaPolicy(max_interval=9).decide({}, goal="up", running=set())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"max_interval": 9, "reduction_factor": 1},
            "reduction_factor must be >= 2, got 1; pass an integer such as 3 (keep the top third "
            "at each rung)",
        ),
        (
            {"max_interval": 9, "reduction_factor": 2.5},
            "reduction_factor must be an integer, got 2.5; pass an integer such as 3 (keep the top "
            "third at each rung)",
        ),
        (
            {"max_interval": 9, "grace_period": 0},
            "grace_period must be >= 1, got 0; pass the first interval at which trials are "
            "compared, such as 1",
        ),
        (
            {"max_interval": 5, "grace_period": 5},
            "max_interval must be > grace_period (5), got 5; pass the number of intervals a full "
            "trial reports, such as 100, or lower grace_period",
        ),
        (
            {"max_interval": 0},
            "max_interval must be >= 2, got 0; pass the number of intervals a full trial "
            "reports, such as 100",
        ),
        (
            {"max_interval": 27, "evaluation_interval": 2},
            "no rung of (1, 3, 9) is evaluated with evaluation_interval=2 and delay_evaluation=0; "
            "pick a grace_period that is a multiple of evaluation_interval and at least "
            "delay_evaluation, or keep the defaults evaluation_interval=1, delay_evaluation=0",
        ),
    ],
)
def test_constructor_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        AshaPolicy(**kwargs)  # type: ignore[arg-type]
    assert str(excinfo.value) == message


def test_repr() -> None:
    assert repr(AshaPolicy(max_interval=9)) == (
        "AshaPolicy(max_interval=9, reduction_factor=3, grace_period=1, evaluation_interval=1, "
        "delay_evaluation=0)"
    )
