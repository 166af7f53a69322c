"""Everything the report shows, gathered from a run dir as plain JSON data.

Built from the journal alone (:func:`hpt.journal.read_journal` + :meth:`SweepState.replay`), plus
the saved config and the recorded environment when they are there, so it works for any run dir,
finished or still being written (the journal is only read).
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path
from typing import Any

from hpt.history import saved_config, short_target, sweep_status
from hpt.journal import read_journal
from hpt.report._environment import read_environment
from hpt.report._model import collect_model
from hpt.results import best_trial
from hpt.secrets import REDACTED, SECRET_KEY
from hpt.state import SweepState, TrialState
from hpt.trial import TrialStatus


def _finite(value: Any) -> float | None:
    """JSON has no NaN: unknown and non-finite numbers become ``None``."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def redacted_config(run_dir: Path, fallback: dict[str, Any]) -> dict[str, Any]:
    """The resolved config with environment values (and anything secret-looking) as ``***``."""
    from omegaconf import OmegaConf

    from hpt.secrets import redact_config

    config: dict[str, Any] = {}
    path = run_dir / "hpt_config.yaml"
    if path.exists():
        try:
            node = OmegaConf.load(path)
            config = redact_config(node) if hasattr(node, "keys") else {}  # type: ignore[arg-type]
        except Exception:  # an unresolvable interpolation: show it unresolved
            config = saved_config(run_dir)
    scrubbed = _scrub(config or fallback)
    return scrubbed if isinstance(scrubbed, dict) else {}


def _scrub(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            str(k): REDACTED
            if SECRET_KEY.search(str(k)) and isinstance(v, str) and v
            else _scrub(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_scrub(v) for v in node]
    return "***" if isinstance(node, str) and "${oc.env:" in node.replace(" ", "") else node


def _duration(trial: TrialState) -> float | None:
    if trial.started_at is None or trial.ended_at is None:
        return None
    return max(0.0, trial.ended_at - trial.started_at)


def _trial(trial: TrialState, n_folds: int | None) -> dict[str, Any]:
    folds: list[float | None] = []
    if n_folds:
        folds = [
            _finite(trial.folds[k].test_score) if k in trial.folds else None for k in range(n_folds)
        ]
    return {
        "id": trial.trial_id,
        "n": trial.number,
        "status": trial.status.value,
        "params": _plain(trial.params),
        "value": _finite(trial.value),
        "values": [_finite(v) for v in trial.values],
        "folds": folds,
        "start": trial.started_at,
        "end": trial.ended_at,
        "duration": _duration(trial),
        "attempts": trial.attempt,
        "lost": trial.lost_attempts,
        "host": trial.host,
        "error": trial.error,
    }


def _varying(trials: list[TrialState]) -> list[str]:
    """The dimensions that take more than one value (fixed ones are in the summary's config)."""
    names = sorted({k for t in trials for k in t.params})
    varying = [k for k in names if len({repr(t.params.get(k)) for t in trials}) > 1]
    return varying or names


def early_termination(trials: list[TrialState]) -> dict[str, Any]:
    """Compute saved by early termination, estimated from the completed trials.

    A terminated trial that ran ``k`` of the ``K`` intervals a completed trial runs would have
    needed ``duration * K / k``; the difference, summed, is the estimate of trial-seconds saved.
    """
    completed = [t for t in trials if t.status is TrialStatus.COMPLETED and t.values]
    terminated = [t for t in trials if t.status is TrialStatus.TERMINATED]
    spent = sum(d for d in (_duration(t) for t in trials if t.status.is_finished()) if d)
    out: dict[str, Any] = {
        "terminated": len(terminated),
        "spent_seconds": spent,
        "saved_seconds": None,
        "saved_fraction": None,
        "intervals_skipped": None,
        "full_intervals": None,
    }
    if not completed or not terminated:
        return out
    full = max(len(t.values) for t in completed)
    saved = 0.0
    skipped = 0
    for trial in terminated:
        done = max(1, len(trial.values))
        duration = _duration(trial) or 0.0
        saved += max(0.0, duration * full / done - duration)
        skipped += max(0, full - len(trial.values))
    out.update(
        saved_seconds=saved,
        saved_fraction=saved / (spent + saved) if spent + saved > 0 else None,
        intervals_skipped=skipped,
        full_intervals=full,
    )
    return out


def _audit(events: list[dict[str, Any]], state: SweepState) -> list[dict[str, Any]]:
    """One row per stop the policy asked for, with the trial's outcome."""
    rows = []
    for event in events:
        if event.get("event") != "stop_requested":
            continue
        reason = event.get("reason") or {}
        trial = state.trials.get(str(event.get("trial_id")))
        rows.append(
            {
                "trial": event.get("trial_id"),
                "t": event.get("t"),
                "interval": reason.get("interval"),
                "value": _finite(reason.get("value")),
                "threshold": _finite(reason.get("threshold")),
                "rule": reason.get("rule"),
                "outcome": trial.status.value if trial is not None else "?",
            }
        )
    return rows


def collect(run_dir: Path) -> dict[str, Any]:
    """The report's data for ``run_dir`` (see the module docstring)."""
    events = read_journal(run_dir)
    state = SweepState.replay(events)
    header = state.header
    result_config = header.get("config") or {}
    config = redacted_config(run_dir, result_config)
    metric_cfg = result_config.get("metric") or config.get("metric") or {}
    metric = str(metric_cfg.get("primary_metric", "metric"))
    goal = str(metric_cfg.get("goal", "maximize"))
    cv = config.get("cv") or result_config.get("cv") or {}
    trainer = (config.get("trainer") or {}).get("kind", "cv")
    n_folds = int(cv.get("n_splits", 0)) if trainer == "cv" and cv else None
    trials = state.ordered()
    best = best_trial(state, goal)
    durations = [d for d in (_duration(t) for t in trials) if d is not None]
    first_t = events[0]["t"] if events else None
    last_t = events[-1]["t"] if events else None
    counts = {s.value: state.count(s) for s in TrialStatus if state.count(s)}
    failures = [
        {
            "trial": t.trial_id,
            "status": t.status.value,
            "error": t.error,
            "error_type": t.error_type,
            "traceback": t.traceback,
            "params": _plain(t.params),
        }
        for t in trials
        if t.status in (TrialStatus.FAILED, TrialStatus.TIMED_OUT) or (t.error and t.traceback)
    ]
    sessions = [
        {"event": e["event"], "t": e.get("t"), "reason": e.get("reason")}
        for e in events
        if e.get("event") in ("sweep_created", "sweep_resumed", "sweep_finished",
                              "sweep_aborted", "sweep_interrupted", "budget_extended")
    ]  # fmt: skip
    return {
        "run_dir": str(run_dir.resolve()),
        "generated_at": time.time(),
        "status": sweep_status(run_dir, events[-1]["event"] if events else None),
        "end_reason": state.end_reason,
        "experiment": str(config.get("experiment") or config.get("name") or "-"),
        "metric": metric,
        "goal": goal,
        "n_folds": n_folds,
        "summary": {
            "data": _plain(config.get("dataset") or result_config.get("dataset")),
            "features": _plain(config.get("features") or result_config.get("features")),
            "data_fingerprint": header.get("data_fingerprint"),
            "model": _plain(config.get("model") or result_config.get("model")),
            "sampler": _plain(config.get("sampler") or result_config.get("sampler")),
            "sampler_name": short_target(config.get("sampler") or result_config.get("sampler")),
            "policy": _plain(config.get("policy") or result_config.get("policy")),
            "compute": _plain(config.get("compute")),
            "compute_name": short_target(config.get("compute")),
            "limits": _plain(config.get("resources")),
            "plan": header.get("plan") or [],
            "max_total_runs": state.max_total_runs,
        },
        "best": None
        if best is None
        else {"trial": best.trial_id, "value": _finite(best.value), "params": _plain(best.params)},
        "counts": counts,
        "n_trials": len(trials),
        "times": {
            "started": first_t,
            "last_event": last_t,
            "elapsed_seconds": state.elapsed_seconds(),
            "trial_seconds": sum(durations),
            "mean_trial_seconds": statistics.fmean(durations) if durations else None,
            "median_trial_seconds": statistics.median(durations) if durations else None,
        },
        "early_termination": early_termination(trials),
        "param_names": _varying(trials),
        "trials": [_trial(t, n_folds) for t in trials],
        "audit": _audit(events, state),
        "failures": failures,
        "sessions": sessions,
        "config": _plain(config),
        "environment": read_environment(run_dir),
        "model": collect_model(run_dir),
    }
