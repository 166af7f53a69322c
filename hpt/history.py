"""Run history: ``hpt runs``, ``hpt show``, ``hpt best``, ``hpt compare``.

Readers only: they never take a run dir's writer lock and never write anything, so they work on
sweeps that are still running. ``hpt runs`` stays cheap over many run dirs: per run it reads the
journal's first line (``sweep_created``), the journal's last few kilobytes (how it ended),
``best.json`` and the saved config's name, never the whole journal.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hpt.config import config_differences
from hpt.errors import ConfigError
from hpt.journal import JOURNAL_NAME, read_journal
from hpt.rundir import lock_holder
from hpt.state import SweepState

TAIL_BYTES = 64 * 1024
_END_STATUS = {
    "sweep_finished": "finished",
    "sweep_aborted": "aborted",
    "sweep_interrupted": "interrupted",
}


def _json_line(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def header_and_tail(run_dir: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The journal's first event and the complete events of its last :data:`TAIL_BYTES`."""
    path = run_dir / JOURNAL_NAME
    try:
        with open(path, "rb") as handle:
            first = _json_line(handle.readline())
            size = handle.seek(0, 2)
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read()
    except OSError:
        return None, []
    lines = tail.split(b"\n")
    if size > TAIL_BYTES:
        lines = lines[1:]  # the first piece is a partial line
    events = [e for e in (_json_line(raw) for raw in lines if raw.strip()) if e is not None]
    return first, events


def sweep_status(run_dir: Path, last_event: str | None) -> str:
    """``finished``, ``aborted``, ``interrupted`` (the last session's end event, or no end event
    and nobody writing: the driver died), or ``running`` (a writer holds the lock)."""
    if last_event in _END_STATUS:
        return _END_STATUS[last_event]
    if lock_holder(run_dir) is not None:
        return "running"
    return "empty" if last_event is None else "interrupted"


def saved_config(run_dir: Path) -> dict[str, Any]:
    """``hpt_config.yaml`` as plain data, unresolved (secrets stay ``${oc.env:...}``)."""
    from omegaconf import OmegaConf

    path = run_dir / "hpt_config.yaml"
    if not path.exists():
        return {}
    try:
        data = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except Exception:
        return {}
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}


def short_target(node: Any) -> str:
    """``launchers.local.LocalLauncher`` -> ``LocalLauncher``; ``-`` when absent."""
    target = node.get("_target_") if isinstance(node, dict) else None
    return str(target).rsplit(".", 1)[-1] if target else "-"


@dataclass
class RunInfo:
    """One line of ``hpt runs``."""

    run_dir: Path
    started: float | None
    experiment: str
    sampler: str
    compute: str
    trials: int
    metric: str
    best: float | None
    status: str
    counts: dict[str, int] = field(default_factory=dict)


def run_info(run_dir: Path) -> RunInfo | None:
    """The cheap summary of a run dir, or ``None`` when it holds no journal header."""
    header, tail = header_and_tail(run_dir)
    if header is None or header.get("event") != "sweep_created":
        return None
    config = saved_config(run_dir)
    result_config = header.get("config") or {}
    best: dict[str, Any] = {}
    try:
        best = json.loads((run_dir / "best.json").read_text())
    except (OSError, ValueError):
        pass
    numbers = [int(e["number"]) for e in tail if e.get("event") == "proposed"]
    trials = int(best.get("n_trials") or 0)
    trials = max(trials, (max(numbers) + 1) if numbers else 0)
    experiment = config.get("experiment") or config.get("name") or "-"
    return RunInfo(
        run_dir=run_dir,
        started=header.get("t"),
        experiment=str(experiment),
        sampler=short_target(result_config.get("sampler") or config.get("sampler")),
        compute=short_target(config.get("compute")),
        trials=trials,
        metric=str((result_config.get("metric") or {}).get("primary_metric", "-")),
        best=best.get("best_score"),
        status=sweep_status(run_dir, tail[-1]["event"] if tail else None),
        counts=dict(best.get("status_counts") or {}),
    )


def find_runs(root: Path) -> list[Path]:
    """Every run dir under ``root`` (a dir holding a journal), oldest first by path."""
    if (root / JOURNAL_NAME).exists():
        return [root]
    return sorted(p.parent for p in root.rglob(JOURNAL_NAME))


def _when(t: float | None) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _value(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.5f}" if isinstance(v, float) else str(v)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def fail(err: BaseException, code: int = 2) -> int:
    """The CLI's one-line error (``HPT_DEBUG=1`` raises instead). Mirrors :func:`hpt.cli.fail`,
    which this module cannot import: hpt.cli -> hpt.api -> hpt.session -> hpt.report -> here."""
    if os.environ.get("HPT_DEBUG", "") not in ("", "0", "false"):
        raise err
    sys.stderr.write(f"hpt: error: {err}\n")
    return code


def _run_dir_arg(value: str) -> Path:
    path = Path(value)
    if not (path / JOURNAL_NAME).exists():
        raise ConfigError("run_dir", f"{value!r} holds no sweep journal; check the path")
    return path


# -- commands ----------------------------------------------------------------------------------
def cmd_runs(argv: list[str]) -> int:
    """``hpt runs [--root outputs]``: one line per past sweep."""

    parser = argparse.ArgumentParser(prog="hpt runs", description="list past sweeps")
    parser.add_argument("--root", default="outputs", help="where to look (default: outputs)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not root.is_dir():
        return fail(ConfigError("--root", f"{args.root!r} is not a directory; check the path"))
    infos = [i for i in (run_info(p) for p in find_runs(root)) if i is not None]
    if not infos:
        print(f"no sweeps under {root}")
        return 0
    rows = [["WHEN", "EXPERIMENT", "SAMPLER", "COMPUTE", "TRIALS", "BEST", "STATUS", "RUN DIR"]]
    for info in sorted(infos, key=lambda i: i.started or 0.0):
        rows.append(
            [
                _when(info.started),
                info.experiment,
                info.sampler,
                info.compute,
                str(info.trials),
                f"{info.metric} {_value(info.best)}",
                info.status,
                str(info.run_dir),
            ]
        )
    print(_table(rows))
    return 0


def _replay(run_dir: Path) -> SweepState:
    return SweepState.replay(read_journal(run_dir))


def cmd_show(argv: list[str]) -> int:
    """``hpt show RUN_DIR``: the sweep's plan, counts, best and top trials."""
    from hpt.results import best_trial

    parser = argparse.ArgumentParser(prog="hpt show", description="summarise one sweep")
    parser.add_argument("run_dir")
    parser.add_argument("--top", type=int, default=5, help="how many of the best trials to list")
    args = parser.parse_args(argv)
    try:
        run_dir = _run_dir_arg(args.run_dir)
    except ConfigError as err:
        return fail(err)
    info = run_info(run_dir)
    state = _replay(run_dir)
    metric = state.header.get("config", {}).get("metric", {})
    goal = str(metric.get("goal", "maximize"))
    print(f"run dir:    {run_dir.resolve()}")
    if info is not None:
        print(
            f"experiment: {info.experiment}   status: {info.status}   started: {_when(info.started)}"
        )
        print(f"sampler:    {info.sampler}   compute: {info.compute}")
    for line in state.header.get("plan") or []:
        print(f"  {line}")
    counts = {s.value: state.count(s) for s in {t.status for t in state.trials.values()}}
    print(
        f"trials:     {len(state.trials)} ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))})"
    )
    print(f"elapsed:    {_duration(state.elapsed_seconds())}")
    best = best_trial(state, goal)
    if best is None:
        print("best:       no trial completed")
    else:
        print(
            f"best:       {metric.get('primary_metric')} {_value(best.value)} (trial {best.trial_id})"
        )
        print(f"            {json.dumps(best.params, sort_keys=True, default=str)}")
    sign = 1.0 if goal == "maximize" else -1.0
    ranked = sorted(
        (t for t in state.ordered() if t.value is not None and not math.isnan(t.value)),
        key=lambda t: (-sign * (t.value or 0.0), t.number),
    )[: args.top]
    if ranked:
        rows = [["TRIAL", "STATUS", "VALUE", "PARAMS"]]
        rows += [
            [
                t.trial_id,
                t.status.value,
                _value(t.value),
                json.dumps(t.params, sort_keys=True, default=str),
            ]
            for t in ranked
        ]
        print(_table(rows))
    report = run_dir / "report.html"
    print(f"report:     {report if report.exists() else f'hpt report {run_dir}'}")
    return 0


def _duration(seconds: float) -> str:
    from hpt.progress import format_duration

    return format_duration(seconds)


def _override_value(value: Any) -> str:
    """A value as Hydra reads it back exactly (JSON-like literals; strings quoted when needed)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    plain = text.replace("_", "").replace("-", "").replace(".", "").replace(":", "")
    return text if plain.isalnum() else "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def rerun_overrides(run_dir: Path, params: dict[str, Any]) -> list[str]:
    """Overrides that run exactly ``params`` again: the sweep's own overrides (if it was started
    by the ``hpt`` command), with every sampled dimension fixed, one trial and no policy."""
    from omegaconf import OmegaConf

    fixed = {f"search_space.{k}": _override_value(v) for k, v in sorted(params.items())}
    replaced = {*fixed, "resources.max_total_runs"}
    groups = ("policy", "sampler")  # replaced whole, with every override under them
    previous: list[str] = []
    saved = run_dir / ".hydra" / "overrides.yaml"
    if saved.exists():
        loaded = OmegaConf.to_container(OmegaConf.load(saved), resolve=False)  # keep ${oc.env:..}
        previous = [str(o) for o in loaded] if isinstance(loaded, list) else []

    def dropped(override: str) -> bool:
        key = override.split("=", 1)[0].lstrip("+~")
        return key in replaced or key.split(".", 1)[0] in groups

    kept = [o for o in previous if not dropped(o)]
    tail = ["sampler=grid", "policy=none", "resources.max_total_runs=1"]
    return [*kept, *(f"{k}={v}" for k, v in fixed.items()), *tail]


def cmd_best(argv: list[str]) -> int:
    """``hpt best RUN_DIR``: the best params, and the command that re-runs exactly them."""
    from hpt.results import best_trial

    parser = argparse.ArgumentParser(prog="hpt best", description="the best configuration")
    parser.add_argument("run_dir")
    parser.add_argument("--json", action="store_true", help="print best.json-style JSON only")
    args = parser.parse_args(argv)
    try:
        run_dir = _run_dir_arg(args.run_dir)
    except ConfigError as err:
        return fail(err)
    state = _replay(run_dir)
    metric = state.header.get("config", {}).get("metric", {})
    best = best_trial(state, str(metric.get("goal", "maximize")))
    if best is None:
        sys.stderr.write(f"hpt: no trial of {run_dir} completed yet\n")
        return 1
    overrides = rerun_overrides(run_dir, dict(best.params))
    if args.json:
        print(
            json.dumps(
                {
                    "metric": metric.get("primary_metric"),
                    "best_score": best.value,
                    "trial_id": best.trial_id,
                    "best_params": best.params,
                    "overrides": overrides,
                },
                indent=2,
                default=str,
            )
        )
        return 0
    print(f"best {metric.get('primary_metric')}: {_value(best.value)} (trial {best.trial_id})")
    for key, value in sorted(best.params.items()):
        print(f"  {key}: {value!r}")
    _print_refit_model(run_dir)
    print("re-run exactly this configuration:")
    print("  hpt " + " ".join(shlex.quote(o) for o in overrides))
    if not (run_dir / ".hydra" / "overrides.yaml").exists():
        print(
            "  (the sweep was started from Python: apply the search_space overrides to its config)"
        )
    return 0


def _print_refit_model(run_dir: Path) -> None:
    """The refit model's file, the AutoML pipeline and its top features, when the run has them."""
    from hpt.report._model import collect_model

    model = collect_model(run_dir)
    if model["pipeline"]:
        print(f"pipeline: {model['pipeline']}")
    if model["model_file"]:
        print(f"fitted on all rows: {run_dir / model['model_file']}")
    explanations = model["explanations"]
    if explanations and explanations["overall"]:
        top = ", ".join(
            f"{e['feature']} ({e['importance']:.3g})" for e in explanations["overall"][:5]
        )
        print(f"most important ({explanations['method']}): {top}")
        print(f"  all of them: {run_dir / 'explanations.csv'}")


def cmd_compare(argv: list[str]) -> int:
    """``hpt compare RUN_DIR RUN_DIR``: two sweeps side by side, and how their configs differ."""
    from hpt.results import best_trial

    parser = argparse.ArgumentParser(prog="hpt compare", description="compare two sweeps")
    parser.add_argument("run_dirs", nargs=2, metavar="RUN_DIR")
    args = parser.parse_args(argv)
    try:
        dirs = [_run_dir_arg(d) for d in args.run_dirs]
    except ConfigError as err:
        return fail(err)
    columns = []
    states = []
    for run_dir in dirs:
        info = run_info(run_dir)
        state = _replay(run_dir)
        states.append(state)
        metric = state.header.get("config", {}).get("metric", {})
        best = best_trial(state, str(metric.get("goal", "maximize")))
        counts = {s.value: state.count(s) for s in {t.status for t in state.trials.values()}}
        columns.append(
            [
                str(run_dir),
                info.experiment if info else "-",
                info.status if info else "-",
                info.sampler if info else "-",
                info.compute if info else "-",
                ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "0",
                str(metric.get("primary_metric", "-")),
                _value(best.value) if best else "-",
                best.trial_id if best else "-",
                json.dumps(best.params, sort_keys=True, default=str) if best else "-",
                _duration(state.elapsed_seconds()),
            ]
        )
    labels = [
        "run dir", "experiment", "status", "sampler", "compute", "trials", "metric",
        "best", "best trial", "best params", "elapsed",
    ]  # fmt: skip
    rows = [["", "A", "B"]] + [
        [label, a, b] for label, a, b in zip(labels, columns[0], columns[1], strict=True)
    ]
    print(_table(rows))
    differences = config_differences(
        states[0].header.get("config", {}), states[1].header.get("config", {})
    )
    print("config differences (A -> B):" if differences else "same result config")
    for line in differences:
        print(f"  {line}")
    return 0
