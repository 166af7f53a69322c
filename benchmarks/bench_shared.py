"""Issue 14's benchmark: shared work across trials vs fitting every configuration from scratch.

    .venv/bin/python benchmarks/bench_shared.py [--n-devices 10000] [--repeat 1]

The seed's 16-combination grid x 5 folds (XGBoost, 12 classes, the TalkingData-shaped data of
bench_local.py), four ways, interleaved in each repetition so that a noisy machine slows them
alike: (1) hpt ``compute=local`` with 2 workers and ``sweep.share_work=true`` (the default:
``n_estimators`` 300 and 400 nested, 40 fits of 400 rounds instead of 80 fits of 300 or 400),
(2) the same with ``sweep.share_work=false``, (3) ``GridSearchCV(n_jobs=2)``, (4) serial
``GridSearchCV(n_jobs=1)``. Every fit is single-threaded. Prints wall times (the best of
``--repeat``), each one's ratio to the naive ideal (serial / 2), and checks that the four
``mean_test_score`` columns agree to 1e-9. Target: hpt with sharing <= 0.65x the naive ideal.
hpt's feature matrix is computed once before any timing (a feature cache of this run only), so
every hpt row maps it, as a second sweep on the same data does; GridSearchCV gets it in memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_local import GRID, make_data, run_gridsearch


def _dataset(n_devices: int, work: Path) -> dict[str, object]:
    return {
        "kind": "talkingdata",
        "n_devices": n_devices,
        "seed": 0,
        "path": str(work / "talkingdata"),
    }


FEATURES = {"sets": ["brand_model", "weekday", "hour", "weekday_hour"]}


def prime_feature_cache(n_devices: int, work: Path) -> None:
    """Compute hpt's feature matrix once, before any timing: every hpt row then maps it from the
    cache, as a second sweep on the same data does (GridSearchCV gets the matrix in memory)."""
    from omegaconf import OmegaConf

    from hpt.config import DatasetConfig
    from hpt.data import load_dataset

    schema = OmegaConf.structured(DatasetConfig)
    load_dataset(OmegaConf.merge(schema, _dataset(n_devices, work)), OmegaConf.create(FEATURES))


def run_hpt(n_devices: int, work: Path, share: bool) -> tuple[float, list[float]]:
    import hpt

    cfg = {
        "dataset": _dataset(n_devices, work),
        "features": FEATURES,
        "model": {"_target_": "xgboost.XGBClassifier", "random_state": 0, "n_jobs": 1},
        "search_space": GRID,
        "metric": {"primary_metric": "neg_log_loss"},
        "resources": {"max_concurrent_runs": 2},
        "sweep": {"share_work": share},
        "refit": False,
    }
    started = time.perf_counter()
    result = hpt.tune(cfg, run_dir=work / f"hpt-{time.time_ns()}")
    elapsed = time.perf_counter() - started
    # hpt's rows follow the grid's order, as GridSearchCV's do.
    return elapsed, list(result.cv_results_["mean_test_score"])


WAYS = (
    "hpt compute=local, 2 workers, share_work=true",
    "hpt compute=local, 2 workers, share_work=false",
    "GridSearchCV(n_jobs=2)",
    "serial (GridSearchCV n_jobs=1)",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n-devices", type=int, default=10000)
    parser.add_argument(
        "--repeat", type=int, default=1, help="repeat the four ways; the best time counts"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["HPT_DATA_DIR"] = str(work / "hpt-data")  # a feature cache of this run only
        X, y = make_data(args.n_devices, work)
        prime_feature_cache(args.n_devices, work)
        print(f"# data: n_devices={args.n_devices}, X {X.shape}, {len(set(y))} classes")
        times: dict[str, list[float]] = {way: [] for way in WAYS}
        scores: dict[str, list[float]] = {}
        mean_fit = 0.0
        for rep in range(args.repeat):
            for way in WAYS if rep % 2 == 0 else reversed(WAYS):
                if way.startswith("hpt"):
                    t, s = run_hpt(args.n_devices, work, share="true" in way)
                else:
                    n_jobs = 2 if "n_jobs=2" in way else 1
                    t, s, fit = run_gridsearch(X, y, n_jobs)
                    mean_fit = fit if n_jobs == 1 else mean_fit
                times[way].append(t)
                scores[way] = s
                print(f"# repetition {rep + 1}: {way}: {t:.1f} s", flush=True)
        reference = scores[WAYS[-1]]
        for way in WAYS:
            assert np.allclose(scores[way], reference, rtol=0, atol=1e-9), f"{way}: results differ"
        print(f"# 16 configurations x 5 folds = 80 fits; mean single-threaded fit {mean_fit:.2f} s")
        ideal = min(times[WAYS[-1]]) / 2
        print(f"{'way':48s} {'wall s':>8s} {'x ideal':>8s}   all runs (s)")
        print(f"{'naive ideal (serial / 2)':48s} {ideal:8.2f} {1.0:8.2f}")
        for way in WAYS:
            best = min(times[way])
            runs = ", ".join(f"{t:.1f}" for t in times[way])
            print(f"{way:48s} {best:8.2f} {best / ideal:8.2f}   {runs}")
        print("# mean_test_score of all four ways identical (to 1e-9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
