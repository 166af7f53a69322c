"""Early termination measured live: what each policy saves, and what it costs in best score.

    .venv/bin/python benchmarks/bench_policies.py            # ~5 min on 2 idle cores
    .venv/bin/python benchmarks/bench_policies.py --quick    # a 1-minute smoke run

The same random search -- ``--configs`` XGBoost configurations drawn by hpt's RandomSampler with
one seed, 200 boosting rounds each, 3-fold CV, ``neg_log_loss`` reported on the held-out fold
every 10 rounds (``policy.interval_unit=round``: 60 intervals per trial), on a generated binary
problem (``make_classification``, ``--rows`` rows, label noise) -- runs as real sweeps (2 worker
processes, trials stopped for real) with:

* no policy, HyperDrive's median stopping (``evaluation_interval=1, delay_evaluation=5``),
  bandit (``slack_factor=0.1``, same interval settings: the seed's own example), truncation
  selection (``truncation_percentage=20``, same), and ASHA (reduction factor 3, grace period 5:
  rungs 5, 15, 45);
* Optuna's ``MedianPruner(n_startup_trials=5, n_warmup_steps=5)`` as the peer: a study that
  ``enqueue_trial``-s the same configurations, folds and data, reports the same values at the
  same steps from an XGBoost callback and prunes (``n_jobs=2`` threads; XGBoost releases the GIL).

For each it prints the boosting rounds trained and the saving against no policy, the trials'
summed durations, the CPU time of all processes (comparable across runs on a shared machine),
the wall time, the best score and its loss against no policy, and two replays of the rule alone
(``policy.explain`` applied report by report to a journal, in arrival order, no machinery):

* **replay**: on the no-policy run's journal -- what the rule saves on those curves;
* **own replay**: on the policy run's own journal -- equal to the live saving when the live
  sweep stopped exactly the trials the rule stops, at the intervals it says, given the order the
  reports arrived in.

Rounds trained by a stopped hpt trial are counted up to its last journaled report (it may train
a few more rounds while the stop travels; the stop latencies printed per run show how long).
No rule is tuned here: the policies run exactly as specified in the issue.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import hpt  # noqa: E402
from hpt.journal import read_journal  # noqa: E402
from hpt.policies import (  # noqa: E402
    AshaPolicy,
    BanditPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    TerminationPolicy,
    TruncationSelectionPolicy,
)

ROUNDS = 200
REPORT_EVERY = 10
FOLDS = 3
INTERVALS = FOLDS * ROUNDS // REPORT_EVERY  # 60 per trial
METRIC = "neg_log_loss"

# HyperDrive's expressions: loguniform bounds are natural-log exponents.
SEARCH_SPACE = {
    "learning_rate": "loguniform(-5.3, -0.7)",  # 0.005 .. 0.5
    "max_depth": "quniform(2, 9, 1)",
    "subsample": "uniform(0.5, 1.0)",
    "colsample_bytree": "uniform(0.3, 1.0)",
    "min_child_weight": "loguniform(0, 4.6)",  # 1 .. 100
}

POLICIES: dict[str, dict[str, Any]] = {
    "none": {"_target_": "hpt.policies.NoTerminationPolicy"},
    "median": {
        "_target_": "hpt.policies.MedianStoppingPolicy",
        "evaluation_interval": 1,
        "delay_evaluation": 5,
    },
    "bandit": {
        "_target_": "hpt.policies.BanditPolicy",
        "slack_factor": 0.1,
        "evaluation_interval": 1,
        "delay_evaluation": 5,
    },
    "truncation": {
        "_target_": "hpt.policies.TruncationSelectionPolicy",
        "truncation_percentage": 20,
        "evaluation_interval": 1,
        "delay_evaluation": 5,
    },
    "asha": {
        "_target_": "hpt.policies.AshaPolicy",
        "max_interval": INTERVALS,
        "reduction_factor": 3,
        "grace_period": 5,
    },
}


def build_policy(spec: Mapping[str, Any]) -> TerminationPolicy:
    classes: dict[str, type[TerminationPolicy]] = {
        "hpt.policies.NoTerminationPolicy": NoTerminationPolicy,
        "hpt.policies.MedianStoppingPolicy": MedianStoppingPolicy,
        "hpt.policies.BanditPolicy": BanditPolicy,
        "hpt.policies.TruncationSelectionPolicy": TruncationSelectionPolicy,
        "hpt.policies.AshaPolicy": AshaPolicy,
    }
    args = {k: v for k, v in spec.items() if k != "_target_"}
    return classes[spec["_target_"]](**args)


@dataclass
class Row:
    """One line of the table."""

    name: str
    rounds: int
    compute_s: float  # the trials' own durations, summed (wall clock per trial)
    cpu_s: float  # CPU time of every process of the run (driver and workers)
    wall_s: float
    best: float
    best_trial: str
    stopped: int
    replay_rounds: int | None = None  # the rule on the no-policy run's journal
    self_replay_rounds: int | None = None  # the rule on this run's own journal
    stop_latency_ms: tuple[float, float] | None = None  # (mean, max), stop asked -> recorded
    reports_after_stop: int = 0


# -- data ---------------------------------------------------------------------------------------


def make_data(path: Path, rows: int, seed: int = 0) -> None:
    """A binary problem with label noise, so that fast learners overfit and slow ones lag."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows,
        n_features=30,
        n_informative=12,
        n_redundant=6,
        flip_y=0.08,
        class_sep=0.8,
        random_state=seed,
    )
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["y"] = y
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path)


def sweep_config(
    data: Path, configs: int, workers: int, policy: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "dataset": {"kind": "file", "path": str(data), "target": "y"},
        "features": {"sets": None},
        "model": {"_target_": "xgboost.XGBClassifier", "random_state": 0, "n_estimators": ROUNDS},
        "search_space": dict(SEARCH_SPACE),
        "sampler": {"_target_": "hpt.samplers.RandomSampler", "seed": 0},
        "metric": {"primary_metric": METRIC, "goal": "maximize"},
        "cv": {"n_splits": FOLDS},
        "policy": {**policy, "interval_unit": "round", "report_every": REPORT_EVERY},
        "resources": {
            "max_total_runs": configs,
            "max_concurrent_runs": workers,
            "threads_per_trial": 1,
        },
        "refit": False,
    }


# -- reading a sweep's journal ----------------------------------------------------------------


def trial_rounds(events: list[dict[str, Any]]) -> dict[str, int]:
    """Boosting rounds each trial trained, up to its last journaled report."""
    rounds: dict[str, int] = {}
    for event in events:
        if event["event"] == "report":
            done = int(event["fold"]) * ROUNDS + int(event["round"])
            rounds[event["trial_id"]] = max(rounds.get(event["trial_id"], 0), done)
    return rounds


def stop_latency(events: list[dict[str, Any]]) -> tuple[tuple[float, float] | None, int]:
    """How long stops took (``stop_requested`` to ``terminated`` in the journal: the flag, the
    worker noticing it between two rounds, and the ``stopped`` event travelling back), and how
    many reports the stopped trials still sent in that time."""
    asked: dict[str, float] = {}
    latencies: list[float] = []
    late = 0
    for event in events:
        tid = event.get("trial_id")
        if event["event"] == "stop_requested":
            asked[str(tid)] = float(event["t"])
        elif event["event"] == "report" and tid in asked:
            late += 1
        elif event["event"] == "terminated" and tid in asked:
            latencies.append(1000 * (float(event["t"]) - asked[str(tid)]))
    if not latencies:
        return None, late
    return (float(np.mean(latencies)), max(latencies)), late


def replay(events: list[dict[str, Any]], policy: TerminationPolicy) -> dict[str, int]:
    """Rounds each trial would have trained had ``policy`` judged the no-policy run's reports,
    one by one in the order the driver received them."""
    history: dict[str, list[float]] = {}
    running: set[str] = set()
    stopped: set[str] = set()
    rounds: dict[str, int] = {}
    for event in events:
        kind, tid = event["event"], event.get("trial_id")
        if kind == "started":
            running.add(str(tid))
        elif kind in ("completed", "failed", "terminated", "timed_out", "cancelled"):
            running.discard(str(tid))
        elif kind == "report" and tid not in stopped:
            tid = str(tid)
            history.setdefault(tid, []).append(float(event["value"]))
            rounds[tid] = int(event["fold"]) * ROUNDS + int(event["round"])
            for stop in policy.explain(history, goal="maximize", running=running & set(history)):
                stopped.add(stop)
                running.discard(stop)
    return rounds


def run_hpt(name: str, data: Path, configs: int, workers: int, out: Path) -> tuple[Row, Path]:
    run_dir = out / f"run_{name}"
    shutil.rmtree(run_dir, ignore_errors=True)
    cpu = cpu_seconds()
    started = time.perf_counter()
    result = hpt.tune(sweep_config(data, configs, workers, POLICIES[name]), run_dir=run_dir)
    wall = time.perf_counter() - started
    cpu = cpu_seconds() - cpu  # the workers have exited and been waited for by now
    events = read_journal(run_dir)
    trials = result.state.ordered()
    compute = sum(
        (t.ended_at or 0.0) - (t.started_at or 0.0) for t in trials if t.started_at is not None
    )
    row = Row(
        name=name,
        rounds=sum(trial_rounds(events).values()),
        compute_s=compute,
        cpu_s=cpu,
        wall_s=wall,
        best=float(result.best_score_ if result.best_score_ is not None else math.nan),
        best_trial=str(result.best_trial_id),
        stopped=sum(1 for t in trials if t.status.value == "terminated"),
    )
    row.stop_latency_ms, row.reports_after_stop = stop_latency(events)
    unexpected = [t.trial_id for t in trials if t.status.value not in ("completed", "terminated")]
    if unexpected:
        raise SystemExit(f"{name}: trials {unexpected} neither completed nor terminated")
    return row, run_dir


# -- the Optuna peer ----------------------------------------------------------------------------


def run_optuna(data: Path, configs: int, workers: int) -> Row:
    """Optuna's MedianPruner on the same configurations, folds, data and reported values."""
    import optuna
    from omegaconf import OmegaConf
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import check_cv
    from xgboost import XGBClassifier
    from xgboost.callback import TrainingCallback

    from hpt.config import HptConfig
    from hpt.data import load_dataset
    from hpt.samplers import RandomSampler
    from hpt.space import SearchSpace

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = OmegaConf.merge(
        OmegaConf.structured(HptConfig), OmegaConf.create(sweep_config(data, configs, 1, {}))
    )
    dataset = load_dataset(cfg.dataset, cfg.features)  # the very arrays hpt trains on
    X, y = dataset.X, dataset.y
    folds = list(check_cv(FOLDS, y, classifier=True).split(X, y))  # hpt's folds (no shuffle)
    sampler = RandomSampler(SearchSpace.from_config(SEARCH_SPACE), seed=0)
    params_list = [sampler.suggest(n, []) or {} for n in range(configs)]  # hpt's 40 configs
    scorer_name = METRIC
    rounds_by_trial: dict[int, int] = {}

    def objective(trial: optuna.Trial) -> float:
        params = {
            "learning_rate": trial.suggest_float(
                "learning_rate", math.exp(-5.3), math.exp(-0.7), log=True
            ),
            "max_depth": trial.suggest_int("max_depth", 2, 9),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "min_child_weight": trial.suggest_float("min_child_weight", 1.0, math.exp(4.6)),
        }
        step = 0
        scores = []
        for k, (train, test) in enumerate(folds):

            class Report(TrainingCallback):
                def after_iteration(
                    self, model: Any, epoch: int, evals_log: Any, fold: int = k
                ) -> bool:
                    nonlocal step
                    done = epoch + 1
                    rounds_by_trial[trial.number] = fold * ROUNDS + done
                    if done % REPORT_EVERY == 0:
                        step += 1
                        value = -float(evals_log["validation_0"]["logloss"][-1])
                        trial.report(value, step)
                        if trial.should_prune():
                            raise optuna.TrialPruned()
                    return False

            model = XGBClassifier(
                random_state=0,
                n_estimators=ROUNDS,
                n_jobs=1,
                eval_metric="logloss",
                callbacks=[Report()],
                **params,
            )
            model.fit(X[train], y[train], eval_set=[(X[test], y[test])], verbose=False)
            model.set_params(callbacks=None)
            scores.append(float(check_scoring(model, scoring=scorer_name)(model, X[test], y[test])))
        return float(np.mean(scores))

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5),
    )
    for params in params_list:
        study.enqueue_trial(params)
    cpu = cpu_seconds()
    started = time.perf_counter()
    study.optimize(objective, n_trials=configs, n_jobs=workers)
    wall = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    trials = study.get_trials(deepcopy=False)
    compute = sum(
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in trials
        if t.datetime_complete is not None and t.datetime_start is not None
    )
    return Row(
        name="optuna MedianPruner",
        rounds=sum(rounds_by_trial.values()),
        compute_s=compute,
        cpu_s=cpu,
        wall_s=wall,
        best=float(study.best_value),
        best_trial=f"{study.best_trial.number:04d}",
        stopped=sum(1 for t in trials if t.state == optuna.trial.TrialState.PRUNED),
    )


# -- report -------------------------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its children that have been waited for.

    Unlike the trials' wall-clock durations it does not grow when other programs compete for
    the cores, so it compares runs made at different times on a shared machine.
    """
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else math.nan


def table(rows: list[Row], base: Row) -> str:
    header = (
        "| run | rounds trained | saving (rounds) | replay saving | own replay | trial s "
        "| CPU s | saving (CPU) | wall s | best score | loss vs none | stopped |"
    )
    lines = [header, "|" + "---|" * 12]
    for row in rows:
        replay_text = (
            "-"
            if row.replay_rounds is None
            else f"{pct(base.rounds - row.replay_rounds, base.rounds):.1f}%"
        )
        own_text = (
            "-"
            if row.self_replay_rounds is None
            else f"{pct(base.rounds - row.self_replay_rounds, base.rounds):.1f}%"
        )
        loss = pct(base.best - row.best, abs(base.best))
        lines.append(
            f"| {row.name} | {row.rounds} | {pct(base.rounds - row.rounds, base.rounds):.1f}% "
            f"| {replay_text} | {own_text} | {row.compute_s:.1f} | {row.cpu_s:.1f} "
            f"| {pct(base.cpu_s - row.cpu_s, base.cpu_s):.1f}% | {row.wall_s:.1f} "
            f"| {row.best:.5f} (trial {row.best_trial}) | {loss:+.3f}% | {row.stopped} |"
        )
    return "\n".join(lines)


def targets(rows: list[Row], base: Row) -> list[str]:
    by_name = {r.name: r for r in rows}

    def saving(row: Row) -> float:
        return pct(base.rounds - row.rounds, base.rounds)

    policies = [r for r in rows if r.name not in ("none", "optuna MedianPruner")]
    out = []
    worst = max(pct(base.best - r.best, abs(base.best)) for r in rows if r is not base)
    out.append(
        f"{'PASS' if worst <= 0.5 else 'FAIL'} every policy loses <= 0.5%: worst {worst:.3f}%"
    )
    if "bandit" in by_name:
        s = saving(by_name["bandit"])
        out.append(f"{'PASS' if s >= 50 else 'FAIL'} bandit saves >= 50%: {s:.1f}%")
    if "optuna MedianPruner" in by_name and policies:
        best = max(policies, key=saving)
        peer = saving(by_name["optuna MedianPruner"])
        ok = saving(best) >= peer
        out.append(
            f"{'PASS' if ok else 'FAIL'} best hpt policy ({best.name}, {saving(best):.1f}%) saves "
            f">= Optuna's MedianPruner ({peer:.1f}%)"
        )
    gaps = [
        (r.name, saving(r) - pct(base.rounds - r.replay_rounds, base.rounds))
        for r in policies
        if r.replay_rounds is not None
    ]
    if gaps:
        widest = max(gaps, key=lambda g: abs(g[1]))
        out.append(
            f"{'PASS' if abs(widest[1]) <= 5 else 'FAIL'} live savings within 5 points of replay: "
            f"widest gap {widest[1]:+.1f} points ({widest[0]})"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--configs", type=int, default=40)
    parser.add_argument("--rows", type=int, default=30000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "hpt_bench_policies"
    )
    parser.add_argument("--only", default="none,median,bandit,truncation,asha,optuna")
    parser.add_argument("--quick", action="store_true", help="10 configs on 6000 rows")
    args = parser.parse_args()
    if args.quick:
        args.configs, args.rows = 10, 6000
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("hpt").setLevel(logging.WARNING)
    wanted = args.only.split(",")
    if "none" not in wanted:
        raise SystemExit("--only must include none (the baseline)")

    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / f"data_{args.rows}.parquet"
    if not data.exists():
        make_data(data, args.rows)
    print(
        f"{args.configs} configurations x {FOLDS} folds x {ROUNDS} rounds, reported every "
        f"{REPORT_EVERY} ({INTERVALS} intervals per trial); {args.rows} rows; "
        f"{args.workers} workers",
        flush=True,
    )
    rows: list[Row] = []
    base_dir: Path | None = None
    for name in [n for n in POLICIES if n in wanted]:
        row, run_dir = run_hpt(name, data, args.configs, args.workers, args.out)
        if name == "none":
            base_dir = run_dir
        else:
            assert base_dir is not None
            policy = build_policy(POLICIES[name])
            row.replay_rounds = sum(replay(read_journal(base_dir), policy).values())
            row.self_replay_rounds = sum(replay(read_journal(run_dir), policy).values())
        rows.append(row)
        latency = (
            ""
            if row.stop_latency_ms is None
            else f"; stops took {row.stop_latency_ms[0]:.0f} ms on average (max "
            f"{row.stop_latency_ms[1]:.0f}), {row.reports_after_stop} report(s) after a stop"
        )
        print(
            f"  {name}: {row.rounds} rounds, {row.wall_s:.0f}s wall, best {row.best:.5f}{latency}",
            flush=True,
        )
    if "optuna" in wanted:
        row = run_optuna(data, args.configs, args.workers)
        rows.append(row)
        print(
            f"  optuna: {row.rounds} rounds, {row.wall_s:.0f}s wall, best {row.best:.5f}",
            flush=True,
        )

    base = rows[0]
    text = table(rows, base)
    checks = targets(rows, base)
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}"
    )
    print()
    print(text)
    print()
    print("\n".join(checks))
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "python": platform.python_version(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "configs": args.configs,
        "rows": args.rows,
        "workers": args.workers,
        "rows_table": [asdict(r) for r in rows],
        "table": text,
        "targets": checks,
    }
    (args.out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
