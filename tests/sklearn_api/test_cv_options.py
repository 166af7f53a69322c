"""The ``cv`` trainer does what scikit-learn's searches do: several metrics, sample weights,
groups and the other splitters, a DataFrame with named and text columns, bad options refused."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from sklearn import model_selection as ms
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

import hpt
from hpt.errors import ConfigError
from hpt.experiment import Experiment
from hpt.trainers._splits import make_folds
from tests.cli_helpers import run_dirs, run_hpt

METRICS = ["neg_log_loss", "accuracy", "roc_auc"]
GRID = {"C": [0.1, 1.0]}


def weighted_grouped_table(directory: Path, n: int = 120) -> tuple[Path, dict[str, Any]]:
    """A binary problem with a weight and a group column, as a CSV file and as arrays."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + rng.normal(size=n) > 0).astype(int)
    weight = rng.uniform(0.5, 2.0, n)
    groups = rng.integers(0, 6, n)
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2"]).assign(w=weight, g=groups, y=y)
    path = directory / "table.csv"
    frame.to_csv(path, index=False)
    return path, {"X": X, "y": y, "sample_weight": weight, "groups": groups}


def sklearn_multimetric(arrays: dict[str, Any], cv: Any) -> dict[str, Any]:
    search = GridSearchCV(
        LogisticRegression(max_iter=1000),
        GRID,
        scoring=METRICS,
        refit="neg_log_loss",
        cv=cv,
        return_train_score=True,
    )
    search.fit(
        arrays["X"], arrays["y"], sample_weight=arrays["sample_weight"], groups=arrays["groups"]
    )
    return search.cv_results_


def assert_same_scores(ours: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every score and rank column of scikit-learn's multi-metric ``cv_results_``, to 1e-9."""
    keys = [k for k in expected if not k.endswith("_time") and not k.startswith("param")]
    assert len(keys) == 3 * (
        6 + 5
    )  # per metric: 3 test splits, mean, std, rank; 3 train, mean, std
    for key in keys:
        if key.startswith("rank_"):
            assert list(ours[key]) == list(expected[key]), key
        else:
            np.testing.assert_allclose(ours[key], expected[key], rtol=0, atol=1e-9, err_msg=key)


def cv_config(table: Path, **cv: Any) -> dict[str, Any]:
    return {
        "dataset": {
            "kind": "file",
            "path": str(table),
            "target": "y",
            "weight": "w",
            "groups": "g",
        },
        "features": {"sets": None},
        "model": {"_target_": "sklearn.linear_model.LogisticRegression", "max_iter": 1000},
        "search_space": GRID,
        "metric": {"primary_metric": "neg_log_loss", "also": METRICS[1:]},
        "cv": {"kind": "group", "n_splits": 3, "return_train_score": True, **cv},
        "resources": {"max_concurrent_runs": 2},
        "refit": True,
    }


def test_cli_multimetric_weighted_grouped_equals_gridsearchcv(tmp_path: Path) -> None:
    table, arrays = weighted_grouped_table(tmp_path)
    done = run_hpt(
        [
            "dataset=file",
            "features=none",
            f"dataset.path={table}",
            "dataset.target=y",
            "dataset.weight=w",
            "dataset.groups=g",
            "model=logistic",
            "search_space=logistic",
            "search_space.C=[0.1,1.0]",
            "sampler=grid",
            "metric=neg_log_loss",
            "metric.also=[accuracy,roc_auc]",
            "cv.kind=group",
            "cv.n_splits=3",
            "cv.return_train_score=true",
            "resources.max_concurrent_runs=2",
        ],
        tmp_path,
    )
    assert done.code == 0, done.stderr
    (run,) = run_dirs(tmp_path)
    with open(run / "cv_results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = sklearn_multimetric(arrays, ms.GroupKFold(3))
    ours = {
        k: np.array([float(r[k]) for r in rows]) for k in rows[0] if "test" in k or "train" in k
    }
    assert_same_scores(ours, expected)
    np.testing.assert_allclose(
        ours["mean_test_score"], expected["mean_test_neg_log_loss"], atol=1e-9
    )
    best = json.loads((run / "best.json").read_text())
    i = int(np.argmin(expected["rank_test_neg_log_loss"]))
    assert best["metrics"] == METRICS and best["best_params"] == expected["params"][i]
    for name in METRICS:
        assert best["best_scores"][name] == pytest.approx(
            expected[f"mean_test_{name}"][i], abs=1e-9
        )
    folds = [
        json.loads(line)
        for line in (run / "journal.jsonl").read_text().splitlines()
        if '"fold"' in line
    ]
    assert folds and all(
        set(f["test_scores"]) == set(METRICS) for f in folds if f["event"] == "fold"
    )


@pytest.mark.parametrize(
    ("kind", "splitter"),
    [
        ("kfold", ms.KFold(3, shuffle=True, random_state=4)),
        ("stratified", ms.StratifiedKFold(3, shuffle=True, random_state=4)),
        ("group", ms.GroupKFold(3)),
        ("stratified_group", ms.StratifiedGroupKFold(3, shuffle=True, random_state=4)),
        ("time_series", ms.TimeSeriesSplit(3)),
    ],
)
def test_cv_kinds_make_the_splitters_folds(kind: str, splitter: Any) -> None:
    rng = np.random.default_rng(1)
    X, y, groups = rng.normal(size=(60, 2)), rng.integers(0, 2, 60), rng.integers(0, 8, 60)
    shuffle = kind not in ("group", "time_series")
    cv = OmegaConf.create({"kind": kind, "n_splits": 3, "shuffle": shuffle, "seed": 4})
    uses_groups = kind in ("group", "stratified_group")
    ours = make_folds(cv, LogisticRegression(), X, y, groups if uses_groups else None)
    expected = list(splitter.split(X, y, groups if uses_groups else None))
    assert len(ours) == 3
    for (a_train, a_test), (b_train, b_test) in zip(ours, expected, strict=True):
        assert list(a_train) == list(b_train) and list(a_test) == list(b_test)


def test_predefined_folds_come_from_the_groups_column() -> None:
    test_fold = np.array([0, 1, -1, 0, 1, 1, -1, 0])
    cv = OmegaConf.create({"kind": "predefined", "n_splits": 2, "shuffle": False, "seed": 0})
    folds = make_folds(cv, LogisticRegression(), np.zeros((8, 1)), np.zeros(8), test_fold)
    assert [list(test) for _, test in folds] == [[0, 3, 7], [1, 4, 5]]


def test_a_dataframe_with_text_columns_reaches_a_column_transformer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV kept as a DataFrame, into a pipeline with the user's own transformer class from a
    module only the driver can import (the local workers get it by value)."""
    import importlib
    import shutil

    shutil.copy(Path(__file__).with_name("_models.py"), tmp_path / "user_models_frame.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    user_models = importlib.import_module("user_models_frame")
    rng = np.random.default_rng(2)
    n = 90
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], n),
        }
    )
    frame["y"] = ((frame["a"] > 0) ^ (frame["color"] == "red")).astype(int)
    frame.to_csv(tmp_path / "colors.csv", index=False)
    cfg = {
        "dataset": {
            "kind": "file",
            "path": str(tmp_path / "colors.csv"),
            "target": "y",
            "as_frame": True,
        },
        "features": {"sets": None},
        "model": {"_target_": "user_models_frame.frame_pipeline"},
        "search_space": {"model__C": [0.1, 10.0]},
        "metric": {"primary_metric": "accuracy", "also": ["f1"]},
        "cv": {"n_splits": 3},
        "resources": {"max_concurrent_runs": 1},
        "refit": False,
    }
    result = hpt.tune(cfg, run_dir=tmp_path / "run")
    X = frame.drop(columns=["y"])
    expected = GridSearchCV(
        user_models.frame_pipeline(),
        {"model__C": [0.1, 10.0]},
        scoring=["accuracy", "f1"],
        refit=False,
        cv=3,
    ).fit(X, frame["y"])
    for key in ("mean_test_accuracy", "mean_test_f1", "split2_test_f1"):
        np.testing.assert_allclose(result.cv_results_[key], expected.cv_results_[key], atol=1e-9)


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"cv": {"kind": "bogus"}}, "cv.kind", "unknown kind 'bogus'"),
        (
            {"cv": {"kind": "group"}, "dataset": {"groups": None}},
            "dataset.groups",
            "needs a column",
        ),
        ({"cv": {"kind": "kfold"}}, "cv.kind", "ignores groups"),
        (
            {"cv": {"kind": "time_series", "shuffle": True}, "dataset": {"groups": None}},
            "cv.shuffle",
            "keeps the row order",
        ),
        ({"metric": {"also": ["acuracy"]}}, "metric.also[0]", "did you mean accuracy"),
        ({"metric": {"also": ["neg_log_loss"]}}, "metric.also[0]", "already computed"),
        ({"dataset": {"weight": "nope"}}, "dataset.weight", "column 'nope' is not in table.csv"),
    ],
)
def test_bad_cv_options_are_config_errors(
    tmp_path: Path, change: dict[str, Any], key: str, message: str
) -> None:
    table, _ = weighted_grouped_table(tmp_path, n=30)
    cfg = cv_config(table)
    for group, values in change.items():
        cfg[group] = {**cfg[group], **values}
    with pytest.raises(ConfigError) as caught:
        Experiment.from_config(cfg)
    assert caught.value.key == key and message in str(caught.value), str(caught.value)
