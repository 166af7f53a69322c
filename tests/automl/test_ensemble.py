"""The VotingEnsemble: ensemble selection on hand-made predictions, the averaging estimator, the
trials' out-of-fold predictions as artifacts, and a real sweep that refits the ensemble."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import joblib
import numpy as np
import pytest

from hpt import artifacts
from hpt.automl.ensemble import VotingEnsemble, select
from hpt.automl.trainer import PREDICTIONS

from .test_runs import DIABETES, sweep

RNG = np.random.default_rng(0)


def r2_of(y: np.ndarray):  # type: ignore[no-untyped-def]
    def score(pred: np.ndarray) -> float:
        return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))

    return score


def test_two_predictors_with_independent_errors_average_better_than_either() -> None:
    y = RNG.normal(size=2000)
    a = y + RNG.normal(scale=0.5, size=y.size)
    b = y + RNG.normal(scale=0.5, size=y.size)
    poor = y + RNG.normal(scale=3.0, size=y.size)
    score = r2_of(y)
    weights, value = select({"a": a, "b": b, "poor": poor}, score, ["a", "b", "poor"])
    assert set(weights) >= {"a", "b"} and sum(weights.values()) == pytest.approx(1.0)
    assert weights.get("poor", 0.0) < 0.2
    assert value > max(score(a), score(b))
    assert value == pytest.approx(
        score(sum(w * {"a": a, "b": b, "poor": poor}[t] for t, w in weights.items()))
    )


def test_a_predictor_no_average_improves_on_stays_alone() -> None:
    y = RNG.normal(size=500)
    exact, noisy = y.copy(), y + RNG.normal(size=y.size)
    weights, value = select({"exact": exact, "noisy": noisy}, r2_of(y), ["exact", "noisy"])
    assert weights == {"exact": 1.0} and value == pytest.approx(1.0)
    with pytest.raises(ValueError):
        select({}, r2_of(y), ["exact"])


class Constant:
    """A fitted classifier stand-in: the same probabilities for every row."""

    def __init__(self, classes: list[int], proba: list[float]) -> None:
        self.classes_ = np.array(classes)
        self.proba = np.array(proba)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.tile(self.proba, (len(X), 1))


def test_the_ensemble_averages_probabilities_by_weight_over_the_same_classes() -> None:
    # The second member never saw class 2: its column is 0 once aligned.
    members = [Constant([0, 1, 2], [0.2, 0.2, 0.6]), Constant([0, 1], [0.9, 0.1])]
    ensemble = VotingEnsemble(members, [0.75, 0.25], "classification")
    proba = ensemble.predict_proba(np.zeros((3, 1)))
    np.testing.assert_allclose(proba[0], [0.375, 0.175, 0.45])
    assert list(ensemble.predict(np.zeros((2, 1)))) == [2, 2]
    with pytest.raises(ValueError):
        VotingEnsemble(members, [1.0], "classification")


def test_artifacts_are_written_under_the_trial_and_only_as_plain_file_names(
    tmp_path: Path,
) -> None:
    encoded = artifacts.encode({"a.npy": b"\x00\x01", "../escape": b"x", "sub/b": b"y"})
    assert base64.b64decode(encoded["a.npy"]) == b"\x00\x01"
    assert artifacts.keep(tmp_path, "0003", encoded) == ["a.npy"]
    assert (tmp_path / "0003" / "a.npy").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.npy"]


def test_predictions_too_large_to_travel_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from hpt.automl import trainer as module

    def make(rows: int, classes: np.ndarray | None) -> module.AutoMLTrainer:
        y = np.zeros(rows)
        folds = [(np.arange(rows // 2), np.arange(rows // 2, rows))]
        return module.AutoMLTrainer(
            np.zeros((rows, 1)),
            y,
            folds,
            task="regression",
            metric="r2_score",
            classes=classes,
            y_range=1.0,
            seed=0,
            threads=1,
        )

    monkeypatch.setattr(module, "MAX_PREDICTION_VALUES", 100)
    assert make(100, None).keeps_predictions
    assert not make(101, None).keeps_predictions
    assert not make(50, np.arange(3)).keeps_predictions  # 150 values: one column per class


@pytest.mark.parametrize("enabled", [True, False])
def test_a_regression_sweep_refits_the_voting_ensemble_of_its_best_iterations(
    tmp_path: Path, enabled: bool
) -> None:
    result = sweep(
        tmp_path,
        DIABETES,
        {
            "task": "regression",
            "primary_metric": "r2_score",
            "iterations": 8,
            "allowed_models": ["linear_regression", "knn", "extra_trees"],
            "enable_voting_ensemble": enabled,
        },
    )
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    completed = [t for t in result.state.ordered() if t.status.value == "completed"]
    assert len(completed) == 8
    # Every completed iteration left its out-of-fold predictions: one per row, from 3 folds.
    for trial in completed:
        oof = np.load(result.run_dir / "trials" / trial.trial_id / PREDICTIONS)
        assert oof.shape == (len(y),) and np.isfinite(oof).all()
    summary = json.loads((result.run_dir / "best_pipeline.json").read_text())
    model = joblib.load(result.run_dir / "model.joblib")
    if not enabled:
        assert "ensemble" not in summary and not isinstance(model, VotingEnsemble)
        return
    ensemble = summary["ensemble"]
    assert summary["pipeline"].startswith("VotingEnsemble: ")
    assert ensemble["score"] > ensemble["best_single_score"] == pytest.approx(result.best_score_)
    members = ensemble["members"]
    assert len(members) >= 2 and sum(m["weight"] for m in members) == pytest.approx(1.0)
    assert {m["trial_id"] for m in members} <= {t.trial_id for t in completed}
    assert isinstance(model, VotingEnsemble) and len(model.members) == len(members)
    prediction = model.predict(X)
    assert prediction.shape == (len(y),)
    assert 1 - np.sum((y - prediction) ** 2) / np.sum((y - y.mean()) ** 2) > 0.4  # fit on all rows
