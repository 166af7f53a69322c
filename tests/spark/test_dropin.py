"""``hpt.spark``: the spark-sklearn drop-in gives scikit-learn's results, on hpt's Spark engine."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import loguniform, randint
from sklearn.base import clone
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV as SklearnGridSearchCV
from sklearn.model_selection import RandomizedSearchCV as SklearnRandomizedSearchCV
from sklearn.model_selection import StratifiedKFold
from xgboost import XGBClassifier

from hpt.errors import TrialError
from hpt.spark import GridSearchCV, RandomizedSearchCV

pytestmark = pytest.mark.spark

XGB_GRIDS: dict[str, Any] = {
    "dict": {"max_depth": [2, 3], "n_estimators": [5, 10], "learning_rate": [0.3]},
    "list_of_dicts": [
        {"max_depth": [2, 3], "n_estimators": [5, 10]},
        {"learning_rate": [0.1], "n_estimators": [8]},
    ],
}


def assert_same_cv_results(ours: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every key of scikit-learn's ``cv_results_``; scores to 1e-9, ranks and params exactly."""
    assert list(ours) == list(expected)
    for key, value in expected.items():
        if key.endswith("_time"):
            assert np.shape(ours[key]) == np.shape(value), key
        elif key == "params":
            assert ours[key] == value
        elif key.startswith("param_"):
            assert isinstance(ours[key], np.ma.MaskedArray), key
            assert ours[key].dtype == value.dtype, key
            assert list(ours[key].mask) == list(value.mask), key
            assert ours[key].tolist() == value.tolist(), key
        elif key.startswith("rank_"):
            assert ours[key].dtype == value.dtype
            assert list(ours[key]) == list(value), key
        else:
            np.testing.assert_allclose(ours[key], value, rtol=0, atol=1e-9, err_msg=key)


@pytest.mark.parametrize("grid", list(XGB_GRIDS), ids=list(XGB_GRIDS))
def test_grid_search_equals_scikit_learn(spark_local_context: Any, grid: str) -> None:
    X, y = load_wine(return_X_y=True)
    estimator = XGBClassifier(random_state=0, n_jobs=1)
    cv = StratifiedKFold(4, shuffle=True, random_state=3)
    kwargs: dict[str, Any] = {"scoring": "neg_log_loss", "cv": cv, "return_train_score": True}
    ours = GridSearchCV(spark_local_context, estimator, XGB_GRIDS[grid], **kwargs).fit(X, y)
    expected = SklearnGridSearchCV(estimator, XGB_GRIDS[grid], **kwargs).fit(X, y)
    assert_same_cv_results(ours.cv_results_, expected.cv_results_)
    assert ours.best_index_ == expected.best_index_
    assert ours.best_params_ == expected.best_params_
    assert ours.best_score_ == pytest.approx(expected.best_score_, abs=1e-12)
    assert ours.n_splits_ == expected.n_splits_ == 4
    assert ours.refit_time_ >= 0 and ours.multimetric_ is False
    assert ours.scorer_._score_func is expected.scorer_._score_func
    np.testing.assert_array_equal(ours.predict_proba(X), expected.predict_proba(X))
    assert ours.score(X, y) == pytest.approx(expected.score(X, y), abs=1e-12)
    assert list(ours.classes_) == [0, 1, 2]


def test_seed_call_form_by_keyword(spark_local_context: Any, tmp_path: Path) -> None:
    """The seed's distributed_sweep.py with only its import line changed (smaller grid)."""
    from pyspark import SparkContext

    from hpt.data import talkingdata

    raw = talkingdata.load_raw(talkingdata.generate(tmp_path / "td", 600, seed=0))
    X_train, y_train, _ = talkingdata.build_features(raw, talkingdata.SMALL_FEATURE_SETS)

    # -- the seed's code, from here on -------------------------------------------------------
    sc = SparkContext.getOrCreate()
    tuned_parameters = [
        {
            "n_estimators": [3, 4],
            "max_depth": [3, 4],
            "objective": ["multi:softprob"],
            "reg_alpha": [1],
            "reg_lambda": [1],
            "colsample_bytree": [1],
            "learning_rate": [0.1],
            "colsample_bylevel": [0.1],
            "subsample": [0.5],
        }
    ]
    clf = XGBClassifier(seed=0)
    metric = "neg_log_loss"
    clf_cv = GridSearchCV(sc=sc, param_grid=tuned_parameters, estimator=clf, scoring=metric, cv=5)
    model = clf_cv.fit(X_train, y_train)
    outfile = open(tmp_path / "sweeping_results.txt", "w")
    print("metric = ", metric, file=outfile)
    for i in range(len(model.grid_scores_)):
        print(model.grid_scores_[i], file=outfile)
    outfile.close()
    # -----------------------------------------------------------------------------------------

    assert sc is spark_local_context and model is clf_cv
    lines = (tmp_path / "sweeping_results.txt").read_text().splitlines()
    assert lines[0] == "metric =  neg_log_loss" and len(lines) == 5
    means = clf_cv.cv_results_["mean_test_score"]
    for line, mean, params in zip(lines[1:], means, clf_cv.cv_results_["params"], strict=True):
        assert line.startswith(f"mean: {mean:.5f}, std: ") and line.endswith(f"params: {params}")
    expected = SklearnGridSearchCV(
        XGBClassifier(seed=0, n_jobs=1), tuned_parameters, scoring=metric, cv=5
    ).fit(X_train, y_train)
    np.testing.assert_allclose(means, expected.cv_results_["mean_test_score"], rtol=0, atol=1e-9)
    assert clf_cv.best_params_ == expected.best_params_
    assert clf_cv.best_estimator_.get_params()["n_jobs"] is None  # refit as the user gave it


def test_randomized_search_equals_scikit_learn(spark_local_context: Any) -> None:
    X, y = load_iris(return_X_y=True)
    estimator = LogisticRegression(max_iter=500)
    distributions = [
        {"C": loguniform(1e-3, 1e2), "fit_intercept": [True, False]},
        {"C": randint(1, 5), "tol": [1e-3, 1e-4]},
    ]
    kwargs: dict[str, Any] = {"n_iter": 6, "random_state": 7, "cv": 3, "scoring": "accuracy"}
    ours = RandomizedSearchCV(spark_local_context, estimator, distributions, **kwargs).fit(X, y)
    expected = SklearnRandomizedSearchCV(estimator, distributions, **kwargs).fit(X, y)
    assert_same_cv_results(ours.cv_results_, expected.cv_results_)
    assert ours.best_params_ == expected.best_params_


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_failing_candidates_follow_error_score(spark_local_context: Any) -> None:
    X, y = load_iris(return_X_y=True)
    estimator = LogisticRegression(max_iter=500)
    grid = {"C": [1.0, -1.0, 0.1]}
    with pytest.warns(FitFailedWarning, match="3 fits failed out of a total of 9"):
        ours = GridSearchCV(spark_local_context, estimator, grid, cv=3).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = SklearnGridSearchCV(estimator, grid, cv=3).fit(X, y)
    assert_same_cv_results(ours.cv_results_, expected.cv_results_)
    assert np.isnan(ours.cv_results_["mean_test_score"][1])
    with pytest.raises(TrialError, match="InvalidParameterError"):
        GridSearchCV(spark_local_context, estimator, grid, cv=3, error_score="raise").fit(X, y)
    with pytest.raises(ValueError, match="All the 3 fits failed"):
        GridSearchCV(spark_local_context, estimator, {"C": [-1.0]}, cv=3).fit(X, y)


def test_is_a_scikit_learn_estimator(spark_local_context: Any) -> None:
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(
        sc=spark_local_context,
        estimator=LogisticRegression(max_iter=500),
        param_grid={"C": [0.1, 1.0]},
        n_jobs=1,  # one candidate at a time
        refit=False,
    )
    params = search.get_params()
    assert params["sc"] is spark_local_context and params["estimator__C"] == 1.0
    copy = clone(search)
    assert copy.sc is spark_local_context and copy.param_grid == search.param_grid
    assert copy.estimator is not search.estimator
    copy.set_params(estimator__C=2.0, cv=4)
    copy.fit(X, y)
    assert copy.n_splits_ == 4 and not hasattr(copy, "best_estimator_")
    assert copy.best_params_ in ({"C": 0.1}, {"C": 1.0})
    with pytest.raises(AttributeError, match="predict"):
        copy.predict(X)
    with pytest.raises(TypeError, match="sample_weight"):
        clone(search).fit(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match="'cv' parameter"):
        GridSearchCV(spark_local_context, LogisticRegression(), {"C": [1.0]}, cv="five").fit(X, y)


def test_drop_in_on_the_standalone_cluster(spark_cluster_context: Any) -> None:
    X, y = load_wine(return_X_y=True)
    estimator = XGBClassifier(random_state=0, n_jobs=1)
    grid = XGB_GRIDS["list_of_dicts"]
    ours = GridSearchCV(spark_cluster_context, estimator, grid, scoring="neg_log_loss").fit(X, y)
    expected = SklearnGridSearchCV(estimator, grid, scoring="neg_log_loss").fit(X, y)
    assert_same_cv_results(ours.cv_results_, expected.cv_results_)
    assert ours.best_params_ == expected.best_params_
