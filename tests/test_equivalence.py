"""hpt's cv_results equal scikit-learn's GridSearchCV for the same estimator, grid, data and folds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from xgboost import XGBClassifier

import hpt
from tests.conftest import xgb_wine_config


def _sklearn_results(shuffle: bool) -> dict:
    X, y = load_wine(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=7) if shuffle else 5
    search = GridSearchCV(
        XGBClassifier(random_state=0, n_jobs=1),
        {"n_estimators": [5, 10], "max_depth": [2, 3], "learning_rate": [0.3]},
        scoring="neg_log_loss",
        cv=cv,
    )
    search.fit(X, y)
    return search.cv_results_


@pytest.mark.parametrize("shuffle", [False, True])
def test_cv_results_equal_gridsearchcv(tmp_path: Path, shuffle: bool) -> None:
    cv = {"n_splits": 5, "shuffle": shuffle, "seed": 7}
    result = hpt.tune(xgb_wine_config(cv=cv), run_dir=tmp_path / "run")
    expected = _sklearn_results(shuffle)
    ours = result.cv_results_
    assert [dict(p) for p in ours["params"]] == [dict(p) for p in expected["params"]]
    for key in ["mean_test_score", "std_test_score"] + [f"split{k}_test_score" for k in range(5)]:
        np.testing.assert_allclose(ours[key], expected[key], rtol=0, atol=1e-9, err_msg=key)
    assert list(ours["rank_test_score"]) == list(expected["rank_test_score"])
    best = int(np.argmin(expected["rank_test_score"]))
    assert result.best_params_ == expected["params"][best]
    assert result.best_score_ == pytest.approx(expected["mean_test_score"][best], abs=1e-12)
    assert result.best_estimator_ is not None


def test_csv_file_matches_result_object(tmp_path: Path) -> None:
    result = hpt.tune(xgb_wine_config(), run_dir=tmp_path / "run")
    with open(tmp_path / "run" / "cv_results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    header = list(rows[0])
    for column in [
        "params",
        "param_n_estimators",
        "param_max_depth",
        "split0_test_score",
        "split4_test_score",
        "mean_test_score",
        "std_test_score",
        "rank_test_score",
        "mean_fit_time",
        "std_fit_time",
        "mean_score_time",
        "std_score_time",
        "trial_id",
        "status",
    ]:
        assert column in header, column
    for row, mean, rank in zip(
        rows,
        result.cv_results_["mean_test_score"],
        result.cv_results_["rank_test_score"],
        strict=True,
    ):
        assert float(row["mean_test_score"]) == mean  # repr round-trips floats exactly
        assert int(row["rank_test_score"]) == rank
        assert row["status"] == "completed"
        assert json.loads(row["params"]) == {k: v for k, v in json.loads(row["params"]).items()}
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["best_params"] == result.best_params_
    assert best["trial_id"] == result.best_trial_id
    lines = (tmp_path / "run" / "sweeping_results.txt").read_text().splitlines()
    assert lines[0] == "metric =  neg_log_loss"
    assert len(lines) == 5
    assert lines[1].startswith("mean: -") and ", std: " in lines[1] and ", params: {" in lines[1]
