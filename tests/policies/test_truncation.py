"""Golden tests for TruncationSelectionPolicy: hand-computed scenarios, answers in comments."""

from __future__ import annotations

import pytest

from hpt.policies import StopReason, TruncationSelectionPolicy

MAX = "maximize"
MIN = "minimize"


def test_worst_percentage_is_stopped() -> None:
    # 20% of N = 5 -> k = 1; stopped if >= N - k = 4 members are strictly better.
    # e (0.5) has 4 better -> stopped; d (0.6) has 3 -> survives. Cut-off = 4th best = 0.6.
    history = {"a": [0.9], "b": [0.8], "c": [0.7], "d": [0.6], "e": [0.5]}
    policy = TruncationSelectionPolicy(truncation_percentage=20)
    reasons = policy.explain(history, goal=MAX, running=set(history))
    assert reasons == {"e": StopReason(interval=1, value=0.5, threshold=0.6, rule="truncation")}


def test_larger_percentage() -> None:
    # 50% of N = 5 -> k = floor(2.5) = 2; stopped if >= 3 better: d (3 better) and e (4).
    history = {"a": [0.9], "b": [0.8], "c": [0.7], "d": [0.6], "e": [0.5]}
    policy = TruncationSelectionPolicy(truncation_percentage=50)
    assert policy.decide(history, goal=MAX, running=set(history)) == {"d", "e"}


def test_small_population_rounds_down_to_nobody() -> None:
    # 20% of N = 4 -> k = floor(0.8) = 0: would need 4 strictly better members out of 3 others.
    history = {"a": [0.9], "b": [0.8], "c": [0.7], "d": [0.1]}
    policy = TruncationSelectionPolicy(truncation_percentage=20)
    assert policy.decide(history, goal=MAX, running=set(history)) == set()


def test_minimize() -> None:
    # Losses 0.1, 0.2, 0.3, 0.4, 0.5; 20% -> k = 1: 0.5 has 4 strictly better -> stopped.
    history = {"a": [0.1], "b": [0.2], "c": [0.3], "d": [0.4], "e": [0.5]}
    policy = TruncationSelectionPolicy(truncation_percentage=20)
    assert policy.decide(history, goal=MIN, running=set(history)) == {"e"}


def test_negative_metrics() -> None:
    # neg_log_loss, maximized: -0.1 .. -0.5; 20% -> the -0.5 trial is stopped, the best never.
    history = {"a": [-0.1], "b": [-0.2], "c": [-0.3], "d": [-0.4], "e": [-0.5]}
    policy = TruncationSelectionPolicy(truncation_percentage=20)
    assert policy.decide(history, goal=MAX, running=set(history)) == {"e"}


def test_ties_never_stop_a_trial() -> None:
    # 25% of N = 4 -> k = 1; stopped if >= 3 strictly better. c and d tie at 0.5 with 2 better
    # each -> both survive. With d at 0.4 instead, d has 3 better -> stopped.
    policy = TruncationSelectionPolicy(truncation_percentage=25)
    tied = {"a": [0.9], "b": [0.8], "c": [0.5], "d": [0.5]}
    assert policy.decide(tied, goal=MAX, running=set(tied)) == set()
    distinct = {"a": [0.9], "b": [0.8], "c": [0.5], "d": [0.4]}
    assert policy.decide(distinct, goal=MAX, running=set(distinct)) == {"d"}
    # All equal: nobody is strictly better than anybody.
    flat = {t: [0.5] for t in "abcdefghij"}
    assert (
        TruncationSelectionPolicy(truncation_percentage=90).decide(
            flat, goal=MAX, running=set(flat)
        )
        == set()
    )


def test_age_fair_never_uses_later_intervals() -> None:
    # Older trials reached 0.95 at interval 3, but "young" is at interval 2, so everybody is
    # scored at interval 2: old1 0.3, old2 0.2, old3 0.1, young 0.25. 25% of 4 -> k = 1, stopped
    # if >= 3 better: young has 1 better -> survives. Scored at the old trials' latest values it
    # would have 3 better and be stopped.
    history = {
        "old1": [0.1, 0.3, 0.95],
        "old2": [0.1, 0.2, 0.95],
        "old3": [0.1, 0.1, 0.95],
        "young": [0.2, 0.25],
    }
    policy = TruncationSelectionPolicy(truncation_percentage=25)
    assert policy.decide(history, goal=MAX, running=set(history)) == set()
    reasons = policy.explain({**history, "young": [0.2, 0.05]}, goal=MAX, running={"young"})
    # With 0.05 at interval 2 the young trial is last: 3 better -> stopped, cut-off = 3rd best.
    assert reasons == {"young": StopReason(2, 0.05, 0.1, "truncation")}


def test_finished_shorter_trials_and_exclude_finished_jobs() -> None:
    # Running r1, r2 at interval 3 (0.5, 0.6); finished f1, f2 stopped after 1 interval (0.8, 0.9).
    # Default: population at 3 = {r1 0.5, r2 0.6, f1 0.8, f2 0.9}; 50% of 4 -> k = 2, stopped if
    # >= 2 better: r1 (3 better) and r2 (2 better) are both stopped.
    # exclude_finished_jobs: population = {r1, r2}; 50% of 2 -> k = 1, stopped if >= 1 better:
    # only r1.
    history = {"r1": [0.1, 0.1, 0.5], "r2": [0.1, 0.1, 0.6], "f1": [0.8], "f2": [0.9]}
    running = {"r1", "r2"}
    default = TruncationSelectionPolicy(truncation_percentage=50)
    assert default.decide(history, goal=MAX, running=running) == {"r1", "r2"}
    excluding = TruncationSelectionPolicy(truncation_percentage=50, exclude_finished_jobs=True)
    assert excluding.decide(history, goal=MAX, running=running) == {"r1"}


def test_finished_trials_that_reached_n_always_count() -> None:
    # exclude_finished_jobs only drops finished trials with fewer than n values (the spec's
    # "plus, unless excluded, finished trials with fewer intervals"). A finished trial that
    # reported at n is scored at n like any other: population {f 0.9, r1 0.5, r2 0.6};
    # 50% of 3 -> k = 1, stopped if >= 2 better: r1 -> stopped even when excluding.
    history = {"f": [0.1, 0.9, 0.95], "r1": [0.1, 0.5], "r2": [0.1, 0.6]}
    excluding = TruncationSelectionPolicy(truncation_percentage=50, exclude_finished_jobs=True)
    assert excluding.decide(history, goal=MAX, running={"r1", "r2"}) == {"r1"}


def test_running_trials_with_fewer_intervals_are_not_in_the_population() -> None:
    # "slow" is running at interval 1 and is not part of the comparison at interval 2:
    # population at 2 = {a 0.9, b 0.1}; 50% of 2 -> k = 1, stopped if >= 1 better -> b stopped.
    # slow (0.0) would otherwise have shielded b. slow itself is judged at interval 1 against
    # {a 0.2, b 0.3, slow 0.0}: k = 1, needs 2 better -> stopped.
    history = {"a": [0.2, 0.9], "b": [0.3, 0.1], "slow": [0.0]}
    reasons = TruncationSelectionPolicy(truncation_percentage=50).explain(
        history, goal=MAX, running=set(history)
    )
    assert reasons == {
        "b": StopReason(2, 0.1, 0.9, "truncation"),
        "slow": StopReason(1, 0.0, 0.2, "truncation"),
    }


def test_finished_trials_are_never_returned() -> None:
    history = {"a": [0.9], "b": [0.8], "c": [0.7], "d": [0.6], "e": [0.5]}
    policy = TruncationSelectionPolicy(truncation_percentage=50)
    # d and e would be stopped (see test_larger_percentage) but only e is running.
    assert policy.decide(history, goal=MAX, running={"a", "e"}) == {"e"}


def test_delay_and_interval() -> None:
    # evaluation_interval=2, delay_evaluation=3 -> first evaluation at 4, then 6, ...
    policy = TruncationSelectionPolicy(
        truncation_percentage=50, evaluation_interval=2, delay_evaluation=3
    )
    due = []
    for n in range(1, 8):
        history = {"good": [0.9] * n, "bad": [0.1] * n}
        if policy.decide(history, goal=MAX, running={"bad"}):
            due.append(n)
    assert due == [4, 6]


def test_unknown_goal() -> None:
    with pytest.raises(ValueError, match="goal must be 'maximize' or 'minimize', got None"):
        TruncationSelectionPolicy(truncation_percentage=10).decide(
            {"a": [1.0]},
            goal=None,  # type: ignore[arg-type]
            running={"a"},
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"truncation_percentage": 0},
            "truncation_percentage must be between 1 and 99, got 0; pass a whole percentage such "
            "as 20 (stop the worst 20% at each interval)",
        ),
        (
            {"truncation_percentage": 100},
            "truncation_percentage must be between 1 and 99, got 100; pass a whole percentage "
            "such as 20 (stop the worst 20% at each interval)",
        ),
        (
            {"truncation_percentage": 20.5},
            "truncation_percentage must be an integer, got 20.5; pass a whole percentage such as "
            "20 (stop the worst 20% at each interval)",
        ),
        (
            {"truncation_percentage": 20, "exclude_finished_jobs": "yes"},
            "exclude_finished_jobs must be True or False, got 'yes'; pass a boolean",
        ),
        (
            {"truncation_percentage": 20, "evaluation_interval": -2},
            "evaluation_interval must be >= 1, got -2; pass a positive number of intervals such "
            "as 1",
        ),
    ],
)
def test_constructor_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        TruncationSelectionPolicy(**kwargs)  # type: ignore[arg-type]
    assert str(excinfo.value) == message
