"""The report's "Best model" section: the refit model and, for AutoML, its explanations.

Read from the files the refit leaves in the run dir (``best_pipeline.json``, ``model.joblib``,
``explanations.json``, see :mod:`hpt.automl.explain`); a run dir without them (no refit, or a
sweep still running) gets a one-line note instead.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

#: Rows of the overall ranking and of each class's ranking shown in the report.
TOP_OVERALL = 15
TOP_PER_CLASS = 5


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _top(ranking: Any, n: int) -> list[dict[str, Any]]:
    rows = []
    for entry in list(ranking or [])[:n]:
        rows.append(
            {
                "feature": str(entry.get("feature")),
                "importance": entry.get("importance"),
                "std": entry.get("std"),
            }
        )
    return rows


def _shap_ranking(shap: Any) -> list[dict[str, Any]]:
    """SHAP's ``{"overall": {feature: mean |value|}}`` as a ranking, largest first."""
    overall = shap.get("overall") if isinstance(shap, dict) else None
    if not isinstance(overall, dict):
        return []
    ranked = sorted(overall.items(), key=lambda item: -float(item[1]))
    return [{"feature": str(f), "importance": float(v), "std": None} for f, v in ranked][
        :TOP_OVERALL
    ]


def collect_model(run_dir: Path) -> dict[str, Any]:
    """What the refit left in ``run_dir``: model file, best pipeline, top explanations."""
    model = run_dir / "model.joblib"
    pipeline = _read_json(run_dir / "best_pipeline.json")
    explanations = _read_json(run_dir / "explanations.json")
    out: dict[str, Any] = {
        "model_file": model.name if model.is_file() else None,
        "pipeline": None if pipeline is None else pipeline.get("pipeline"),
        "explanations": None,
    }
    if isinstance(explanations, dict):
        out["explanations"] = {
            "method": explanations.get("method"),
            "metric": explanations.get("metric"),
            "rows": explanations.get("rows"),
            "repeats": explanations.get("repeats"),
            "overall": _top(explanations.get("overall"), TOP_OVERALL),
            "per_class_metric": explanations.get("per_class_metric"),
            "per_class": {
                str(label): _top(ranking, TOP_PER_CLASS)
                for label, ranking in (explanations.get("per_class") or {}).items()
            },
            "shap": _shap_ranking(explanations.get("shap")),
        }
    return out


def _number(value: Any) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.4g}"


def _bars(rows: list[dict[str, Any]], caption: str) -> str:
    """A ranking as a table with a proportional bar per feature (static HTML, no script)."""
    finite = [r["importance"] for r in rows if isinstance(r["importance"], int | float)]
    scale = max((abs(v) for v in finite), default=0.0) or 1.0
    body = "".join(
        f"<tr><td>{escape(r['feature'])}</td><td class=num>{_number(r['importance'])}</td>"
        f'<td class=num>{_number(r["std"])}</td><td><div class=bar style="width:'
        f'{100 * abs(r["importance"]) / scale if isinstance(r["importance"], int | float) else 0:.1f}%">'
        "</div></td></tr>"
        for r in rows
    )
    head = "<tr><th>feature</th><th class=num>importance</th><th class=num>std</th><th></th></tr>"
    return f"<table class=importance><caption>{escape(caption)}</caption>{head}{body}</table>"


def render_model(m: dict[str, Any]) -> str:
    """The section's HTML for the data of :func:`collect_model`."""
    if not m["model_file"] and not m["explanations"]:
        return '<p class="empty">No model was refit for this run (refit off, or not finished).</p>'
    parts = []
    facts = []
    if m["pipeline"]:
        facts.append(f"best pipeline: <b>{escape(str(m['pipeline']))}</b>")
    if m["model_file"]:
        facts.append(f"fitted on all rows: <code>{escape(m['model_file'])}</code>")
    if facts:
        parts.append(f"<p>{' &middot; '.join(facts)}</p>")
    e = m["explanations"]
    if not e:
        parts.append('<p class="empty">No explanations (set automl.explain=true).</p>')
        return "".join(parts)
    parts.append(
        f"<p class=note>{escape(str(e['method']))} importance: the drop in {escape(str(e['metric']))}"
        f" when a feature's values are shuffled ({e['rows']} rows, {e['repeats']} repeats).</p>"
    )
    parts.append(_bars(e["overall"], "overall"))
    if e["shap"]:
        parts.append(_bars(e["shap"], "SHAP: mean |value|"))
    if e["per_class"]:
        per_class = "".join(
            _bars(rows, f"class {label}") for label, rows in sorted(e["per_class"].items())
        )
        parts.append(
            f"<details><summary>per class ({escape(str(e['per_class_metric']))}), top "
            f"{TOP_PER_CLASS} each</summary><div class=per-class>{per_class}</div></details>"
        )
    return "".join(parts)
