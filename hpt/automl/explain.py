"""Explanations of the refit best pipeline (``automl.explain: true``): permutation importance.

Global importance of a feature is how much the primary metric worsens when that feature's column
is shuffled (mean over ``repeats`` shuffles; positive = the model relies on it). For
classification, each class also gets its own ranking: the drop of that class's one-vs-rest ROC
AUC. One prediction per (feature, shuffle) serves the global and every per-class score. When the
``shap`` package is installed, mean |SHAP value| per feature (and per class) is added, computed
by shap's model-agnostic explainer on 50 sampled rows (shap's first use compiles with numba:
expect a minute).

Written to the run dir as ``explanations.json`` (rankings, sorted) and ``explanations.csv`` (one
row per feature: overall, then one column per class).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from hpt.automl.metrics import METRICS, binary_auc, score
from hpt.automl.trainer import predict_for, take_rows

log = logging.getLogger("hpt")

MAX_ROWS = 2000  # rows the importances are computed on (a seeded sample of larger data)


def _shuffled(X: Any, column: int, rng: np.random.Generator) -> Any:
    order = rng.permutation(X.shape[0])
    if hasattr(X, "iloc"):
        out = X.copy()
        out.iloc[:, column] = X.iloc[order, column].to_numpy()
        return out
    import scipy.sparse as sp

    out = X.toarray() if sp.issparse(X) else np.array(X, copy=True)
    out[:, column] = out[order, column]
    return out


def _scores(
    pipeline: Any, X: Any, y: np.ndarray, metric: str, classes: np.ndarray | None, y_range: float
) -> tuple[float, list[float]]:
    """(signed primary metric: higher is better, per-class one-vs-rest AUC)."""
    spec = METRICS[metric]
    output = predict_for(metric, pipeline, X)
    sign = 1.0 if spec.goal == "maximize" else -1.0
    overall = sign * score(spec, y, output, classes=classes, y_range=y_range)
    per_class: list[float] = []
    if classes is not None:
        column = {label: j for j, label in enumerate(pipeline.classes_)}
        for label in classes:
            positive = (y == label).astype(int)
            if label not in column or positive.min() == positive.max():
                per_class.append(float("nan"))
            else:
                per_class.append(binary_auc(positive, output[:, column[label]]))
    return overall, per_class


def permutation_importances(
    pipeline: Any,
    X: Any,
    y: np.ndarray,
    names: list[str],
    *,
    metric: str,
    classes: np.ndarray | None,
    y_range: float,
    repeats: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Global (and per-class) permutation importances; see the module docstring."""
    rng = np.random.default_rng(seed)
    if X.shape[0] > MAX_ROWS:
        rows = np.sort(rng.choice(X.shape[0], MAX_ROWS, replace=False))
        X, y = take_rows(X, rows), y[rows]
    base, base_classes = _scores(pipeline, X, y, metric, classes, y_range)
    n_features = X.shape[1]
    drops = np.zeros((n_features, repeats))
    class_drops = np.zeros((n_features, repeats, len(base_classes)))
    for j in range(n_features):
        for r in range(repeats):
            value, per_class = _scores(pipeline, _shuffled(X, j, rng), y, metric, classes, y_range)
            drops[j, r] = base - value
            class_drops[j, r] = np.asarray(base_classes) - np.asarray(per_class)

    def ranking(mean: np.ndarray, std: np.ndarray) -> list[dict[str, Any]]:
        order = np.argsort(-np.nan_to_num(mean, nan=-np.inf), kind="stable")
        return [
            {"feature": names[i], "importance": float(mean[i]), "std": float(std[i])} for i in order
        ]

    out: dict[str, Any] = {
        "method": "permutation",
        "metric": metric,
        "rows": int(X.shape[0]),
        "repeats": repeats,
        "overall": ranking(drops.mean(axis=1), drops.std(axis=1)),
    }
    if classes is not None:
        out["per_class_metric"] = "one-vs-rest ROC AUC"
        out["per_class"] = {
            str(label): ranking(class_drops[:, :, c].mean(axis=1), class_drops[:, :, c].std(axis=1))
            for c, label in enumerate(classes)
        }
    return out


def shap_importances(pipeline: Any, X: Any, names: list[str], task: str, seed: int) -> Any:
    """Mean |SHAP value| per feature (per class for classification), or ``None`` without shap."""
    try:
        import shap
    except ImportError:
        return None
    rng = np.random.default_rng(seed)
    n = min(50, X.shape[0])
    rows = np.sort(rng.choice(X.shape[0], n, replace=False))
    sample = take_rows(X, rows)
    predict = pipeline.predict_proba if task == "classification" else pipeline.predict
    explanation = shap.Explainer(predict, sample, seed=seed)(sample, silent=True)
    values = np.abs(np.asarray(explanation.values)).mean(axis=0)  # (features[, classes])
    if values.ndim == 1:
        return {"overall": dict(zip(names, map(float, values), strict=True))}
    return {
        "overall": dict(zip(names, map(float, values.mean(axis=1)), strict=True)),
        "per_class": {
            str(c): dict(zip(names, map(float, values[:, j]), strict=True))
            for j, c in enumerate(pipeline.classes_)
        },
    }


def write_explanations(result: dict[str, Any], run_dir: Path) -> None:
    """``explanations.json`` and ``explanations.csv`` in ``run_dir``."""
    (run_dir / "explanations.json").write_text(json.dumps(result, indent=2) + "\n")
    per_class = result.get("per_class", {})
    classes = list(per_class)
    lookup = {c: {e["feature"]: e["importance"] for e in per_class[c]} for c in classes}
    with (run_dir / "explanations.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["feature", "overall", *(f"class_{c}" for c in classes)])
        for entry in result["overall"]:
            feature = entry["feature"]
            writer.writerow([feature, entry["importance"], *(lookup[c][feature] for c in classes)])
