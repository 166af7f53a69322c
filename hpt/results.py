"""Derived result files, computed from the sweep state and written atomically (temp + rename).

* ``cv_results.csv`` -- scikit-learn's ``cv_results_`` layout plus ``trial_id`` and ``status``;
* ``sweeping_results.txt`` -- the seed scenario's format (``metric =  neg_log_loss`` then one
  ``mean: ..., std: ..., params: {...}`` line per fully evaluated configuration);
* ``best.json`` -- metric, goal, best score and params, trial id;
* ``metrics.csv`` -- every primary-metric report (the intervals) of every trial.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hpt.callbacks import SweepCallback
from hpt.events import TRIAL_TERMINAL, JournalEvent
from hpt.state import SweepState, TrialState
from hpt.trial import TrialStatus

# Trials whose folds were all evaluated (failed ones carry error_score in their failed folds).
_SCORED = (TrialStatus.COMPLETED, TrialStatus.FAILED)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` so that readers see the old file or the new one, never a torn one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _native(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _rank(means: np.ndarray) -> np.ndarray:
    """scikit-learn's ``rank_test_score``: dense 'min' ranks, NaN ranked last together."""
    from scipy.stats import rankdata

    if means.size == 0:
        return np.zeros(0, dtype=np.int32)
    if np.isnan(means).all():
        return np.ones(means.size, dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return np.asarray(rankdata(-filled, method="min"), dtype=np.int32)


def _is_scored(trial: TrialState, n_folds: int) -> bool:
    return trial.status in _SCORED and len(trial.folds) == n_folds


def metric_names(state: SweepState) -> list[str]:
    """The metrics of a multi-metric sweep (``metric.also``), primary first; ``[]`` when the
    folds carry the primary metric only. Read from the folds: the journal is the truth."""
    for trial in state.ordered():
        for fold in trial.folds.values():
            if fold.test_scores:
                return list(fold.test_scores)
    return []


def cv_results(
    state: SweepState, param_names: Sequence[str], n_folds: int, *, train_score: bool = False
) -> dict[str, Any]:
    """``cv_results_`` as scikit-learn lays it out, over finished trials in trial-number order.

    ``*_test_score`` columns hold the primary metric. When the folds carry several metrics
    (``metric.also``), scikit-learn's multi-metric columns follow for each of them, the primary
    one included: ``split<k>_test_<name>``, ``mean_test_<name>``, ``std_test_<name>``,
    ``rank_test_<name>`` (and ``*_train_<name>`` with train scores).

    Trials stopped early (terminated, timed out, cancelled) keep the folds they finished; their
    missing splits and their mean are NaN, so they rank last.
    """
    trials = [t for t in state.ordered() if t.status.is_finished()]
    n = len(trials)
    test = np.full((n, n_folds), np.nan)
    train = np.full((n, n_folds), np.nan)
    fit = np.full((n, n_folds), np.nan)
    score = np.full((n, n_folds), np.nan)
    for i, trial in enumerate(trials):
        for k, fold in trial.folds.items():
            test[i, k], fit[i, k], score[i, k] = fold.test_score, fold.fit_time, fold.score_time
            if fold.train_score is not None:
                train[i, k] = fold.train_score
    results: dict[str, Any] = {}

    def mean_std(array: np.ndarray, complete: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        means = np.full(n, np.nan)
        stds = np.full(n, np.nan)
        for i in range(n):
            if complete[i]:
                # Same arithmetic as scikit-learn's _store: np.average, then the weighted std.
                means[i] = np.average(array[i])
                stds[i] = np.sqrt(np.average((array[i] - means[i]) ** 2))
            else:
                row = array[i][~np.isnan(array[i])]
                if row.size:
                    means[i] = np.average(row)
                    stds[i] = np.sqrt(np.average((row - means[i]) ** 2))
        return means, stds

    scored = np.array([_is_scored(t, n_folds) for t in trials], dtype=bool)
    timed = np.array([len(t.folds) > 0 for t in trials], dtype=bool)
    results["mean_fit_time"], results["std_fit_time"] = mean_std(fit, scored & timed)
    results["mean_score_time"], results["std_score_time"] = mean_std(score, scored & timed)
    for name in param_names:
        results[f"param_{name}"] = [t.params.get(name) for t in trials]
    results["params"] = [dict(t.params) for t in trials]
    for k in range(n_folds):
        results[f"split{k}_test_score"] = test[:, k]
    means, stds = mean_std(test, scored)
    means[~scored] = np.nan
    stds[~scored] = np.nan
    results["mean_test_score"] = means
    results["std_test_score"] = stds
    results["rank_test_score"] = _rank(means)
    if train_score:
        for k in range(n_folds):
            results[f"split{k}_train_score"] = train[:, k]
        train_means, train_stds = mean_std(train, scored)
        train_means[~scored] = np.nan
        train_stds[~scored] = np.nan
        results["mean_train_score"] = train_means
        results["std_train_score"] = train_stds
    for name in metric_names(state):
        for part, wanted in (("test", True), ("train", train_score)):
            if not wanted:
                continue
            values = np.full((n, n_folds), np.nan)
            for i, trial in enumerate(trials):
                for k, fold in trial.folds.items():
                    named = fold.test_scores if part == "test" else fold.train_scores
                    if named and name in named:
                        values[i, k] = named[name]
            for k in range(n_folds):
                results[f"split{k}_{part}_{name}"] = values[:, k]
            named_means, named_stds = mean_std(values, scored)
            named_means[~scored] = np.nan
            named_stds[~scored] = np.nan
            results[f"mean_{part}_{name}"] = named_means
            results[f"std_{part}_{name}"] = named_stds
            if part == "test":
                results[f"rank_test_{name}"] = _rank(named_means)
    results["trial_id"] = [t.trial_id for t in trials]
    results["status"] = [t.status.value for t in trials]
    return results


def best_trial(state: SweepState, goal: str = "maximize") -> TrialState | None:
    """The completed trial with the best final value (lowest trial number on ties)."""
    candidates = [
        t for t in state.ordered() if t.status is TrialStatus.COMPLETED and t.value is not None
    ]
    candidates = [t for t in candidates if not math.isnan(t.value or math.nan)]
    if not candidates:
        return None
    sign = 1.0 if goal == "maximize" else -1.0
    return max(candidates, key=lambda t: (sign * (t.value or 0.0), -t.number))


def sweeping_results_text(state: SweepState, metric: str, n_folds: int | None) -> str:
    """The seed's ``sweeping_results.txt``; ``n_folds=None`` for script trainers (no folds)."""
    lines = [f"metric =  {metric}"]
    for trial in state.ordered():
        params = {k: _native(v) for k, v in trial.params.items()}
        if n_folds is not None:
            if not _is_scored(trial, n_folds):
                continue
            scores = np.array([trial.folds[k].test_score for k in range(n_folds)])
            mean = float(np.average(scores))
            std = float(np.sqrt(np.average((scores - mean) ** 2)))
        else:
            if trial.status is not TrialStatus.COMPLETED or trial.value is None:
                continue
            mean, std = trial.value, 0.0
        lines.append(f"mean: {mean:.5f}, std: {std:.5f}, params: {params}")
    return "\n".join(lines) + "\n"


def _csv_cell(value: Any) -> str:
    value = _native(value)
    if isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, default=str)
    elif isinstance(value, float):
        text = "" if math.isnan(value) else repr(value)
    elif value is None:
        text = ""
    else:
        text = str(value)
    if any(c in text for c in ',"\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def table_csv(columns: dict[str, Any]) -> str:
    names = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    rows = [",".join(names)]
    for i in range(n):
        rows.append(",".join(_csv_cell(columns[c][i]) for c in names))
    return "\n".join(rows) + "\n"


def metrics_csv(state: SweepState) -> str:
    columns: dict[str, list[Any]] = {"trial_id": [], "interval": [], "value": [], "fold": []}
    for trial in state.ordered():
        for i, (value, fold) in enumerate(trial.reports, start=1):
            columns["trial_id"].append(trial.trial_id)
            columns["interval"].append(i)
            columns["value"].append(value)
            columns["fold"].append(fold)
    return table_csv(columns)


def _mean_scores(trial: TrialState, names: Sequence[str]) -> dict[str, float]:
    """Every metric's mean over the folds of ``trial`` (multi-metric sweeps)."""
    out: dict[str, float] = {}
    for name in names:
        values = [f.test_scores[name] for f in trial.folds.values() if f.test_scores]
        out[name] = float(np.average(values)) if values else math.nan
    return out


def best_json(state: SweepState, metric: str, goal: str) -> dict[str, Any]:
    best = best_trial(state, goal)
    counts = {s.value: state.count(s) for s in TrialStatus if state.count(s)}
    names = metric_names(state)
    extra: dict[str, Any] = {}
    if names:
        extra["metrics"] = names
        extra["best_scores"] = None if best is None else _mean_scores(best, names)
    return {
        "metric": metric,
        "goal": goal,
        **extra,
        "best_score": None if best is None else best.value,
        "best_params": None if best is None else {k: _native(v) for k, v in best.params.items()},
        "trial_id": None if best is None else best.trial_id,
        "n_trials": len(state.trials),
        "status_counts": counts,
    }


def write_results(
    run_dir: Path,
    state: SweepState,
    *,
    metric: str,
    goal: str,
    param_names: Sequence[str],
    n_folds: int | None,
    train_score: bool = False,
) -> None:
    """(Re)write every derived table of ``run_dir`` from ``state`` (not the per-trial files)."""
    if n_folds is not None:
        atomic_write_text(
            run_dir / "cv_results.csv",
            table_csv(cv_results(state, param_names, n_folds, train_score=train_score)),
        )
    atomic_write_text(
        run_dir / "sweeping_results.txt", sweeping_results_text(state, metric, n_folds)
    )
    atomic_write_text(
        run_dir / "best.json",
        json.dumps(best_json(state, metric, goal), indent=2, default=str) + "\n",
    )
    atomic_write_text(run_dir / "metrics.csv", metrics_csv(state))


def write_error_file(run_dir: Path, trial: TrialState) -> None:
    """``trials/<id>/error.txt`` with the trial's traceback (once, when the trial fails)."""
    if not trial.traceback:
        return
    trial_dir = run_dir / "trials" / trial.trial_id
    trial_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(trial_dir / "error.txt", trial.traceback)


class ResultFiles(SweepCallback):
    """Keeps the derived files of a run dir up to date, in time linear in the sweep's length.

    The tables are rewritten while trials end at most once every ``min_interval`` seconds, and
    never more often than ten times the last rewrite took (so however long the sweep grows, the
    rewrites cost at most about a tenth of the driver's time), and always at the end of the
    session. A failed trial's ``error.txt`` is written once, when it fails. The journal stays the
    truth: these files are a view of it, and ``hpt report``/``resume`` rebuild them.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        metric: str,
        goal: str,
        param_names: Sequence[str],
        n_folds: int | None,
        train_score: bool = False,
        min_interval: float = 1.0,
    ) -> None:
        self.run_dir = run_dir
        self.metric = metric
        self.goal = goal
        self.param_names = list(param_names)
        self.n_folds = n_folds
        self.train_score = train_score
        self.min_interval = min_interval
        self._next_write = 0.0

    def write(self, state: SweepState) -> None:
        started = time.monotonic()
        write_results(
            self.run_dir,
            state,
            metric=self.metric,
            goal=self.goal,
            param_names=self.param_names,
            n_folds=self.n_folds,
            train_score=self.train_score,
        )
        now = time.monotonic()
        self._next_write = now + max(self.min_interval, 10 * (now - started))

    def on_start(self, state: SweepState, *, resumed: bool) -> None:
        self.write(state)

    def on_event(self, record: dict[str, Any], state: SweepState) -> None:
        kind = record["event"]
        if kind not in TRIAL_TERMINAL:
            return
        if kind == JournalEvent.FAILED:
            trial = state.trials.get(str(record.get("trial_id")))
            if trial is not None:
                write_error_file(self.run_dir, trial)
        if time.monotonic() >= self._next_write:
            self.write(state)

    def on_finishing(self, state: SweepState) -> None:
        self.write(state)  # unthrottled: a kill after sweep_finished leaves nothing to redo

    def on_end(self, state: SweepState, reason: str | None) -> None:
        self.write(state)
