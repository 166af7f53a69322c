"""Local moves (no sweep): the incumbent, and what a neighbour keeps and moves."""

from __future__ import annotations

import numpy as np

from hpt.automl.local import incumbent, neighbour
from hpt.automl.space import Ask, default_pipeline, define_pipeline
from hpt.trial import TrialRecord, TrialStatus

MODELS = ["lightgbm", "extra_trees", "knn"]


def define(ask: Ask) -> dict[str, object]:
    return define_pipeline(ask, "classification", MODELS, False)


def record(number: int, params: dict[str, object], value: float | None) -> TrialRecord:
    status = TrialStatus.COMPLETED if value is not None else TrialStatus.FAILED
    return TrialRecord(f"{number:04d}", number, params, status, value=value)


def test_the_incumbent_is_the_best_completed_trial() -> None:
    history = [
        record(0, {"model": "knn"}, 0.7),
        record(1, {"model": "lightgbm"}, 0.9),
        record(2, {"model": "extra_trees"}, None),
    ]
    assert incumbent(history, "maximize") is history[1]
    assert incumbent(history, "minimize") is history[0]
    assert incumbent(history[2:], "maximize") is None


def test_a_neighbour_keeps_the_family_stays_in_the_space_and_moves() -> None:
    start = default_pipeline("lightgbm", "classification", False)
    rng = np.random.default_rng(0)
    moved = [neighbour(start, define, rng) for _ in range(30)]
    assert all(p["model"] == "lightgbm" and p.keys() == start.keys() for p in moved)
    assert all(8 <= int(p["n_estimators"]) <= 1000 for p in moved)
    assert all(0.01 <= float(p["learning_rate"]) <= 0.5 for p in moved)
    assert all(p != start for p in moved)
    # Near: on a log scale most learning rates stay within a factor of two of the start's.
    rates = np.array([float(p["learning_rate"]) for p in moved])
    assert np.mean(np.abs(np.log(rates / 0.15)) < np.log(2)) > 0.6
    again = [neighbour(start, define, np.random.default_rng(0)) for _ in range(1)]
    assert again[0] == moved[0]  # seeded: the same generator gives the same neighbour
