"""Golden tests for BanditPolicy: hand-computed scenarios, expected answers in the comments."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from hpt.policies import BanditPolicy, StopReason

MAX = "maximize"
MIN = "minimize"


def test_seed_example_slack_factor() -> None:
    # Best so far 0.8, slack_factor 0.2 -> threshold 0.8 / 1.2 = 2/3 exactly (reported as the
    # float nearest to 2/3): 0.67 survives, 0.66 stops.
    history = {"best": [0.8], "above": [0.67], "below": [0.66]}
    policy = BanditPolicy(slack_factor=0.2)
    assert policy.decide(history, goal=MAX, running=set(history)) == {"below"}
    reasons = policy.explain(history, goal=MAX, running=set(history))
    assert reasons == {
        "below": StopReason(interval=1, value=0.66, threshold=float(Fraction(2, 3)), rule="bandit")
    }
    assert reasons["below"].threshold == pytest.approx(0.6667, abs=1e-4)


def test_seed_example_slack_amount() -> None:
    # Best 0.8, slack_amount 0.2 -> threshold exactly 0.8 - 0.2 = 0.6 (not the float
    # 0.6000000000000001). 0.61 survives, 0.59 stops; 0.6 itself survives ("less than" is strict).
    history = {"best": [0.8], "above": [0.61], "equal": [0.6], "below": [0.59]}
    policy = BanditPolicy(slack_amount=0.2)
    assert policy.decide(history, goal=MAX, running=set(history)) == {"below"}
    reason = policy.explain(history, goal=MAX, running=set(history))["below"]
    assert reason.threshold == 0.6
    assert reason.value == 0.59


def test_threshold_formulas() -> None:
    # HyperDrive's formulas for a positive best: B/(1+s), B*(1+s), B-a, B+a, computed on the
    # decimals exactly and rounded once to the nearest float (float arithmetic would give
    # 0.6666666666666667, 0.6, 0.6000000000000001 and 0.7).
    assert BanditPolicy(slack_factor=0.2).threshold(0.8, goal=MAX) == float(Fraction(2, 3))
    assert BanditPolicy(slack_factor=0.2).threshold(0.5, goal=MIN) == 0.6
    assert BanditPolicy(slack_amount=0.2).threshold(0.8, goal=MAX) == 0.6
    assert BanditPolicy(slack_amount=0.2).threshold(0.5, goal=MIN) == 0.7
    # Negative best: the factor acts on the magnitude.
    # maximize: -0.3 - 0.3 * 0.5 / 1.5 = -0.4 ; minimize: -0.8 + 0.8 * 0.25 = -0.6
    assert BanditPolicy(slack_factor=0.5).threshold(-0.3, goal=MAX) == -0.4
    assert BanditPolicy(slack_factor=0.25).threshold(-0.8, goal=MIN) == -0.6
    # B = 0: the threshold is B itself, nothing equal to the best is stopped.
    assert BanditPolicy(slack_factor=0.5).threshold(0.0, goal=MAX) == 0.0


def test_minimize_slack_factor() -> None:
    # Lowest loss 0.5, s = 0.2 -> threshold 0.5 * 1.2 = 0.6: 0.59 survives, 0.61 stops.
    history = {"best": [0.5], "ok": [0.59], "bad": [0.61]}
    policy = BanditPolicy(slack_factor=0.2)
    assert policy.decide(history, goal=MIN, running=set(history)) == {"bad"}


def test_minimize_slack_amount() -> None:
    # Lowest loss 0.5, a = 0.2 -> threshold 0.7: 0.69 survives, 0.71 stops.
    history = {"best": [0.5], "ok": [0.69], "bad": [0.71]}
    policy = BanditPolicy(slack_amount=0.2)
    assert policy.decide(history, goal=MIN, running=set(history)) == {"bad"}


def test_negative_metric_maximize_factor_on_magnitude() -> None:
    # neg_log_loss, maximized. Best -0.3, s = 0.5 -> threshold -0.3 - 0.3*0.5/1.5 = -0.4.
    # HyperDrive's B/(1+s) would give -0.2, above the best, and stop every trial incl. "best".
    history = {"best": [-0.3], "near": [-0.39], "far": [-0.45]}
    policy = BanditPolicy(slack_factor=0.5)
    stopped = policy.decide(history, goal=MAX, running=set(history))
    assert stopped == {"far"}
    assert policy.explain(history, goal=MAX, running=set(history))["far"].threshold == (
        pytest.approx(-0.4)
    )


def test_negative_metric_minimize_factor_on_magnitude() -> None:
    # Minimising a negative metric. Best -0.8, s = 0.25 -> threshold -0.8 + 0.8*0.25 = -0.6.
    # HyperDrive's B*(1+s) would give -1.0, below the best, and stop "best" too.
    history = {"best": [-0.8], "near": [-0.65], "far": [-0.55]}
    policy = BanditPolicy(slack_factor=0.25)
    assert policy.decide(history, goal=MIN, running=set(history)) == {"far"}


def test_best_over_intervals_not_latest_value() -> None:
    # B = 0.8 -> threshold 0.6667. "dip" fell to 0.5 but its best over 1..2 is 0.7 -> survives.
    # "flat" never got above 0.6 -> stopped. Its reason reports its best (0.6) at interval 2.
    history = {"best": [0.8, 0.8], "dip": [0.7, 0.5], "flat": [0.6, 0.55]}
    policy = BanditPolicy(slack_factor=0.2)
    reasons = policy.explain(history, goal=MAX, running=set(history))
    assert set(reasons) == {"flat"}
    assert reasons["flat"].interval == 2
    assert reasons["flat"].value == 0.6


def test_best_only_counts_intervals_up_to_n() -> None:
    # "old" (finished) reached 0.9 only at interval 3. "young" is at interval 1: B is the best
    # value at intervals <= 1, max(0.5, 0.55) = 0.55 -> threshold 0.4583, and 0.55 survives.
    # Using 0.9 (threshold 0.75) would have stopped "young" for being younger.
    history = {"old": [0.5, 0.6, 0.9], "young": [0.55]}
    policy = BanditPolicy(slack_factor=0.2)
    assert policy.decide(history, goal=MAX, running={"young"}) == set()
    # At interval 3 "young2" is compared with 0.9: threshold 0.75, its best 0.7 -> stopped.
    history2 = {"old": [0.5, 0.6, 0.9], "young2": [0.5, 0.6, 0.7]}
    assert policy.decide(history2, goal=MAX, running={"young2"}) == {"young2"}


def test_trials_at_different_intervals_in_one_call() -> None:
    # "a" at interval 1: B over intervals <= 1 = max(0.8, 0.4, 0.5) = 0.8 -> threshold
    #   0.6667; a's best 0.4 -> stopped.
    # "b" at interval 2: B = max(0.8, 0.9, 0.4, 0.5, 0.6) = 0.9 -> 0.75; b's best 0.6 -> stopped.
    # "c" at interval 3: B = 0.95 -> 0.7917; c's best 0.95 -> survives.
    history = {"a": [0.4], "b": [0.5, 0.6], "c": [0.8, 0.9, 0.95]}
    policy = BanditPolicy(slack_factor=0.2)
    reasons = policy.explain(history, goal=MAX, running=set(history))
    assert set(reasons) == {"a", "b"}
    assert reasons["a"].interval == 1
    assert reasons["a"].threshold == pytest.approx(0.8 / 1.2)
    assert reasons["b"].interval == 2
    assert reasons["b"].threshold == pytest.approx(0.9 / 1.2)


def test_finished_trials_set_the_best_but_are_never_returned() -> None:
    # "done" (finished, 0.9) sets B -> threshold 0.75. Running "r" (0.5) is stopped; finished
    # "f" (0.1) is worse still but is not running, so it is not returned.
    history = {"done": [0.9], "f": [0.1], "r": [0.5]}
    policy = BanditPolicy(slack_factor=0.2)
    assert policy.decide(history, goal=MAX, running={"r"}) == {"r"}


def test_delay_evaluation() -> None:
    # delay_evaluation=3: "bad" is hopeless from the start but is evaluated only from interval 3.
    policy = BanditPolicy(slack_amount=0.1, delay_evaluation=3)
    early = {"best": [0.9, 0.9], "bad": [0.1, 0.1]}
    assert policy.decide(early, goal=MAX, running=set(early)) == set()
    late = {"best": [0.9, 0.9, 0.9], "bad": [0.1, 0.1, 0.1]}
    assert policy.decide(late, goal=MAX, running=set(late)) == {"bad"}


def test_evaluation_interval() -> None:
    # evaluation_interval=2: evaluated at intervals 2, 4, ...; not at 1 or 3.
    policy = BanditPolicy(slack_amount=0.1, evaluation_interval=2)
    for n, expected in [(1, set()), (2, {"bad"}), (3, set()), (4, {"bad"})]:
        history = {"best": [0.9] * n, "bad": [0.1] * n}
        assert policy.decide(history, goal=MAX, running=set(history)) == expected, n


def test_delay_and_interval_combined() -> None:
    # evaluation_interval=2, delay_evaluation=3: first evaluation at interval 4.
    policy = BanditPolicy(slack_amount=0.1, evaluation_interval=2, delay_evaluation=3)
    due = [
        n
        for n in range(1, 9)
        if policy.decide({"best": [0.9] * n, "bad": [0.1] * n}, goal=MAX, running={"bad"})
    ]
    assert due == [4, 6, 8]


def test_trial_without_reports_is_not_evaluated() -> None:
    history: dict[str, list[float]] = {"best": [0.9], "new": []}
    policy = BanditPolicy(slack_factor=0.1)
    # "ghost" is running but absent from the history: nothing reported, nothing to judge.
    assert policy.decide(history, goal=MAX, running={"new", "ghost"}) == set()


def test_single_trial_is_never_stopped() -> None:
    for goal in (MAX, MIN):
        for values in ([0.3], [-5.0, -7.0], [0.0, 0.0]):
            history = {"only": values}
            assert BanditPolicy(slack_factor=0.1).decide(history, goal=goal, running={"only"}) == (
                set()
            )


def test_unknown_goal() -> None:
    with pytest.raises(ValueError, match=r"goal must be 'maximize' or 'minimize', got 'max'"):
        BanditPolicy(slack_factor=0.1).decide({"a": [1.0]}, goal="max", running={"a"})
    # Even with nothing to evaluate, a bad goal is reported.
    with pytest.raises(ValueError, match="goal must be"):
        BanditPolicy(slack_factor=0.1).decide({}, goal="Maximize", running=set())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"slack_factor": -1},
            "slack_factor must be > 0, got -1; pass a positive ratio such as 0.1",
        ),
        (
            {"slack_factor": 0.0},
            "slack_factor must be > 0, got 0.0; pass a positive ratio such as 0.1",
        ),
        (
            {"slack_amount": 0},
            "slack_amount must be > 0, got 0; pass a positive distance in metric units such as 0.2",
        ),
        (
            {"slack_factor": math.nan},
            "slack_factor must be > 0, got nan; pass a positive ratio such as 0.1",
        ),
        (
            {"slack_factor": math.inf},
            "slack_factor must be finite, got inf; pass a positive ratio such as 0.1",
        ),
        (
            {"slack_factor": "0.1"},
            "slack_factor must be a number, got '0.1'; pass a positive ratio such as 0.1",
        ),
        (
            {"slack_factor": True},
            "slack_factor must be a number, got True; pass a positive ratio such as 0.1",
        ),
        (
            {},
            "BanditPolicy needs exactly one of slack_factor or slack_amount, got neither; "
            "pass e.g. slack_factor=0.1 (a ratio) or slack_amount=0.2 (metric units)",
        ),
        (
            {"slack_factor": 0.1, "slack_amount": 0.2},
            "BanditPolicy needs exactly one of slack_factor or slack_amount, got both "
            "(slack_factor=0.1, slack_amount=0.2); drop one of them",
        ),
        (
            {"slack_factor": 0.1, "evaluation_interval": 0},
            "evaluation_interval must be >= 1, got 0; pass a positive number of intervals such "
            "as 1",
        ),
        (
            {"slack_factor": 0.1, "evaluation_interval": 1.5},
            "evaluation_interval must be an integer, got 1.5; pass a positive number of intervals "
            "such as 1",
        ),
        (
            {"slack_factor": 0.1, "delay_evaluation": -1},
            "delay_evaluation must be >= 0, got -1; pass 0 to evaluate from the first interval, "
            "or the number of intervals to wait",
        ),
    ],
)
def test_constructor_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        BanditPolicy(**kwargs)  # type: ignore[arg-type]
    assert str(excinfo.value) == message
    assert "\n" not in str(excinfo.value)


def test_repr_and_equality() -> None:
    policy = BanditPolicy(slack_factor=0.1, evaluation_interval=2)
    assert repr(policy) == (
        "BanditPolicy(slack_factor=0.1, evaluation_interval=2, delay_evaluation=0)"
    )
    assert policy == BanditPolicy(slack_factor=0.1, evaluation_interval=2)
    assert policy != BanditPolicy(slack_amount=0.1, evaluation_interval=2)
