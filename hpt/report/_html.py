"""The report as one self-contained HTML file: static sections rendered here, the table and the
plots drawn in the browser by ``report.js`` from a JSON island (no network, no libraries)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from html import escape
from importlib import resources
from typing import Any

from hpt.progress import format_duration as _hms
from hpt.report._model import render_model


def format_duration(seconds: Any) -> str:
    """``0.21 s`` under a minute (trials of small sweeps), ``0:02:36`` above."""
    if isinstance(seconds, int | float) and 0 <= seconds < 60:
        return f"{seconds:.2f} s"
    return _hms(seconds)


def _asset(name: str) -> str:
    return resources.files("hpt.report").joinpath(name).read_text(encoding="utf-8")


def _when(t: Any) -> str:
    return datetime.fromtimestamp(float(t)).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.5f}" if 1e-3 <= abs(value) < 1e6 or value == 0 else f"{value:.4e}"
    return str(value)


def _compact(node: Any) -> str:
    """A config node in one line: ``XGBClassifier(random_state=0, n_jobs=1)`` style."""
    if not isinstance(node, dict):
        return "-" if node is None else str(node)
    target = node.get("_target_")
    rest = ", ".join(f"{k}={v}" for k, v in node.items() if k != "_target_" and v is not None)
    return f"{target}({rest})" if target else rest or "-"


def _kv(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _card(key: str, value: str) -> str:
    return f'<div class="card"><div class="k">{escape(key)}</div><div class="v">{escape(value)}</div></div>'


def _summary(d: dict[str, Any]) -> str:
    s, times, et = d["summary"], d["times"], d["early_termination"]
    best = d["best"]
    counts = ", ".join(f"{n} {k}" for k, n in sorted(d["counts"].items())) or "none"
    saved = "-"
    if et["saved_seconds"] is not None:
        saved = (
            f"~{format_duration(et['saved_seconds'])} of trial time "
            f"({100 * (et['saved_fraction'] or 0):.0f}%), {et['intervals_skipped']} interval(s) "
            f"skipped by {et['terminated']} terminated trial(s) of {et['full_intervals']} intervals"
        )
    elif et["terminated"]:
        saved = f"{et['terminated']} trial(s) terminated; no completed trial to estimate against"
    cards = "".join(
        [
            _card(f"best {d['metric']}", _num(best["value"]) if best else "-"),
            _card("best trial", best["trial"] if best else "-"),
            _card(
                "trials",
                f"{d['n_trials']}" + (f" / {s['max_total_runs']}" if s["max_total_runs"] else ""),
            ),
            _card("status", d["status"]),
            _card("elapsed", format_duration(times["elapsed_seconds"])),
        ]
    )
    data = s["data"] or {}
    data_text = _compact(data) + (
        f"; features: {', '.join((s['features'] or {}).get('sets') or []) or 'none'}"
        if s["features"]
        else ""
    )
    rows = [
        ("experiment", d["experiment"]),
        ("run dir", d["run_dir"]),
        (
            "data",
            data_text
            + (f" (fingerprint {s['data_fingerprint']})" if s["data_fingerprint"] else ""),
        ),
        ("model", _compact(s["model"])),
        ("sampler", _compact(s["sampler"])),
        ("policy", _compact(s["policy"])),
        ("compute", _compact(s["compute"])),
        ("limits", _compact(s["limits"])),
        (
            "metric",
            f"{d['metric']} ({d['goal']})" + (f", {d['n_folds']}-fold CV" if d["n_folds"] else ""),
        ),
        ("best params", json.dumps(best["params"], sort_keys=True) if best else "-"),
        ("trials by status", counts),
        ("started / last event", f"{_when(times['started'])} / {_when(times['last_event'])}"),
        (
            "durations",
            f"elapsed {format_duration(times['elapsed_seconds'])}; trial time "
            f"{format_duration(times['trial_seconds'])}; per trial mean "
            f"{format_duration(times['mean_trial_seconds'])}, median "
            f"{format_duration(times['median_trial_seconds'])}",
        ),
        ("saved by early termination", saved),
        (
            "ended",
            d["end_reason"] or ("still running" if d["status"] == "running" else d["status"]),
        ),
    ]
    plan = "".join(f"{escape(line)}\n" for line in s["plan"])
    plan_html = f"<details><summary>plan</summary><pre>{plan}</pre></details>" if plan else ""
    return f'<div class="cards">{cards}</div>{_kv(rows)}{plan_html}'


def _audit(d: dict[str, Any]) -> str:
    if not d["audit"]:
        return '<p class="empty">The policy stopped no trial.</p>'
    head = "<tr><th>trial</th><th>when</th><th class=num>interval</th><th class=num>value</th><th class=num>threshold</th><th>rule</th><th>outcome</th></tr>"
    body = "".join(
        f"<tr><td>{escape(str(r['trial']))}</td><td>{_when(r['t'])}</td>"
        f"<td class=num>{_num(r['interval'])}</td><td class=num>{_num(r['value'])}</td>"
        f"<td class=num>{_num(r['threshold'])}</td><td>{escape(str(r['rule']))}</td>"
        f"<td>{escape(str(r['outcome']))}</td></tr>"
        for r in d["audit"]
    )
    return f'<div class="scroll"><table id="audit-table">{head}{body}</table></div>'


def _failures(d: dict[str, Any]) -> str:
    if not d["failures"]:
        return '<p class="empty">No trial failed.</p>'
    items = []
    for f in d["failures"]:
        label = f"trial {f['trial']} ({f['status']}"
        label += f", {f['error_type']})" if f["error_type"] else ")"
        items.append(
            f'<details class="failure"><summary>{escape(label)}: {escape(str(f["error"] or ""))[:300]}'
            f"</summary><p class=note>params: {escape(json.dumps(f['params'], sort_keys=True))}</p>"
            f"<pre>{escape(f['traceback'] or 'no traceback recorded')}</pre></details>"
        )
    return "".join(items)


def _environment(d: dict[str, Any]) -> str:
    if not d["environment"]:
        return '<p class="empty">Not recorded (the sweep ran before hpt recorded environments).</p>'
    parts = []
    for i, env in enumerate(d["environment"]):
        packages = ", ".join(f"{k} {v}" for k, v in sorted(env.get("packages", {}).items()))
        parts.append(
            f"<h3>session {i + 1} ({_when(env.get('recorded_at'))})</h3>"
            + _kv(
                [
                    ("host", str(env.get("host"))),
                    ("platform", str(env.get("platform"))),
                    ("python", str(env.get("python"))),
                    ("packages", packages),
                    ("hpt git revision", str(env.get("hpt_git") or "-")),
                    ("working dir git revision", str(env.get("cwd_git") or "-")),
                ]
            )
        )
    return "".join(parts)


def _config(d: dict[str, Any]) -> str:
    from omegaconf import OmegaConf

    try:
        text = OmegaConf.to_yaml(OmegaConf.create(d["config"]))
    except Exception:
        text = json.dumps(d["config"], indent=2, default=str)
    return f"<pre id=config-yaml>{escape(text)}</pre>"


def _json_island(d: dict[str, Any]) -> str:
    # ``</`` would end the script element early; JSON allows ``<\/`` for it.
    text = json.dumps(d, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


SECTIONS = (
    ("summary", "Summary"),
    ("trials", "Trials"),
    ("intervals", "Primary metric over intervals"),
    ("best-so-far", "Best so far over time"),
    ("parallel", "Hyperparameters vs metric (parallel coordinates)"),
    ("folds", "Per-fold scores of the top trials"),
    ("model", "Best model and explanations"),
    ("audit", "Early-termination audit"),
    ("failures", "Failures"),
    ("config", "Resolved config (secrets redacted)"),
    ("environment", "Environment"),
)


def render(d: dict[str, Any]) -> str:
    """The whole report for the data of :func:`hpt.report._data.collect`."""
    static = {
        "summary": _summary(d),
        "trials": '<p class="note">Click a column to sort.</p><div class="scroll"><table id="trials-table"></table></div>',
        "intervals": '<div class="plot" id="plot-intervals"></div>',
        "best-so-far": '<div class="plot" id="plot-best"></div>',
        "parallel": '<div class="plot" id="plot-parallel"></div>',
        "folds": '<div class="plot" id="plot-folds"></div>',
        "model": render_model(d["model"]),
        "audit": _audit(d),
        "failures": _failures(d),
        "config": _config(d),
        "environment": _environment(d),
    }
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title in SECTIONS)
    body = "".join(
        f'<section id="{key}"><h2>{escape(title)}</h2>{static[key]}</section>'
        for key, title in SECTIONS
    )
    title = f"hpt report: {d['experiment']} ({d['metric']})"
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_asset('report.css')}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><div class=sub>{escape(d['run_dir'])} &middot; "
        f"{escape(d['status'])} &middot; generated {_when(d['generated_at'])}</div>"
        f"<nav>{nav}</nav></header><main>{body}</main>"
        f'<script type="application/json" id="hpt-data">{_json_island(d)}</script>'
        f"<script>{_asset('report.js')}</script></body></html>\n"
    )
