"""The Python API and the files it writes are one code path: what ``tune`` returns is what
``cv_results.csv`` says (train scores included)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import hpt


def test_tune_returns_exactly_the_cv_results_it_writes(tmp_path: Path) -> None:
    result = hpt.tune(
        {
            "dataset": {"kind": "sklearn", "name": "iris"},
            "features": {"sets": None},
            "model": {"_target_": "sklearn.tree.DecisionTreeClassifier", "random_state": 0},
            "search_space": {"max_depth": [1, 2, 3]},
            "metric": {"primary_metric": "accuracy", "goal": "maximize"},
            "cv": {"n_splits": 3, "return_train_score": True},
            "resources": {"max_concurrent_runs": 2},
            "refit": False,
        },
        run_dir=tmp_path / "run",
    )
    with open(tmp_path / "run" / "cv_results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    written = {name: [row[name] for row in rows] for name in rows[0]}
    returned = result.cv_results_
    assert list(written) == list(returned)
    assert "mean_train_score" in returned and "split2_train_score" in returned
    for name, column in returned.items():
        for text, value in zip(written[name], column, strict=True):
            if isinstance(value, float) and not math.isnan(value):
                assert float(text) == value, name
            elif isinstance(value, dict):
                assert text.startswith("{")
            else:
                assert text == ("" if isinstance(value, float) else str(value)), name
    assert result.best_index_ == returned["trial_id"].index(result.best_trial_id)
