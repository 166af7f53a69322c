"""tracking=mlflow: a sweep and its resume, read back from the real store with MLflow's client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hpt
from hpt.api import resume
from hpt.journal import read_journal
from hpt.state import SweepState

mlflow = pytest.importorskip("mlflow")


def _config(store: Path) -> dict[str, Any]:
    return {
        "dataset": {"kind": "sklearn", "name": "breast_cancer"},
        "features": {"sets": None},
        "model": {"_target_": "sklearn.tree.DecisionTreeClassifier", "random_state": 0},
        "search_space": {"max_depth": [-1, 3, 5]},
        "metric": {"primary_metric": "accuracy", "goal": "maximize"},
        "resources": {"max_total_runs": 2, "max_concurrent_runs": 1},
        "tracking": {
            "kind": "mlflow",
            "tracking_uri": store.as_uri(),
            "experiment_name": "hpt-tests",
        },
    }


def test_sweep_and_resume_logged_once_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "mlruns"
    run_dir = tmp_path / "run"
    hpt.tune(_config(store), run_dir=run_dir)
    resume(run_dir, extend=1)  # a second session: the callback sees only its new events
    state = SweepState.replay(read_journal(run_dir))
    assert len(state.trials) == 3

    client = mlflow.tracking.MlflowClient(tracking_uri=store.as_uri())
    experiment = client.get_experiment_by_name("hpt-tests")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    key = str(run_dir.resolve())
    assert all(r.data.tags["hpt.run_dir"] == key for r in runs)
    (parent,) = [r for r in runs if r.data.tags["hpt.role"] == "sweep"]
    children = {r.data.tags["hpt.trial_id"]: r for r in runs if r.data.tags["hpt.role"] == "trial"}
    assert sorted(children) == ["0000", "0001", "0002"]  # no duplicate across the resume
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["best_accuracy"] == pytest.approx(
        max(t.value for t in state.trials.values() if t.value == t.value)
    )
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"report.html", "best.json", "cv_results.csv", "model.joblib"} <= artifacts
    for tid, child in children.items():
        trial = state.trials[tid]
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.params["max_depth"] == str(trial.params["max_depth"])
        assert child.data.tags["hpt.status"] == trial.status.value
        history = client.get_metric_history(child.info.run_id, "accuracy_interval")
        steps = sorted(m.step for m in history)
        assert steps == list(range(1, len(trial.values) + 1)), tid  # each interval once
        values = [m.value for m in sorted(history, key=lambda m: m.step)]
        assert values == pytest.approx(list(trial.values), nan_ok=True)
        folds = client.get_metric_history(child.info.run_id, "fold_test_score")
        assert sorted(m.step for m in folds) == sorted(trial.folds)
    failed = children["0000"]
    assert failed.info.status == "FAILED"
    assert "error.txt" in {a.path for a in client.list_artifacts(failed.info.run_id)}
    for tid in ("0001", "0002"):
        assert children[tid].info.status == "FINISHED"
        assert children[tid].data.metrics["accuracy"] == pytest.approx(state.trials[tid].value)
