"""AzureML's primary metrics for automated ML, as AzureML defines them, with their goals.

Classification metrics take the true labels, the predicted class probabilities (one column per
class of the training labels, in ``classes`` order) and the class labels; regression metrics take
the true values, the predictions and the range of the target over the whole dataset (AzureML
normalizes errors by it, so every fold is normalized alike).

* ``AUC_weighted``: one-vs-rest ROC AUC of each class, averaged weighted by the number of true
  instances of the class (a binary task counts both classes, which equals the binary AUC).
* ``average_precision_score_weighted``: the same with average precision.
* ``precision_score_weighted``: precision of each class, weighted by support.
* ``norm_macro_recall``: ``(macro recall - R) / (1 - R)`` with ``R = 1 / n_classes`` (0.5 for
  binary), the expected macro recall of random predictions, floored at 0 (AzureML's range [0, 1]).
* ``accuracy``, ``log_loss`` (minimize).
* ``spearman_correlation``, ``r2_score`` (maximize); ``normalized_root_mean_squared_error`` and
  ``normalized_mean_absolute_error``: RMSE / MAE divided by ``max(y) - min(y)`` (minimize).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpt.errors import ConfigError

TASKS = ("classification", "regression")
DEFAULT_METRIC = {"classification": "accuracy", "regression": "spearman_correlation"}


@dataclass(frozen=True)
class Metric:
    name: str
    task: str
    goal: str  # maximize | minimize
    fn: Callable[..., float]


def _one_vs_rest(
    score: Callable[[np.ndarray, np.ndarray], float],
    y: np.ndarray,
    proba: np.ndarray,
    classes: np.ndarray,
) -> float:
    total, weight = 0.0, 0
    for j, label in enumerate(classes):
        positive = y == label
        n = int(positive.sum())
        if n == 0 or n == len(y):  # a class absent from (or alone in) this fold has no curve
            continue
        total += n * float(score(positive.astype(int), proba[:, j]))
        weight += n
    return total / weight if weight else float("nan")


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) identity, ties at average rank: equal to
    scikit-learn's ``roc_auc_score`` without its per-call validation cost."""
    from scipy.stats import rankdata

    positive = np.asarray(positive).astype(bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_weighted(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    return _one_vs_rest(binary_auc, y, proba, classes)


def average_precision_weighted(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return _one_vs_rest(average_precision_score, y, proba, classes)


def _predicted(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    picked: np.ndarray = np.asarray(classes)[np.argmax(proba, axis=1)]
    return picked


def accuracy(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    return float(np.mean(_predicted(proba, classes) == y))


def precision_weighted(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import precision_score

    return float(
        precision_score(y, _predicted(proba, classes), average="weighted", zero_division=0)
    )


def norm_macro_recall(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import recall_score

    recall = float(
        recall_score(
            y, _predicted(proba, classes), labels=np.unique(y), average="macro", zero_division=0
        )
    )
    chance = 1.0 / len(classes)
    return max(0.0, (recall - chance) / (1.0 - chance))


def log_loss(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import log_loss as sk_log_loss

    return float(sk_log_loss(y, proba, labels=classes))


def spearman(y: np.ndarray, pred: np.ndarray, y_range: float) -> float:
    from scipy.stats import spearmanr

    value = spearmanr(y, pred).statistic
    return float(value) if np.isfinite(value) else 0.0  # a constant prediction ranks nothing


def r2(y: np.ndarray, pred: np.ndarray, y_range: float) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(y, pred))


def nrmse(y: np.ndarray, pred: np.ndarray, y_range: float) -> float:
    return float(np.sqrt(np.mean((np.asarray(y) - pred) ** 2)) / (y_range or 1.0))


def nmae(y: np.ndarray, pred: np.ndarray, y_range: float) -> float:
    return float(np.mean(np.abs(np.asarray(y) - pred)) / (y_range or 1.0))


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("AUC_weighted", "classification", "maximize", auc_weighted),
        Metric("accuracy", "classification", "maximize", accuracy),
        Metric(
            "average_precision_score_weighted",
            "classification",
            "maximize",
            average_precision_weighted,
        ),
        Metric("norm_macro_recall", "classification", "maximize", norm_macro_recall),
        Metric("precision_score_weighted", "classification", "maximize", precision_weighted),
        Metric("log_loss", "classification", "minimize", log_loss),
        Metric("spearman_correlation", "regression", "maximize", spearman),
        Metric("normalized_root_mean_squared_error", "regression", "minimize", nrmse),
        Metric("r2_score", "regression", "maximize", r2),
        Metric("normalized_mean_absolute_error", "regression", "minimize", nmae),
    )
}


def metric_for(task: str, name: str | None) -> Metric:
    """The metric ``name`` (AzureML's default for ``task`` when ``None``), checked for ``task``."""
    if task not in TASKS:
        raise ConfigError("automl.task", f"must be classification or regression, got {task!r}")
    name = DEFAULT_METRIC[task] if name is None else str(name)
    valid = [m.name for m in METRICS.values() if m.task == task]
    if name not in valid:
        close = difflib.get_close_matches(name, valid, 1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ConfigError(
            "automl.primary_metric",
            f"{name!r} is not a {task} metric; {hint}use one of {', '.join(valid)}",
        )
    return METRICS[name]


def score(metric: Metric, y: np.ndarray, output: Any, *, classes: Any, y_range: float) -> float:
    """``metric`` of predictions ``output`` (probabilities or values) against ``y``."""
    if metric.task == "classification":
        return metric.fn(np.asarray(y), np.asarray(output), np.asarray(classes))
    return metric.fn(np.asarray(y, dtype=float), np.asarray(output, dtype=float), y_range)
