"""Real AutoML sweeps (local worker processes) on scikit-learn's bundled datasets, read through a
user's ``get_data()`` script: classification with explanations, regression ended by
``experiment_exit_score``, and per-iteration timeouts."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

import hpt
from hpt.journal import read_journal

BREAST_CANCER_WITH_NOISE = """
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

def get_data():
    data = load_breast_cancer(as_frame=True)
    X = data.data.copy()
    X["noise"] = np.random.default_rng(0).normal(size=len(X))
    return {"X": X, "y": data.target.to_numpy()}
"""
DIABETES = """
from sklearn.datasets import load_diabetes

def get_data():
    X, y = load_diabetes(return_X_y=True)
    return X, y
"""
DIABETES_CLASSES = """
from sklearn.datasets import load_diabetes

def get_data():
    X, y = load_diabetes(return_X_y=True)
    return X, (y > 140).astype(int)
"""
SLOW = """
from sklearn.datasets import make_classification

def get_data():
    X, y = make_classification(20000, 40, n_informative=10, random_state=0)
    return {"X": X, "y": y}
"""


def sweep(tmp: Path, script: str, automl: dict[str, Any]) -> hpt.api.TuneResult:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "get_data.py").write_text(script)
    result = hpt.tune(
        {
            "dataset": {"kind": "script", "script": str(tmp / "get_data.py")},
            "features": {"sets": None},
            "trainer": {"kind": "automl"},
            "automl": {"n_cross_validations": 3, "max_concurrent_iterations": 2, **automl},
        },
        tmp / "run",
    )
    assert result is not None
    return result


@pytest.fixture(scope="session")
def classification(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    # SHAP (when shap is installed) costs a minute of numba compilation: not in this budget.
    patch = pytest.MonkeyPatch()
    patch.setattr("hpt.automl.explain.shap_importances", lambda *args: None)
    handler = Keep()
    logger = logging.getLogger("hpt")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        result = sweep(
            tmp_path_factory.mktemp("automl-classification"),
            BREAST_CANCER_WITH_NOISE,
            {
                "task": "classification",
                "primary_metric": "AUC_weighted",
                "iterations": 3,
                "allowed_models": ["logistic_regression", "decision_tree"],
                "explain": True,
            },
        )
    finally:
        patch.undo()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return result, lines


def test_classification_run_refits_and_saves_the_best_pipeline(
    classification: tuple[Any, list[str]],
) -> None:
    result, _ = classification
    trials = result.state.ordered()
    assert len(trials) == 3 and all(t.status.value == "completed" for t in trials)
    assert {t.params["model"] for t in trials} <= {"logistic_regression", "decision_tree"}
    assert 0.9 < result.best_score_ <= 1.0  # AUC on breast cancer
    model = joblib.load(result.run_dir / "model.joblib")
    best = json.loads((result.run_dir / "best_pipeline.json").read_text())
    assert best["params"] == result.best_params_
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X["noise"] = 0.0
    assert np.mean(model.predict(X) == y) > 0.9


def test_the_live_table_is_the_seeds(classification: tuple[Any, list[str]]) -> None:
    _, lines = classification
    header = next(line for line in lines if "ITERATION" in line and "PIPELINE" in line)
    assert header.split() == ["ITERATION", "PIPELINE", "DURATION", "METRIC", "BEST"]
    rows = [line.split() for line in lines if line.split()[:1] in (["0"], ["1"], ["2"])]
    assert len(rows) == 3
    assert any(r[1:3] == ["StandardScaler", "LogisticRegression"] for r in rows)
    for r in rows:
        assert r[-3].count(":") == 2 and float(r[-1]) >= float(r[-2]) - 1e-9  # BEST is the max


def test_explanations_rank_informative_features_above_noise(
    classification: tuple[Any, list[str]],
) -> None:
    result, _ = classification
    explained = json.loads((result.run_dir / "explanations.json").read_text())
    overall = [e["feature"] for e in explained["overall"]]
    importance = {e["feature"]: e["importance"] for e in explained["overall"]}
    assert len(overall) == 31 and overall[0] != "noise"
    assert overall.index("noise") >= 5
    assert importance["noise"] < importance[overall[0]] / 2
    assert set(explained["per_class"]) == {"0", "1"}
    for ranking in explained["per_class"].values():
        assert ranking[0]["feature"] != "noise"
    csv_header = (result.run_dir / "explanations.csv").read_text().splitlines()[0]
    assert csv_header == "feature,overall,class_0,class_1"


def test_the_report_and_hpt_best_show_the_best_pipeline_and_its_explanations(
    classification: tuple[Any, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    from hpt.history import cmd_best

    result, _ = classification
    explained = json.loads((result.run_dir / "explanations.json").read_text())
    top = explained["overall"][0]["feature"]
    pipeline = json.loads((result.run_dir / "best_pipeline.json").read_text())["pipeline"]
    report = (result.run_dir / "report.html").read_text()
    section = report[report.index('<section id="model">') :]
    section = section[: section.index("</section>")]
    assert pipeline in section and "model.joblib" in section
    assert f"<td>{top}</td>" in section and "class 1" in section
    assert cmd_best([str(result.run_dir)]) == 0
    out = capsys.readouterr().out
    assert f"pipeline: {pipeline}" in out
    assert f"fitted on all rows: {result.run_dir / 'model.joblib'}" in out
    assert f"most important (permutation): {top} (" in out


SPARSE_DIGITS = """
import scipy.sparse as sp
from sklearn.datasets import load_digits

def get_data():
    X, y = load_digits(return_X_y=True)
    return sp.csr_matrix(X[:400]), y[:400]
"""


def test_on_sparse_data_dense_only_models_are_left_out_unless_allowed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hpt"):
        sweep(
            tmp_path / "default",
            SPARSE_DIGITS,
            {"task": "classification", "iterations": 1, "blocked_models": ["svm"]},
        )
    assert "sparse data: gradient_boosting left out" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="hpt"):
        result = sweep(
            tmp_path / "allowed",
            SPARSE_DIGITS,
            {
                "task": "classification",
                "iterations": 1,
                "allowed_models": ["gradient_boosting"],
            },
        )
    assert "left out" not in caplog.text
    (trial,) = result.state.ordered()
    assert trial.params["model"] == "gradient_boosting"
    assert trial.status.value == "completed" and trial.value is not None and trial.value > 0.9


def test_on_sparse_data_the_linear_warm_start_scales_by_max_abs(tmp_path: Path) -> None:
    """Scaling without centering blows up rare one-hot columns; on sparse data the warm start
    of the scaled families uses max-abs scaling (on dense data, standardizing)."""
    result = sweep(
        tmp_path,
        SPARSE_DIGITS,
        {
            "task": "classification",
            "iterations": 2,
            "allowed_models": ["logistic_regression", "sgd"],
            "max_concurrent_iterations": 1,
        },
    )
    trials = result.state.ordered()
    assert [(t.params["model"], t.params["scaler"]) for t in trials] == [
        ("logistic_regression", "maxabs"),
        ("sgd", "maxabs"),
    ]
    assert all(t.status.value == "completed" for t in trials)


WIDE_SPARSE_DIGITS = """
import scipy.sparse as sp
from sklearn.datasets import load_digits

def get_data():
    X, y = load_digits(return_X_y=True)
    return sp.hstack([sp.csr_matrix(X[:400])] * 4, format="csr"), y[:400]
"""


def test_the_extra_trees_warm_start_takes_the_sqrt_of_a_wide_datas_columns(
    tmp_path: Path,
) -> None:
    result = sweep(
        tmp_path,
        WIDE_SPARSE_DIGITS,
        {"task": "classification", "iterations": 1, "allowed_models": ["extra_trees"]},
    )
    (trial,) = result.state.ordered()
    assert trial.params["max_features"] == pytest.approx(16 / 256)  # digits x 4: 256 columns
    assert trial.status.value == "completed"


def test_experiment_exit_score_ends_a_regression_run_early(tmp_path: Path) -> None:
    blocked = [
        "svm",
        "knn",
        "sgd",
        "gradient_boosting",
        "random_forest",
        "extra_trees",
        "xgboost",
        "lightgbm",
    ]
    result = sweep(
        tmp_path,
        DIABETES,
        {
            "task": "regression",
            "primary_metric": "normalized_root_mean_squared_error",
            "iterations": 10,
            "experiment_exit_score": 0.5,  # any sane model of diabetes is far below it
            "max_concurrent_iterations": 1,
            "blocked_models": blocked,
        },
    )
    trials = result.state.ordered()
    assert len(trials) == 1 and trials[0].status.value == "completed"
    assert trials[0].params["model"] not in blocked
    assert result.best_score_ < 0.5
    assert result.end_reason == "stop_at_score=0.5 reached"
    assert (result.run_dir / "model.joblib").exists()


def test_iteration_timeout_stops_each_slow_iteration(tmp_path: Path) -> None:
    result = sweep(
        tmp_path,
        SLOW,
        {
            "task": "classification",
            "iterations": 1,
            "iteration_timeout_minutes": 0.01,  # 0.6 s; a 40-tree forest on 20000 rows takes more
            "max_concurrent_iterations": 1,
            "allowed_models": ["random_forest"],
        },
    )
    assert [t.status.value for t in result.state.ordered()] == ["timed_out"]
    events = [e for e in read_journal(result.run_dir) if e["event"] == "timed_out"]
    assert len(events) == 1 and "trial_timeout_minutes=0.01" in events[0]["error"]
    assert result.best_estimator_ is None and result.end_reason == "max_total_runs=1 reached"


def test_a_resumed_search_proposes_what_the_uninterrupted_one_did(tmp_path: Path) -> None:
    """The family draw, the local moves and TPE are functions of the journal and the trial
    number: 8 iterations, then a resume extended by 6, propose the same 14 pipelines as one run
    of 14 (one worker, so both complete in the same order)."""
    settings = {
        "task": "classification",
        "max_concurrent_iterations": 1,
        "blocked_models": ["svm", "knn", "sgd"],
    }
    whole = sweep(tmp_path / "whole", DIABETES_CLASSES, {**settings, "iterations": 14})
    part = sweep(tmp_path / "part", DIABETES_CLASSES, {**settings, "iterations": 8})
    resumed = hpt.resume(part.run_dir, extend=6)
    assert resumed is not None

    def proposals(result: hpt.api.TuneResult) -> list[str]:
        return [json.dumps(dict(t.params), sort_keys=True) for t in result.state.ordered()]

    assert len(proposals(whole)) == 14
    assert proposals(resumed) == proposals(whole)
    assert len({json.loads(p)["model"] for p in proposals(whole)}) >= 4  # it searched families
