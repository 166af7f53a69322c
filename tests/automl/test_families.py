"""Choosing the next iteration's family (no sweep): hand-computed weights, then the sampler."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from hpt.automl.families import (
    EXPLORE,
    choose_family,
    family_scores,
    family_weights,
    standard_error,
)
from hpt.automl.sampler import AutoMLSampler
from hpt.space import SearchSpace
from hpt.trial import FoldResult, TrialRecord, TrialStatus

SPACE = SearchSpace.from_config({"model": ["x"]})


def record(
    number: int, model: str, value: float | None, status: TrialStatus = TrialStatus.COMPLETED
) -> TrialRecord:
    return TrialRecord(f"{number:04d}", number, {"model": model}, status, value=value)


def test_a_familys_score_is_its_best_and_a_failure_counts_as_the_worst() -> None:
    history = [
        record(0, "a", 0.7),
        record(1, "a", 0.9),
        record(2, "b", 0.6),
        record(3, "c", None, TrialStatus.FAILED),
        record(4, "d", None, TrialStatus.RUNNING),
    ]
    assert family_scores(history, ["a", "b", "c", "d"], "maximize") == {
        "a": 0.9,
        "b": 0.6,
        "c": 0.6,
    }
    # Minimizing (log loss): the lowest value is the best, scores are negated.
    assert family_scores(history[:3], ["a", "b"], "minimize") == {"a": -0.7, "b": -0.6}


def test_weights_follow_the_gap_to_the_best_family() -> None:
    scores = {"a": 0.90, "b": 0.89, "c": 0.50, "d": 0.40}
    weights = family_weights(scores, ["a", "b", "c", "d", "e"])
    # Lower quartile of the tried families 0.475; temperature 0.25 * (0.90 - 0.475) = 0.10625;
    # the untried family e gets that quartile too.
    raw = {m: math.exp((v - 0.90) / 0.10625) for m, v in {**scores, "e": 0.475}.items()}
    total = sum(raw.values())
    for m, r in raw.items():
        assert weights[m] == pytest.approx((1 - EXPLORE) * r / total + EXPLORE / 5)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["a"] > weights["b"] > 0.35 and weights["c"] < 0.03  # close share, far starve
    assert weights["d"] >= EXPLORE / 5  # never ruled out


def test_the_folds_noise_is_the_temperatures_floor() -> None:
    scores = {"a": 0.900, "b": 0.899, "c": 0.898}  # temperature 0.25 * 0.0015: b starves
    sharp = family_weights(scores, ["a", "b", "c"])
    noisy = family_weights(scores, ["a", "b", "c"], noise=0.01)
    assert sharp["b"] < 0.1 < 0.3 < noisy["b"]
    best = TrialRecord(
        "0000",
        0,
        {"model": "a"},
        TrialStatus.COMPLETED,
        value=0.8,
        folds=tuple(FoldResult(k, v, 1.0, 0.1) for k, v in enumerate([0.7, 0.8, 0.9])),
    )
    assert standard_error([best, record(1, "b", 0.5)], "maximize") == pytest.approx(0.1 / 3**0.5)


def test_the_draw_is_seeded() -> None:
    history = [record(0, "a", 0.9), record(1, "b", 0.85), record(2, "c", 0.2)]
    picks = [
        choose_family(history, ["a", "b", "c"], "maximize", np.random.default_rng(s))
        for s in range(200)
    ]
    again = [
        choose_family(history, ["a", "b", "c"], "maximize", np.random.default_rng(s))
        for s in range(200)
    ]
    assert picks == again
    counts = Counter(picks)
    assert counts["a"] > counts["b"] > counts["c"]


def test_after_the_warm_start_proposals_go_to_the_families_that_score() -> None:
    """Three close good families share the proposals; two poor ones get almost none."""
    models = ["lightgbm", "extra_trees", "random_forest", "knn", "decision_tree"]
    sampler = AutoMLSampler(SPACE, 1, task="classification", models=models)
    score = {
        "lightgbm": 0.88,
        "extra_trees": 0.87,
        "random_forest": 0.875,
        "knn": 0.70,
        "decision_tree": 0.60,
    }
    history: list[TrialRecord] = []
    for n in range(45):
        params = sampler.suggest(n, history)
        assert params is not None
        history.append(
            TrialRecord(f"{n:04d}", n, params, TrialStatus.COMPLETED, value=score[params["model"]])
        )
    late = Counter(str(r.params["model"]) for r in history[len(models) :])
    assert late["knn"] + late["decision_tree"] <= 4, late
    assert min(late["lightgbm"], late["extra_trees"], late["random_forest"]) >= 5, late
    # Nothing kept in memory: a fresh sampler proposes the same from the same history.
    fresh = AutoMLSampler(SPACE, 1, task="classification", models=models)
    assert fresh.suggest(30, history[:30]) == history[30].params
