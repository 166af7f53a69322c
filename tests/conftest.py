"""Shared fixtures: small configs that run in seconds on 2 cores."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_data_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated datasets go to a per-session cache, never to the user's home."""
    home = os.environ.get("HPT_TEST_DATA_DIR") or str(tmp_path_factory.getbasetemp() / "hpt-data")
    monkeypatch.setenv("HPT_DATA_DIR", home)


def xgb_wine_config(**overrides: Any) -> dict[str, Any]:
    """XGBoost on scikit-learn's wine data: a 4-configuration grid, 5 folds, ~1 s per trial."""
    cfg: dict[str, Any] = {
        "dataset": {"kind": "sklearn", "name": "wine"},
        "features": {"sets": None},
        "model": {"_target_": "xgboost.XGBClassifier", "random_state": 0, "n_jobs": 1},
        "search_space": {"n_estimators": [5, 10], "max_depth": [2, 3], "learning_rate": [0.3]},
        "metric": {"primary_metric": "neg_log_loss", "goal": "maximize"},
        "resources": {"max_concurrent_runs": 2},
        "refit": True,
    }
    for key, value in overrides.items():
        cfg[key] = value
    return cfg
