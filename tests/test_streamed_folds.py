"""Folds of a large dense table streamed to XGBoost in row chunks (hpt/trainers/_streamed.py).

The thresholds are lowered through the environment (``HPT_STREAM_BYTES``,
``HPT_STREAM_CHUNK_BYTES``) so that small bundled datasets take the streamed path, in several
chunks; the environment reaches the local launcher's worker processes too.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from xgboost import XGBClassifier, XGBRegressor

import hpt
from hpt.data._load import dtype_for
from hpt.trainers._boosting import fit_stoppable
from hpt.trainers._streamed import ChunkedPredictions, FoldRows, should_stream


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stream every dense table, 100 rows of 64 float64 columns per chunk."""
    monkeypatch.setenv("HPT_STREAM_BYTES", "1")
    monkeypatch.setenv("HPT_STREAM_CHUNK_BYTES", str(100 * 64 * 8))


def _digits_with_gaps() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float64)
    X[np.random.default_rng(0).random(X.shape) < 0.05] = np.nan  # missing values stream too
    return X, y


def test_dtype_auto_is_float32_for_xgboost_only() -> None:
    from omegaconf import OmegaConf
    from sklearn.linear_model import LogisticRegression

    auto = OmegaConf.create({"dtype": "auto"})
    assert dtype_for(auto, XGBClassifier()) == "float32"
    assert dtype_for(auto, XGBRegressor()) == "float32"
    assert dtype_for(auto, LogisticRegression()) == "float64"
    assert dtype_for(auto, None) == "float64"
    assert dtype_for(OmegaConf.create({"dtype": "float64"}), XGBClassifier()) == "float64"


def test_only_large_dense_tables_for_xgboost_are_streamed(small_chunks: None) -> None:
    X, _ = _digits_with_gaps()
    assert should_stream(X, "xgboost")
    assert not should_stream(X, "lightgbm") and not should_stream(X, None)
    assert not should_stream(X[:, 0], "xgboost")  # not a table
    rows = FoldRows(X, np.arange(0, len(X), 3))
    assert rows.chunk_rows() == 100 and rows.shape == (599, 64)
    assert sum(1 for _ in rows.spans()) == 6
    assert np.array_equal(
        np.concatenate([rows.take(s) for s in rows.spans()]), X[::3], equal_nan=True
    )


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (XGBClassifier, {"subsample": 0.6, "colsample_bylevel": 0.5, "max_bin": 32}),
        (XGBRegressor, {"subsample": 0.8, "colsample_bynode": 0.5}),
    ],
    ids=["classifier", "regressor-weighted"],
)
def test_a_streamed_fit_predicts_bit_for_bit_what_a_copied_fold_predicts(
    small_chunks: None, monkeypatch: pytest.MonkeyPatch, cls: Any, params: dict[str, Any]
) -> None:
    X, y = _digits_with_gaps()
    weight = None
    if cls is XGBRegressor:
        weight = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    train, test = next(StratifiedKFold(4).split(X, y))
    copies: list[int] = []
    original_take = FoldRows.take

    def counted_take(self: FoldRows, span: slice) -> np.ndarray:
        part = original_take(self, span)
        copies.append(len(part))
        return part

    def no_materialize(self: FoldRows) -> np.ndarray:
        raise AssertionError("a streamed fold was copied whole")

    monkeypatch.setattr(FoldRows, "take", counted_take)
    monkeypatch.setattr(FoldRows, "materialize", no_materialize)

    def fit(X_train: Any) -> Any:
        model = cls(n_estimators=20, max_depth=3, random_state=0, n_jobs=1, **params)
        fit_params = {} if weight is None else {"sample_weight": weight[train]}
        fit_stoppable(model, X_train, y[train], lambda: False, fit_params=fit_params)
        return model

    copied = fit(X[train])
    streamed = fit(FoldRows(X, train))
    assert copies and max(copies) <= 100  # never more than one chunk of rows at a time
    assert "_create_dmatrix" not in vars(streamed)  # the fitted model is a plain model again
    method = "predict_proba" if cls is XGBClassifier else "predict"
    expected = getattr(copied, method)(X[test])
    chunked = getattr(ChunkedPredictions(streamed), method)(FoldRows(X, test))
    assert np.array_equal(expected, chunked)


def _digits_config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    import pandas as pd

    X, y = _digits_with_gaps()
    path = tmp_path / "digits.csv"
    table = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(y=y)
    table.to_csv(path, index=False)
    return {
        "dataset": {"kind": "file", "path": str(path), "target": "y"},
        "features": {"sets": None},
        "model": {
            "_target_": "xgboost.XGBClassifier",
            "random_state": 0,
            "n_jobs": 1,
            "max_bin": 64,
        },
        "search_space": {"n_estimators": [4, 8], "max_depth": [2, 3], "subsample": [0.7]},
        "metric": {"primary_metric": "neg_log_loss", "goal": "maximize"},
        "cv": {"n_splits": 3},
        "resources": {"max_concurrent_runs": 2},
        "refit": False,
        **extra,
    }


def _gridsearch(cfg: dict[str, Any]) -> GridSearchCV:
    X, y = _digits_with_gaps()
    model = XGBClassifier(random_state=0, n_jobs=1, max_bin=64)
    search = GridSearchCV(model, cfg["search_space"], scoring="neg_log_loss", cv=3, refit=False)
    thread = threading.Thread(target=search.fit, args=(X, y))  # see test_shared_work._gridsearch
    thread.start()
    thread.join()
    return search


@pytest.mark.parametrize(
    "extra",
    [
        {},  # local worker processes, n_estimators nested (the shared fit is streamed)
        {"sweep": {"share_work": False}, "cv": {"n_splits": 3, "return_train_score": True}},
        {  # reports every 2 boosting rounds: the eval set streams too
            "policy": {
                "_target_": "hpt.policies.NoTerminationPolicy",
                "interval_unit": "round",
                "report_every": 2,
            }
        },
    ],
    ids=["shared", "unshared-train-scores", "round-reports"],
)
def test_a_streamed_sweep_equals_gridsearchcv(
    small_chunks: None, tmp_path: Path, extra: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    cfg = _digits_config(tmp_path, **extra)
    with caplog.at_level(logging.INFO, logger="hpt"):
        result = hpt.tune(cfg, run_dir=tmp_path / "run")
    # dataset.dtype=auto: float32 for an XGBoost model, with GridSearchCV's float64 scores.
    assert "1797 x 64 float32 table (0.00 GB) go to XGBoost in row chunks" in caplog.text
    search = _gridsearch(cfg)
    order = [search.cv_results_["params"].index(p) for p in result.cv_results_["params"]]
    for key in ("mean_test_score", *(f"split{k}_test_score" for k in range(3))):
        assert np.allclose(
            result.cv_results_[key], search.cv_results_[key][order], rtol=0, atol=1e-9
        ), key
    if "return_train_score" in str(extra):
        assert np.all(np.isfinite(result.cv_results_["mean_train_score"]))
    assert list(result.cv_results_["rank_test_score"]) == list(
        search.cv_results_["rank_test_score"][order]
    )
