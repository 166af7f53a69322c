"""The conditional space, the pipeline builder and the adaptive sampler (no sweep)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from hpt.automl.pipeline import build_pipeline, describe
from hpt.automl.sampler import AutoMLSampler
from hpt.automl.space import FAMILIES, default_pipeline, resolve_models, sqrt_feature_fraction
from hpt.errors import ConfigError
from hpt.space import SearchSpace
from hpt.trial import TrialRecord, TrialStatus

SPACE = SearchSpace.from_config({"model": ["x"]})


def sampler(models: list[str], **kwargs: object) -> AutoMLSampler:
    return AutoMLSampler(SPACE, 3, task="classification", models=models, **kwargs)  # type: ignore[arg-type]


def record(
    number: int,
    params: dict[str, object],
    value: float | None,
    status: TrialStatus = TrialStatus.COMPLETED,
) -> TrialRecord:
    return TrialRecord(f"{number:04d}", number, params, status, value=value)


def test_every_family_builds_and_fits_for_its_tasks() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    y_class = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int)
    for family, (_, _, tasks) in FAMILIES.items():
        for task in tasks:
            params = default_pipeline(family, task, preprocess=True)
            params = json.loads(json.dumps(params))  # what the journal gives back
            params.update({k: 5 for k in ("n_estimators", "max_iter") if k in params})
            pipeline = build_pipeline(params, task, seed=0)
            y = y_class if task == "classification" else X[:, 0] * 2.0
            with threadpool_limits(limits=1):
                pipeline.fit(X, y)
            out = pipeline.predict_proba(X) if task == "classification" else pipeline.predict(X)
            assert len(out) == 90, family


def test_every_family_fits_sparse_data() -> None:
    """TalkingData's features are a sparse matrix: no family may fail on one (scikit-learn's
    histogram gradient boosting needs dense input and gets it)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    dense = rng.normal(size=(90, 6)) * (rng.random((90, 6)) < 0.3)
    X = sp.csr_matrix(dense)
    y_class = (dense[:, 0] > 0).astype(int) + (dense[:, 1] > 0).astype(int)
    for family, (_, _, tasks) in FAMILIES.items():
        for task in tasks:
            params = default_pipeline(family, task, preprocess=False)
            params.update({k: 5 for k in ("n_estimators", "max_iter") if k in params})
            pipeline = build_pipeline(params, task, seed=0, sparse=True)
            y = y_class if task == "classification" else dense[:, 0] * 2.0
            with threadpool_limits(limits=1):
                pipeline.fit(X, y)
            out = pipeline.predict_proba(X) if task == "classification" else pipeline.predict(X)
            assert len(out) == 90, family


def test_mixed_data_is_imputed_and_one_hot_encoded() -> None:
    frame = pd.DataFrame(
        {"a": [1.0, np.nan, 3.0, 4.0] * 10, "colour": ["red", "blue", None, "red"] * 10}
    )
    y = np.array([0, 1, 0, 1] * 10)
    params = default_pipeline("logistic_regression", "classification", preprocess=True)
    pipeline = build_pipeline(params, "classification", mixed=True).fit(frame, y)
    assert pipeline.predict_proba(frame).shape == (40, 2)


def test_pipeline_names_read_like_the_seed() -> None:
    assert describe({"model": "xgboost", "scaler": "standard"}) == "StandardScaler XGBoost"
    assert describe({"model": "knn", "scaler": "normalizer"}) == "Normalizer KNN"
    assert describe({"model": "random_forest", "scaler": "none"}) == "RandomForest"


def test_allowed_and_blocked_models() -> None:
    assert resolve_models("classification", ["knn", "svm"], ["svm"]) == ["knn"]
    assert "logistic_regression" not in resolve_models("regression", None, None)
    with pytest.raises(ConfigError, match="did you mean xgboost"):
        resolve_models("classification", ["xgbost"], None)
    with pytest.raises(ConfigError, match="every model is blocked"):
        resolve_models("classification", ["knn"], ["knn"])
    with pytest.raises(ConfigError, match="not a classification model"):
        resolve_models("classification", ["linear_regression"], None)


def test_warm_start_then_only_allowed_families() -> None:
    models = ["knn", "decision_tree"]
    s = sampler(models)
    history: list[TrialRecord] = []
    for n in range(8):
        params = s.suggest(n, history)
        assert params is not None and params["model"] in models
        history.append(record(n, params, 0.5 + 0.01 * n))
    assert [h.params["model"] for h in history[:2]] == models  # the defaults come first


def test_proposals_are_rebuilt_from_history_alone() -> None:
    models = ["knn", "logistic_regression", "decision_tree"]
    history = [
        record(n, p, v)
        for n, (p, v) in enumerate(
            (default_pipeline(m, "classification", False), v)
            for m, v in zip(models * 2, [0.7, 0.9, 0.6, 0.72, 0.91, 0.61], strict=True)
        )
    ]
    first = sampler(models).suggest(6, history)
    again = sampler(models).suggest(6, history)  # a fresh instance: nothing kept in memory
    assert first == again
    assert sampler(models).suggest(7, history) != first  # seeded per trial number


def test_pending_points_are_not_proposed_again() -> None:
    models = ["knn"]
    s = sampler(models, search="random")
    history: list[TrialRecord] = []
    seen = set()
    for n in range(15):
        params = s.suggest(n, history)
        assert params is not None
        key = json.dumps(params, sort_keys=True)
        assert key not in seen
        seen.add(key)
        history.append(record(n, params, None, TrialStatus.RUNNING))


def test_the_search_learns_which_family_works() -> None:
    """After each family was seen, TPE proposes the one that scored well far more often."""
    models = ["logistic_regression", "decision_tree", "knn"]
    s = sampler(models)
    score = {"logistic_regression": 0.95, "decision_tree": 0.55, "knn": 0.60}
    history: list[TrialRecord] = []
    for n in range(40):
        params = s.suggest(n, history)
        assert params is not None
        noise = 0.01 * ((n * 7) % 5)
        history.append(record(n, params, score[str(params["model"])] - noise))
    late = Counter(str(r.params["model"]) for r in history[20:])
    assert late["logistic_regression"] >= 12, late


def test_failed_and_timed_out_trials_count_as_the_worst() -> None:
    models = ["logistic_regression", "knn"]
    s = sampler(models)
    history = [record(0, default_pipeline("logistic_regression", "classification", False), 0.8)]
    history.append(
        record(1, default_pipeline("knn", "classification", False), None, TrialStatus.TIMED_OUT)
    )
    trials = s._replayed(history, 2)
    assert [t.value for t in trials] == [0.8, 0.8]


def test_the_sqrt_feature_fraction_stays_within_the_forests_space() -> None:
    assert sqrt_feature_fraction(1515) == pytest.approx(0.0257)
    assert sqrt_feature_fraction(1) == 1.0
    assert sqrt_feature_fraction(10**6) == 0.02  # the space's low bound
    params = default_pipeline("extra_trees", "classification", False, n_features=400)
    assert params["max_features"] == pytest.approx(0.05)  # wide data: the sqrt rule
    narrow = default_pipeline("extra_trees", "classification", False, n_features=40)
    assert narrow["max_features"] == 0.3  # narrow data: the sqrt rule would read 16 %
    assert (
        default_pipeline("extra_trees", "regression", False, n_features=400)["max_features"] == 0.5
    )
    assert default_pipeline("random_forest", "classification", False, 100)["max_features"] == 0.25


def test_the_warm_start_scales_sparse_data_by_max_abs() -> None:
    for family in ("logistic_regression", "sgd", "svm", "knn", "linear_regression"):
        assert default_pipeline(family, "classification", False)["scaler"] == "standard"
        assert default_pipeline(family, "classification", False, sparse=True)["scaler"] == "maxabs"
    assert default_pipeline("xgboost", "classification", False, sparse=True)["scaler"] == "none"
