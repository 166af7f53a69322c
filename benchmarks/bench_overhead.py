"""The driver's bookkeeping cost per trial, at 100, 500 and 2,000 trials: hpt beside Optuna.

The objective is as cheap as a trial gets (a DummyClassifier on iris, 2-fold CV), so nearly all
of a trial's wall time is the tool's own: proposing, scheduling, journaling, result files. Both
tools run the same objective with 2 workers and a journal on disk (hpt: its journal and result
files; Optuna: JournalFileStorage with n_jobs=2). Overhead per trial = (wall - the trials' own
compute / 2 workers) / trials; "q1".."q4" split the sweep into quarters by completion order
(from the journal's timestamps), to show whether the cost grows as the sweep gets long.

    .venv/bin/python benchmarks/bench_overhead.py [--sizes 100 500 2000]

Targets (issue 8): hpt's per-trial cost at 2,000 trials within 1.5x of its cost at 100, and no
more than Optuna's at 2,000.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STRATEGIES = ["prior", "most_frequent", "stratified", "uniform"]


def hpt_sweep(n: int, root: Path) -> dict[str, float | list[float]]:
    import hpt
    from hpt.journal import read_journal

    cfg = {
        "dataset": {"kind": "sklearn", "name": "iris"},
        "features": {"sets": None},
        "model": {"_target_": "sklearn.dummy.DummyClassifier"},
        "search_space": {"strategy": STRATEGIES, "random_state": "randint(1000000)"},
        "sampler": {"_target_": "hpt.samplers.RandomSampler"},
        "metric": {"primary_metric": "accuracy", "goal": "maximize"},
        "cv": {"n_splits": 2},
        "resources": {"max_total_runs": n, "max_concurrent_runs": 2},
        "refit": False,
    }
    run_dir = root / f"hpt-{n}"
    started = time.perf_counter()
    result = hpt.tune(cfg, run_dir=run_dir)
    wall = time.perf_counter() - started
    own = sum(f.fit_time + f.score_time for t in result.state.ordered() for f in t.folds.values())
    ends = [e["t"] for e in read_journal(run_dir) if e["event"] == "completed"]
    return {"wall": wall, "own": own, "quarters": _quarters(ends, own / n)}


def optuna_sweep(n: int, root: Path) -> dict[str, float | list[float]]:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from sklearn.datasets import load_iris
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import cross_val_score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = load_iris(return_X_y=True)
    own: list[float] = []

    def objective(trial: optuna.Trial) -> float:
        strategy = trial.suggest_categorical("strategy", STRATEGIES)
        seed = trial.suggest_int("random_state", 0, 999_999)
        t0 = time.perf_counter()
        score = cross_val_score(DummyClassifier(strategy=strategy, random_state=seed), X, y, cv=2)
        own.append(time.perf_counter() - t0)
        return float(np.mean(score))

    storage = JournalStorage(JournalFileBackend(str(root / f"optuna-{n}.log")))
    study = optuna.create_study(
        storage=storage, direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0)
    )
    started = time.perf_counter()
    study.optimize(objective, n_trials=n, n_jobs=2)
    wall = time.perf_counter() - started
    ends = sorted(t.datetime_complete.timestamp() for t in study.trials if t.datetime_complete)
    return {"wall": wall, "own": sum(own), "quarters": _quarters(ends, sum(own) / n)}


def _quarters(ends: list[float], own_per_trial: float) -> list[float]:
    """Per-trial overhead (ms) in each quarter of the sweep, by completion time."""
    ends = sorted(ends)
    n = len(ends)
    out = []
    for q in range(4):
        lo, hi = q * n // 4, (q + 1) * n // 4
        if hi - lo < 2:
            out.append(float("nan"))
            continue
        span = ends[hi - 1] - ends[lo]
        out.append(1000 * (span / (hi - 1 - lo) - own_per_trial / 2))
    return out


def per_trial_ms(run: dict[str, float | list[float]], n: int) -> float:
    wall, own = float(run["wall"]), float(run["own"])  # type: ignore[arg-type]
    return 1000 * (wall - own / 2) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    args = parser.parse_args()
    print(f"# {datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, {os.cpu_count()} cores")
    print(f"# {' '.join(sys.argv)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="hpt-bench-overhead-") as tmp:
        root = Path(tmp)
        for n in args.sizes:
            runs = {"hpt": hpt_sweep(n, root), "optuna": optuna_sweep(n, root)}
            for tool, run in runs.items():
                quarters = " ".join(f"{v:6.1f}" for v in run["quarters"])  # type: ignore[union-attr]
                ms = per_trial_ms(run, n)
                rows.append({"tool": tool, "trials": n, "ms_per_trial": ms})
                print(
                    f"{tool:7s} {n:5d} trials  wall {float(run['wall']):7.1f} s  "  # type: ignore[arg-type]
                    f"overhead {ms:6.1f} ms/trial  quarters(ms) {quarters}",
                    flush=True,
                )
    by = {(r["tool"], r["trials"]): r["ms_per_trial"] for r in rows}
    small, large = min(args.sizes), max(args.sizes)
    flat = by[("hpt", large)] / by[("hpt", small)]
    versus = by[("hpt", large)] / by[("optuna", large)]
    print(f"hpt {large} vs {small} trials: {flat:.2f}x (target <= 1.5x)")
    print(f"hpt vs optuna at {large} trials: {versus:.2f}x (target <= 1.0x)")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
