"""Cost-frugal proposals: growth and allowance caps, costly families skipped (no sweep)."""

from __future__ import annotations

import pytest

from hpt.automl.costs import GROWTH, CostModel, allowance_seconds
from hpt.automl.sampler import AutoMLSampler
from hpt.automl.space import default_pipeline
from hpt.space import SearchSpace
from hpt.trial import FoldResult, TrialRecord, TrialStatus

SPACE = SearchSpace.from_config({"model": ["x"]})


def timed(
    number: int,
    params: dict[str, object],
    seconds_per_fold: float,
    folds: int = 5,
    status: TrialStatus = TrialStatus.COMPLETED,
) -> TrialRecord:
    done = tuple(FoldResult(k, 0.7, seconds_per_fold, 0.0) for k in range(folds))
    return TrialRecord(f"{number:04d}", number, params, status, folds=done, value=0.7)


def forest(n_estimators: int, max_features: float = 0.5) -> dict[str, object]:
    return {
        **default_pipeline("extra_trees", "classification", False),
        "n_estimators": n_estimators,
        "max_features": max_features,
    }


def test_the_allowance_is_a_share_of_the_budget_within_the_iteration_timeout() -> None:
    assert allowance_seconds(1.0, 2, None) == pytest.approx(24.0)  # 20 % of 120 worker-s
    assert allowance_seconds(1.0, 2, 0.1) == pytest.approx(4.8)  # 80 % of a 6 s timeout
    assert allowance_seconds(None, None, None) is None


def test_a_family_grows_at_most_twice_its_largest_completed_size() -> None:
    assert CostModel([], None).frugal(forest(500))["n_estimators"] == 40  # the default first
    history = [timed(0, forest(40), 0.1)]
    assert CostModel(history, None).frugal(forest(500))["n_estimators"] == 40 * GROWTH
    assert CostModel(history, None).frugal(forest(30))["n_estimators"] == 30  # small: kept


def test_the_measured_rate_caps_the_size_within_the_allowance() -> None:
    # 40 trees reading half the features took 5 x 2 s: 0.5 s per tree-of-all-features.
    history = [timed(0, forest(40, 0.5), 2.0), timed(1, forest(80, 0.5), 4.0)]
    assert CostModel(history, 5.0).frugal(forest(500, 0.5))["n_estimators"] == 20
    assert CostModel(history, 5.0).frugal(forest(500, 0.25))["n_estimators"] == 40
    assert CostModel(history, 0.01).frugal(forest(500))["n_estimators"] == 10  # the space's low
    assert CostModel(history, None).frugal(forest(500))["n_estimators"] == 160


def test_a_stopped_trial_counts_extrapolated_to_every_fold() -> None:
    history = [
        timed(0, forest(40), 0.1),
        timed(1, forest(80), 10.0, folds=1, status=TrialStatus.TERMINATED),
    ]
    model = CostModel(history, None)
    assert model.families["extra_trees"].largest == 40  # only completed sizes let it grow
    assert model.families["extra_trees"].cheapest == pytest.approx(0.5)
    assert max(model.families["extra_trees"].rates) == pytest.approx(50.0 / 40)


def test_a_sizeless_family_slower_than_the_allowance_is_not_proposed_again() -> None:
    svm = default_pipeline("svm", "classification", False)
    knn = default_pipeline("knn", "classification", False)
    history = [timed(0, knn, 0.1), timed(1, svm, 6.0)]
    assert not CostModel(history, 24.0).affordable(svm)  # 30 s > 24 s
    assert CostModel(history, 24.0).affordable(knn)
    assert CostModel(history, None).affordable(svm)  # no budget: anything goes

    sampler = AutoMLSampler(SPACE, 3, task="classification", models=["svm", "knn"], allowance=24.0)
    proposed = [sampler.suggest(n, history) for n in range(2, 12)]
    assert all(p is not None and p["model"] == "knn" for p in proposed), proposed


def test_svm_is_left_out_of_the_warm_start_but_stays_searchable() -> None:
    sampler = AutoMLSampler(SPACE, 3, task="classification", models=["svm", "knn"])
    assert sampler.warm_start == ["knn"]
    assert sampler.suggest(0, []) == default_pipeline("knn", "classification", False)
    only_svm = AutoMLSampler(SPACE, 3, task="classification", models=["svm"])
    assert only_svm.warm_start == ["svm"]  # when it is all there is, it starts


def test_a_deeper_boosted_tree_counts_as_more_work() -> None:
    def xgb(n_estimators: int, max_depth: int) -> dict[str, object]:
        params = default_pipeline("xgboost", "classification", False)
        return {**params, "n_estimators": n_estimators, "max_depth": max_depth}

    # 40 depth-4 trees took 5 x 2 s: a depth-8 tree costs twice as much, so half as many fit.
    history = [timed(0, xgb(40, 4), 2.0)]
    assert CostModel(history, 10.0).frugal(xgb(500, 4))["n_estimators"] == 40
    assert CostModel(history, 10.0).frugal(xgb(500, 8))["n_estimators"] == 20

    def lgbm(num_leaves: int) -> dict[str, object]:
        params = default_pipeline("lightgbm", "classification", False)
        return {**params, "n_estimators": 500, "num_leaves": num_leaves}

    # Leaf-wise trees count their levels: 256 leaves is twice the work of 16.
    history = [timed(0, {**lgbm(16), "n_estimators": 40}, 2.0)]
    assert CostModel(history, 10.0).frugal(lgbm(16))["n_estimators"] == 40
    assert CostModel(history, 10.0).frugal(lgbm(256))["n_estimators"] == 20
