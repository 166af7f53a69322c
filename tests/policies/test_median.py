"""Golden tests for MedianStoppingPolicy: hand-computed scenarios, answers in the comments."""

from __future__ import annotations

import pytest

from hpt.policies import MedianStoppingPolicy, StopReason

MAX = "maximize"
MIN = "minimize"


def test_seed_example_delay_5() -> None:
    # delay_evaluation=5 (the seed's example): intervals 1-4 are never evaluated.
    # At interval 5 the running averages are a 3.5/5 = 0.70, b 3.0/5 = 0.60, c 2.5/5 = 0.50;
    # median 0.60. c's best 0.55 < 0.60 -> stopped. b's best 0.65 >= 0.60 -> survives.
    history = {
        "a": [0.6, 0.7, 0.7, 0.75, 0.75],
        "b": [0.55, 0.6, 0.6, 0.6, 0.65],
        "c": [0.45, 0.5, 0.5, 0.55, 0.5],
    }
    policy = MedianStoppingPolicy(delay_evaluation=5)
    reasons = policy.explain(history, goal=MAX, running=set(history))
    assert set(reasons) == {"c"}
    assert reasons["c"].interval == 5
    assert reasons["c"].value == 0.55
    assert reasons["c"].threshold == pytest.approx(0.60)
    assert reasons["c"].rule == "median"
    for n in range(1, 5):
        early = {tid: values[:n] for tid, values in history.items()}
        assert policy.decide(early, goal=MAX, running=set(early)) == set(), n


def test_median_includes_the_evaluated_trial() -> None:
    # Means at interval 1: a 0.9, b 0.5, c 0.6 -> median of all three = 0.6.
    # b (0.5 < 0.6) is stopped; c (0.6, not strictly worse) survives.
    # Had c's own mean been left out, the median of {0.9, 0.5} = 0.7 would have stopped c.
    history = {"a": [0.9], "b": [0.5], "c": [0.6]}
    assert MedianStoppingPolicy().decide(history, goal=MAX, running=set(history)) == {"b"}


def test_even_count_median_is_the_mean_of_the_middle_two() -> None:
    # Means 0.9, 0.7, 0.5, 0.3 -> median (0.7 + 0.5) / 2 = 0.6: c (0.5) and d (0.3) stop.
    history = {"a": [0.9], "b": [0.7], "c": [0.5], "d": [0.3]}
    reasons = MedianStoppingPolicy().explain(history, goal=MAX, running=set(history))
    assert set(reasons) == {"c", "d"}
    assert reasons["d"] == StopReason(
        interval=1, value=0.3, threshold=(0.7 + 0.5) / 2, rule="median"
    )


def test_best_value_is_compared_not_the_mean() -> None:
    # At interval 2: means a (0.8+0.8)/2 = 0.8, b (0.2+0.7)/2 = 0.45, c (0.3+0.3)/2 = 0.3;
    # median 0.45. b's mean equals the median but its best (0.7) is compared -> survives.
    # c's best 0.3 < 0.45 -> stopped.
    history = {"a": [0.8, 0.8], "b": [0.2, 0.7], "c": [0.3, 0.3]}
    assert MedianStoppingPolicy().decide(history, goal=MAX, running=set(history)) == {"c"}


def test_running_averages_only_use_intervals_up_to_n() -> None:
    # "old" (finished) improved late: at interval 2 its running average is (0.1 + 0.1)/2 = 0.1,
    # not the mean of all four values (0.5). Means at 2: old 0.1, x 0.4, y 0.3 -> median 0.3.
    # y's best 0.3 is not worse -> nobody stopped. With old's full mean (0.5) the median would
    # have been 0.4 and y stopped.
    history = {"old": [0.1, 0.1, 0.9, 0.9], "x": [0.4, 0.4], "y": [0.3, 0.3]}
    assert MedianStoppingPolicy().decide(history, goal=MAX, running={"x", "y"}) == set()


def test_trials_with_fewer_intervals_use_all_their_values() -> None:
    # At interval 4: "short" (finished after 2) contributes mean(0.2, 0.4) = 0.3, "long"
    # mean(0.9 * 4) = 0.9, "r" mean(0.5, 0.5, 0.5, 0.5) = 0.5 -> median 0.5, nobody strictly worse.
    # "r2" also at 4 with mean 0.35 and best 0.4: means 0.3, 0.9, 0.5, 0.35 -> median
    # (0.35 + 0.5) / 2 = 0.425 -> r2 (best 0.4) stopped, r (0.5) survives.
    history = {"short": [0.2, 0.4], "long": [0.9] * 4, "r": [0.5] * 4}
    assert MedianStoppingPolicy().decide(history, goal=MAX, running={"r"}) == set()
    history["r2"] = [0.3, 0.4, 0.3, 0.4]
    reasons = MedianStoppingPolicy().explain(history, goal=MAX, running={"r", "r2"})
    assert set(reasons) == {"r2"}
    assert reasons["r2"].threshold == pytest.approx(0.425)


def test_rounding_never_stops_a_trial() -> None:
    # In floats mean(0.8, 0.8, 0.8) = 0.8000000000000002 > 0.8, which would put "b"'s best
    # (0.8) below the median (b's own mean) and stop it. Means are exact: a 0.9, b 0.8, c 0.1
    # -> median exactly 0.8, b survives; c (0.1) is stopped.
    history = {"a": [0.9] * 3, "b": [0.8] * 3, "c": [0.1] * 3}
    reasons = MedianStoppingPolicy().explain(history, goal=MAX, running=set(history))
    assert set(reasons) == {"c"}
    assert reasons["c"].threshold == 0.8
    # Same with a mean that floats get wrong the other way, minimizing: losses 0.1 * 3.
    losses = {"a": [0.1] * 3, "b": [0.05] * 3, "c": [0.7] * 3}
    assert MedianStoppingPolicy().decide(losses, goal=MIN, running=set(losses)) == {"c"}


def test_minimize() -> None:
    # Losses at interval 1: 0.1, 0.5, 0.3 -> median 0.3. b (0.5 > 0.3) stopped; c equal survives.
    history = {"a": [0.1], "b": [0.5], "c": [0.3]}
    assert MedianStoppingPolicy().decide(history, goal=MIN, running=set(history)) == {"b"}


def test_negative_metrics() -> None:
    # neg_log_loss, maximized: means -0.2, -0.5, -0.9 -> median -0.5. c (-0.9) stopped.
    history = {"a": [-0.2], "b": [-0.5], "c": [-0.9]}
    assert MedianStoppingPolicy().decide(history, goal=MAX, running=set(history)) == {"c"}
    # The best trial (-0.2) is never stopped.
    assert "a" not in MedianStoppingPolicy().decide(history, goal=MAX, running={"a"})


def test_finished_trials_count_but_are_never_returned() -> None:
    # Means 0.9 (finished), 0.8 (finished), 0.1 (finished), 0.5 (running) -> median 0.65.
    # r (0.5) stopped; finished "f" (0.1) is worse but not running.
    history = {"d1": [0.9], "d2": [0.8], "f": [0.1], "r": [0.5]}
    assert MedianStoppingPolicy().decide(history, goal=MAX, running={"r"}) == {"r"}


def test_evaluation_interval() -> None:
    # evaluation_interval=3: only intervals 3, 6, ... are judged.
    policy = MedianStoppingPolicy(evaluation_interval=3)
    for n in range(1, 7):
        history = {"a": [0.9] * n, "b": [0.8] * n, "c": [0.1] * n}
        expected = {"c"} if n % 3 == 0 else set()
        assert policy.decide(history, goal=MAX, running=set(history)) == expected, n


def test_single_trial_is_never_stopped() -> None:
    for goal in (MAX, MIN):
        history = {"only": [0.5, -1.0, 3.0]}
        assert MedianStoppingPolicy().decide(history, goal=goal, running={"only"}) == set()


def test_unknown_goal() -> None:
    with pytest.raises(ValueError, match="got 'minimise'"):
        MedianStoppingPolicy().decide({"a": [1.0]}, goal="minimise", running={"a"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"evaluation_interval": 0},
            "evaluation_interval must be >= 1, got 0; pass a positive number of intervals such "
            "as 1",
        ),
        (
            {"delay_evaluation": -5},
            "delay_evaluation must be >= 0, got -5; pass 0 to evaluate from the first interval, "
            "or the number of intervals to wait",
        ),
        (
            {"delay_evaluation": True},
            "delay_evaluation must be an integer, got True; pass 0 to evaluate from the first "
            "interval, or the number of intervals to wait",
        ),
    ],
)
def test_constructor_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        MedianStoppingPolicy(**kwargs)  # type: ignore[arg-type]
    assert str(excinfo.value) == message
