"""AzureML's metrics, checked against their definitions (scikit-learn's building blocks)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss, precision_score, recall_score, roc_auc_score

from hpt.automl.metrics import METRICS, metric_for, score
from hpt.errors import ConfigError

RNG = np.random.default_rng(0)
Y3 = RNG.integers(0, 3, 300)
P3 = RNG.dirichlet([1, 1, 1], 300)
P3[np.arange(300), Y3] += 0.5  # informative
P3 /= P3.sum(axis=1, keepdims=True)
CLASSES = np.arange(3)


def _score(name: str, y: np.ndarray, output: np.ndarray, y_range: float = 0.0) -> float:
    return score(
        METRICS[name],
        y,
        output,
        classes=CLASSES[: output.shape[1]] if output.ndim == 2 else None,
        y_range=y_range,
    )


def test_goals_follow_azureml() -> None:
    minimized = {n for n, m in METRICS.items() if m.goal == "minimize"}
    assert minimized == {
        "log_loss",
        "normalized_root_mean_squared_error",
        "normalized_mean_absolute_error",
    }
    assert len(METRICS) == 10


def test_classification_metrics_match_their_definitions() -> None:
    predicted = P3.argmax(axis=1)
    assert _score("AUC_weighted", Y3, P3) == pytest.approx(
        roc_auc_score(Y3, P3, multi_class="ovr", average="weighted")
    )
    assert _score("accuracy", Y3, P3) == pytest.approx(np.mean(predicted == Y3))
    assert _score("precision_score_weighted", Y3, P3) == pytest.approx(
        precision_score(Y3, predicted, average="weighted")
    )
    assert _score("log_loss", Y3, P3) == pytest.approx(log_loss(Y3, P3))
    macro = recall_score(Y3, predicted, average="macro")
    assert _score("norm_macro_recall", Y3, P3) == pytest.approx((macro - 1 / 3) / (1 - 1 / 3))


def test_the_rank_sum_auc_is_scikit_learns_even_with_ties() -> None:
    from hpt.automl.metrics import binary_auc

    y = RNG.integers(0, 2, 500)
    scores = np.round(y * 0.2 + RNG.random(500), 1)  # many ties
    assert binary_auc(y, scores) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)


def test_binary_auc_weighted_is_the_binary_auc() -> None:
    y = RNG.integers(0, 2, 200)
    p1 = np.clip(y * 0.3 + RNG.random(200) * 0.7, 0, 1)
    proba = np.column_stack([1 - p1, p1])
    assert _score("AUC_weighted", y, proba) == pytest.approx(roc_auc_score(y, p1))


def test_norm_macro_recall_is_zero_for_chance_and_one_when_perfect() -> None:
    perfect = np.eye(3)[Y3]
    assert _score("norm_macro_recall", Y3, perfect) == pytest.approx(1.0)
    constant = np.tile([1.0, 0.0, 0.0], (300, 1))  # always class 0: macro recall 1/3 = chance
    assert _score("norm_macro_recall", Y3, constant) == pytest.approx(0.0)


def test_regression_errors_are_normalized_by_the_range() -> None:
    y = np.array([0.0, 1.0, 2.0, 10.0])
    pred = np.array([1.0, 1.0, 2.0, 8.0])
    assert _score("normalized_root_mean_squared_error", y, pred, 10.0) == pytest.approx(
        np.sqrt((1 + 0 + 0 + 4) / 4) / 10
    )
    assert _score("normalized_mean_absolute_error", y, pred, 10.0) == pytest.approx(0.75 / 10)
    assert _score("spearman_correlation", y, pred, 10.0) > 0.9
    assert _score("r2_score", y, y, 10.0) == pytest.approx(1.0)


def test_metric_names_are_checked_per_task() -> None:
    assert metric_for("classification", None).name == "accuracy"
    assert metric_for("regression", None).name == "spearman_correlation"
    with pytest.raises(ConfigError, match="did you mean AUC_weighted"):
        metric_for("classification", "AUC_weigted")
    with pytest.raises(ConfigError, match="not a regression metric"):
        metric_for("regression", "accuracy")
    with pytest.raises(ConfigError, match=r"automl\.task"):
        metric_for("ranking", None)
