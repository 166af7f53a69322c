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
from sklearn.utils._param_validation import InvalidParameterError
from xgboost import XGBClassifier

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
    # error_score="raise": the worker's own exception, raised on the driver as it was.
    with pytest.raises(InvalidParameterError, match="'C' parameter of LogisticRegression"):
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


# -- everything scikit-learn's searches do ---------------------------------------------------
def _multi_scorer(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    """A callable returning several scores (scikit-learn's dict-returning scorer form)."""
    predicted = estimator.predict(X)
    return {"accuracy": float(np.mean(predicted == y)), "errors": float(np.sum(predicted != y))}


def _lowest_std(results: dict[str, Any]) -> int:
    """``refit`` as a callable: the candidate whose accuracy varies least over the folds."""
    return int(np.argmin(results["std_test_accuracy"]))


class ShippedEstimator(LogisticRegression):  # a class of this test module, not importable there
    """LogisticRegression defined in a pytest test module."""


SCORING_FORMS: dict[str, dict[str, Any]] = {
    "tuple_refit_name": {"scoring": ("accuracy", "f1_macro"), "refit": "f1_macro"},
    "dict_no_refit": {
        "scoring": {"acc": "accuracy", "nll": "neg_log_loss"},
        "refit": False,
        "return_train_score": True,
    },
    "callable_dict_refit_callable": {"scoring": _multi_scorer, "refit": _lowest_std},
}


@pytest.mark.parametrize("form", list(SCORING_FORMS), ids=list(SCORING_FORMS))
def test_multimetric_scoring_equals_scikit_learn(spark_local_context: Any, form: str) -> None:
    X, y = load_iris(return_X_y=True)
    kwargs = {"cv": 3, **SCORING_FORMS[form]}
    estimator, grid = LogisticRegression(max_iter=300), {"C": [0.05, 1.0, 20.0]}
    ours = GridSearchCV(spark_local_context, estimator, grid, **kwargs).fit(X, y)
    expected = SklearnGridSearchCV(estimator, grid, **kwargs).fit(X, y)
    assert_same_cv_results(ours.cv_results_, expected.cv_results_)
    assert ours.multimetric_ is expected.multimetric_ is True
    for name in ("best_index_", "best_score_", "best_params_"):
        assert getattr(ours, name, None) == getattr(expected, name, None), name
    assert hasattr(ours, "refit_time_") == hasattr(expected, "refit_time_")
    assert type(ours.scorer_) is type(expected.scorer_)
    if isinstance(expected.scorer_, dict):
        assert list(ours.scorer_) == list(expected.scorer_)


def test_fit_params_groups_and_metadata_routing(spark_local_context: Any) -> None:
    import sklearn
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import GroupKFold

    X, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    weight, groups = rng.uniform(0.2, 3.0, len(y)), rng.integers(0, 5, len(y))
    grid = {"C": [0.1, 1.0]}
    kwargs: dict[str, Any] = {"scoring": ["accuracy", "neg_log_loss"], "refit": "accuracy"}
    kwargs["cv"] = GroupKFold(3)
    estimator = LogisticRegression(max_iter=300)
    ours = GridSearchCV(spark_local_context, estimator, grid, **kwargs)
    ours.fit(X, y, sample_weight=weight, groups=groups)
    expected = SklearnGridSearchCV(estimator, grid, **kwargs)
    expected.fit(X, y, sample_weight=weight, groups=groups)
    assert_same_cv_results(ours.cv_results_, expected.cv_results_)
    # With metadata routing on, the weight goes where the estimator and scorer ask for it.
    with sklearn.config_context(enable_metadata_routing=True):
        routed = LogisticRegression(max_iter=300).set_fit_request(sample_weight=True)
        scorer = get_scorer("accuracy").set_score_request(sample_weight=True)
        kwargs = {"scoring": scorer, "cv": GroupKFold(3)}
        ours = GridSearchCV(spark_local_context, routed, grid, **kwargs)
        ours.fit(X, y, sample_weight=weight, groups=groups)
        expected = SklearnGridSearchCV(routed, grid, **kwargs)
        expected.fit(X, y, sample_weight=weight, groups=groups)
    assert_same_cv_results(ours.cv_results_, expected.cv_results_)
    unweighted = SklearnGridSearchCV(estimator, grid, cv=GroupKFold(3)).fit(X, y, groups=groups)
    assert not np.allclose(
        ours.cv_results_["mean_test_score"], unweighted.cv_results_["mean_test_score"]
    )


def test_each_fit_gets_x_in_the_type_given(spark_local_context: Any) -> None:
    import pandas as pd
    import scipy.sparse as sp

    from tests.sklearn_api._models import frame_pipeline

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {"a": rng.normal(size=90), "b": rng.normal(size=90), "color": rng.choice(["r", "g"], 90)}
    )
    y = ((frame["a"] > 0) ^ (frame["color"] == "r")).to_numpy().astype(int)
    grid = {"model__C": [0.1, 10.0]}
    ours = GridSearchCV(spark_local_context, frame_pipeline(), grid, cv=3).fit(frame, y)
    expected = SklearnGridSearchCV(frame_pipeline(), grid, cv=3).fit(frame, y)
    assert_same_cv_results(ours.cv_results_, expected.cv_results_)
    assert list(ours.feature_names_in_) == ["a", "b", "color"]
    X, y_iris = load_iris(return_X_y=True)
    for given in (X.tolist(), sp.csr_matrix(X)):
        grid = {"C": [1.0]}
        ours = GridSearchCV(spark_local_context, LogisticRegression(max_iter=300), grid, cv=3)
        expected = SklearnGridSearchCV(LogisticRegression(max_iter=300), grid, cv=3)
        ours.fit(given, y_iris)
        expected.fit(given, y_iris)
        assert_same_cv_results(ours.cv_results_, expected.cv_results_)


def test_unsupervised_search(spark_local_context: Any) -> None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    X, _ = load_iris(return_X_y=True)

    def silhouette(estimator: Any, X: Any, y: Any = None) -> float:
        return float(silhouette_score(X, estimator.predict(X)))

    grid = {"n_clusters": [2, 3, 4]}
    for scoring in (None, silhouette):
        estimator = KMeans(n_init=2, random_state=0)
        ours = GridSearchCV(spark_local_context, estimator, grid, scoring=scoring, cv=3).fit(X)
        expected = SklearnGridSearchCV(estimator, grid, scoring=scoring, cv=3).fit(X)
        assert_same_cv_results(ours.cv_results_, expected.cv_results_)
        assert ours.best_params_ == expected.best_params_


def test_warnings_and_verbose_lines_are_scikit_learns(
    spark_local_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    X, y = load_iris(return_X_y=True)
    grid = {"C": [1.0, -1.0]}
    estimator = LogisticRegression(max_iter=300)
    with pytest.warns(FitFailedWarning) as ours_warned:
        GridSearchCV(spark_local_context, estimator, grid, cv=3, verbose=3).fit(X, y)
    ours_out = capsys.readouterr().out
    with pytest.warns(FitFailedWarning) as expected_warned:
        SklearnGridSearchCV(estimator, grid, cv=3, verbose=3).fit(X, y)
    expected_out = capsys.readouterr().out

    def fit_failed(record: Any) -> str:
        (text,) = [str(w.message) for w in record if w.category is FitFailedWarning]
        return re.sub(r'File ".*?", line \d+', "File", text)  # the summarised tracebacks

    assert fit_failed(ours_warned) == fit_failed(expected_warned)
    assert "3 fits failed out of a total of 6" in fit_failed(ours_warned)

    def lines(text: str) -> list[str]:
        return sorted(re.sub(r"total time=\s*[\d.]+s", "", line) for line in text.splitlines())

    assert lines(ours_out) == lines(expected_out)
    assert re.search(r"\[CV 3/3\] END \.+C=1.0;, score=0.980 total time=", ours_out)


def test_the_users_own_classes_reach_the_executors(
    spark_local_context: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    # A project module next to the script: importable on the driver only.
    (tmp_path / "mod_est_dropin.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n\n"
        "OFFSET = 0.5\n\n"
        "class ProjectEstimator(LogisticRegression):\n"
        "    def score(self, X, y):\n"
        "        return super().score(X, y) - OFFSET\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("mod_est_dropin")
    X, y = load_iris(return_X_y=True)
    grid = {"C": [1.0]}
    ours = GridSearchCV(spark_local_context, module.ProjectEstimator(max_iter=300), grid, cv=2)
    expected = SklearnGridSearchCV(module.ProjectEstimator(max_iter=300), grid, cv=2)
    assert_same_cv_results(ours.fit(X, y).cv_results_, expected.fit(X, y).cv_results_)
    assert ours.cv_results_["mean_test_score"].max() < 0.5
    # A class of this test module, and one defined in the test itself.

    class LocalEstimator(LogisticRegression):
        pass

    for cls in (ShippedEstimator, LocalEstimator):
        ours = GridSearchCV(spark_local_context, cls(max_iter=300), grid, cv=2).fit(X, y)
        expected = SklearnGridSearchCV(cls(max_iter=300), grid, cv=2).fit(X, y)
        assert_same_cv_results(ours.cv_results_, expected.cv_results_)


def test_tune_multimetric_weighted_grouped_on_spark(
    spark_local_context: Any, tmp_path: Path
) -> None:
    """The ``cv`` trainer's metric.also / dataset.weight / cv.kind=group on compute=spark."""
    from sklearn.model_selection import GroupKFold

    import hpt
    from tests.sklearn_api.test_cv_options import (
        assert_same_scores,
        cv_config,
        sklearn_multimetric,
        weighted_grouped_table,
    )
    from tests.spark.conftest import spark_compute

    table, arrays = weighted_grouped_table(tmp_path)
    cfg = cv_config(table) | {"compute": spark_compute(str(spark_local_context.master))}
    result = hpt.tune(cfg, run_dir=tmp_path / "run")
    assert_same_scores(result.cv_results_, sklearn_multimetric(arrays, GroupKFold(3)))
