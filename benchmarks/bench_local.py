"""Issue 2's benchmark: the seed's 16-combination grid x 5 folds, three ways, in one run.

    .venv/bin/python benchmarks/bench_local.py [--n-devices 10000] [--repeat 1]

Runs (1) hpt ``compute=local`` with 2 worker processes, (2) scikit-learn ``GridSearchCV(n_jobs=2)``
and (3) serial ``GridSearchCV(n_jobs=1)`` on the same generated TalkingData-shaped data (small
feature sets, 12 classes), every fit single-threaded (``XGBClassifier(n_jobs=1)``), no refit. Prints
wall times and each one's ratio to the ideal (serial time / 2). Target: hpt <= 1.10x ideal.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

GRID = {
    "n_estimators": [300, 400],
    "max_depth": [3, 4],
    "objective": ["multi:softprob"],
    "reg_alpha": [1],
    "reg_lambda": [1],
    "colsample_bytree": [1],
    "learning_rate": [0.1],
    "colsample_bylevel": [0.01, 0.1],
    "subsample": [0.5, 0.7],
}


def make_data(n_devices: int, work: Path) -> tuple[Any, np.ndarray]:
    from hpt.data import talkingdata

    directory = talkingdata.generate(work / "talkingdata", n_devices, seed=0)
    raw = talkingdata.load_raw(directory)
    X, y, _ = talkingdata.build_features(raw, list(talkingdata.SMALL_FEATURE_SETS))
    return X, y


def run_hpt(n_devices: int, work: Path) -> tuple[float, list[float]]:
    import hpt

    cfg = {
        "dataset": {
            "kind": "talkingdata",
            "n_devices": n_devices,
            "seed": 0,
            "path": str(work / "talkingdata"),
        },
        "features": {"sets": ["brand_model", "weekday", "hour", "weekday_hour"]},
        "model": {"_target_": "xgboost.XGBClassifier", "random_state": 0, "n_jobs": 1},
        "search_space": GRID,
        "metric": {"primary_metric": "neg_log_loss"},
        "resources": {"max_concurrent_runs": 2},
        "refit": False,
    }
    started = time.perf_counter()
    result = hpt.tune(cfg, run_dir=work / f"hpt-{time.time_ns()}")
    elapsed = time.perf_counter() - started
    return elapsed, list(result.cv_results_["mean_test_score"])


def run_gridsearch(X: object, y: np.ndarray, n_jobs: int) -> tuple[float, list[float], float]:
    from sklearn.model_selection import GridSearchCV
    from xgboost import XGBClassifier

    search = GridSearchCV(
        XGBClassifier(random_state=0, n_jobs=1),
        GRID,
        scoring="neg_log_loss",
        cv=5,
        n_jobs=n_jobs,
        refit=False,
    )
    started = time.perf_counter()
    search.fit(X, y)
    elapsed = time.perf_counter() - started
    mean_fit = float(np.mean(search.cv_results_["mean_fit_time"]))
    return elapsed, list(search.cv_results_["mean_test_score"]), mean_fit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-devices", type=int, default=10000)
    parser.add_argument(
        "--repeat", type=int, default=1, help="repeat each way; the best time counts"
    )
    args = parser.parse_args()
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    print(f"# machine: {os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        X, y = make_data(args.n_devices, work)
        print(
            f"# data: TalkingData-shaped, n_devices={args.n_devices}, X {X.shape}, {len(set(y))} classes"
        )
        times: dict[str, float] = {}
        scores: dict[str, list[float]] = {}
        mean_fit = 0.0
        for _ in range(args.repeat):
            t, s, mean_fit = run_gridsearch(X, y, 1)
            times["serial (GridSearchCV n_jobs=1)"] = min(
                t, times.get("serial (GridSearchCV n_jobs=1)", t)
            )
            scores["serial"] = s
            t, s, _ = run_gridsearch(X, y, 2)
            times["GridSearchCV(n_jobs=2)"] = min(t, times.get("GridSearchCV(n_jobs=2)", t))
            scores["gridsearch2"] = s
            t, s = run_hpt(args.n_devices, work)
            times["hpt compute=local, 2 workers"] = min(
                t, times.get("hpt compute=local, 2 workers", t)
            )
            scores["hpt"] = s
        print(f"# 16 configurations x 5 folds = 80 fits; mean single-threaded fit {mean_fit:.2f} s")
        assert np.allclose(scores["hpt"], scores["serial"], rtol=0, atol=1e-9), "results differ"
        ideal = times["serial (GridSearchCV n_jobs=1)"] / 2
        print(f"{'way':34s} {'wall s':>8s} {'x ideal':>8s}")
        print(f"{'ideal (serial / 2)':34s} {ideal:8.2f} {1.0:8.2f}")
        for name, t in times.items():
            print(f"{name:34s} {t:8.2f} {t / ideal:8.2f}")
        print("# cv results of all three are identical (to 1e-9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
