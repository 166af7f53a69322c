"""Issue 5's benchmark: the seed's Spark grid (16 combinations x 5 folds), four ways, in one run.

    .venv/bin/python benchmarks/bench_spark.py [--n-devices 3000] [--master 'local[2]']

On the same generated TalkingData-shaped data (small feature sets, 12 classes), every fit
single-threaded (``XGBClassifier(n_jobs=1)``), no refit, it runs:

1. serial scikit-learn ``GridSearchCV(n_jobs=1)`` (the baseline; ideal = serial / 2 on 2 cores),
2. scikit-learn ``GridSearchCV(n_jobs=2)`` with joblib's own process pool (for reference),
3. hpt ``compute=local`` with 2 worker processes,
4. hpt ``compute=spark`` on ``local[2]``,
5. scikit-learn ``GridSearchCV(n_jobs=2)`` under joblibspark on the same SparkContext.

It first measures what two processes really give on this machine (two fits side by side versus
one after the other) and also prints each run's ratio to that attainable time.

The SparkContext is started once, before the Spark runs, and its start time (JVM, plus the
executors' Python workers warmed up) is printed on its own line; the Spark rows exclude it. Every run's ``mean_test_score`` is checked against the serial one. Target: hpt on
Spark <= 1.25x the ideal.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def seed_grid() -> dict[str, list[Any]]:
    """conf/search_space/seed_grid_spark.yaml as a scikit-learn param_grid (scalars wrapped)."""
    from omegaconf import OmegaConf

    space = OmegaConf.to_container(OmegaConf.load(REPO / "conf/search_space/seed_grid_spark.yaml"))
    assert isinstance(space, dict)
    return {str(k): list(v) if isinstance(v, list) else [v] for k, v in space.items()}


def hpt_config(n_devices: int, data_dir: Path, compute: dict[str, Any]) -> dict[str, Any]:
    return {
        "dataset": {
            "kind": "talkingdata",
            "n_devices": n_devices,
            "seed": 0,
            "path": str(data_dir),
        },
        "features": {"sets": ["brand_model", "weekday", "hour", "weekday_hour"]},
        "model": {"_target_": "xgboost.XGBClassifier", "random_state": 0, "n_jobs": 1},
        "search_space": seed_grid(),
        "metric": {"primary_metric": "neg_log_loss"},
        "resources": {"max_concurrent_runs": 2},
        "compute": compute,
        "refit": False,
    }


def load_data(n_devices: int, data_dir: Path) -> tuple[Any, np.ndarray]:
    from omegaconf import OmegaConf

    from hpt.config import DatasetConfig, FeaturesConfig
    from hpt.data import load_dataset, talkingdata

    talkingdata.generate(data_dir, n_devices, seed=0)
    cfg = hpt_config(n_devices, data_dir, {})
    dataset = load_dataset(
        OmegaConf.merge(OmegaConf.structured(DatasetConfig), cfg["dataset"]),
        OmegaConf.merge(OmegaConf.structured(FeaturesConfig), cfg["features"]),
    )
    return dataset.X, dataset.y


def sklearn_search(X: Any, y: np.ndarray, n_jobs: int) -> tuple[float, np.ndarray]:
    from sklearn.model_selection import GridSearchCV
    from xgboost import XGBClassifier

    search = GridSearchCV(
        XGBClassifier(random_state=0, n_jobs=1),
        seed_grid(),
        scoring="neg_log_loss",
        cv=5,
        n_jobs=n_jobs,
        refit=False,
    )
    started = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - started, np.asarray(search.cv_results_["mean_test_score"])


def hpt_search(cfg: dict[str, Any], run_dir: Path) -> tuple[float, np.ndarray]:
    import hpt

    started = time.perf_counter()
    result = hpt.tune(cfg, run_dir=run_dir)
    return time.perf_counter() - started, np.asarray(result.cv_results_["mean_test_score"])


def _fit_once(args: tuple[Any, np.ndarray]) -> float:
    from xgboost import XGBClassifier

    X, y = args
    params = {k: v[-1] for k, v in seed_grid().items()}  # the slowest configuration
    started = time.perf_counter()
    XGBClassifier(random_state=0, n_jobs=1, **params).fit(X, y)
    return time.perf_counter() - started


def parallel_speedup(X: Any, y: np.ndarray) -> float:
    """What 2 processes really give here: 2 x (one fit alone) / (two fits side by side).

    2.0 on two independent cores; less when the two vCPUs share a core or memory bandwidth.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        alone = min(pool.map(_fit_once, [(X, y)] * 2))
    with context.Pool(2) as pool:
        together = max(pool.map(_fit_once, [(X, y)] * 2))
    return 2 * alone / together


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-devices", type=int, default=3000)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)  # pyspark on pandas 3

    from launchers.spark import SparkLauncher

    work = Path(tempfile.mkdtemp(prefix="hpt-bench-spark-"))
    data_dir = work / "talkingdata"
    X, y = load_data(args.n_devices, data_dir)
    fits = 16 * 5
    print(
        f"data: {X.shape[0]} rows x {X.shape[1]} features, {len(set(y))} classes; "
        f"16 configurations x 5 folds = {fits} fits; {os.cpu_count()} CPUs ({cpu_model()})"
    )

    speedup = parallel_speedup(X, y)
    print(f"  two fits side by side run {speedup:.2f}x as fast as one after the other", flush=True)
    rows: list[tuple[str, float, np.ndarray]] = []
    serial, serial_scores = sklearn_search(X, y, n_jobs=1)
    rows.append(("serial GridSearchCV(n_jobs=1)", serial, serial_scores))
    print(f"  serial: {serial:.1f}s ({serial / fits:.2f}s per fit)", flush=True)
    loky = sklearn_search(X, y, n_jobs=2)
    rows.append(("GridSearchCV(n_jobs=2), joblib's own processes", *loky))
    print(f"  GridSearchCV(n_jobs=2): {loky[0]:.1f}s", flush=True)

    local = hpt_search(hpt_config(args.n_devices, data_dir, {}), work / "hpt-local")
    rows.append(("hpt compute=local (2 workers)", *local))
    print(f"  hpt compute=local: {local[0]:.1f}s", flush=True)

    session = SparkLauncher(master=args.master, ui=False)
    sc = session.context()
    print(f"  Spark session start ({sc.master}): {session.session_seconds:.1f}s", flush=True)
    compute = {"_target_": "launchers.spark.SparkLauncher", "master": args.master, "ui": False}
    spark = hpt_search(hpt_config(args.n_devices, data_dir, compute), work / "hpt-spark")
    rows.append((f"hpt compute=spark ({sc.master})", *spark))
    print(f"  hpt compute=spark: {spark[0]:.1f}s", flush=True)

    import joblib
    from joblibspark import register_spark

    register_spark()
    with joblib.parallel_backend("spark", n_jobs=2):
        joblibspark = sklearn_search(X, y, n_jobs=2)
    rows.append((f"GridSearchCV under joblibspark ({sc.master})", *joblibspark))
    print(f"  joblibspark: {joblibspark[0]:.1f}s", flush=True)
    session.close()

    ideal = serial / 2
    attainable = serial / speedup
    print()
    print(
        f"| run | wall (s) | ratio to ideal ({ideal:.1f}s = serial / 2) "
        f"| ratio to attainable ({attainable:.1f}s = serial / {speedup:.2f}) |"
    )
    print("|---|---:|---:|---:|")
    for name, seconds, scores in rows:
        same = np.allclose(scores, serial_scores, rtol=0, atol=1e-9)
        flag = "" if same else " (scores differ from serial!)"
        print(
            f"| {name} | {seconds:.1f} | {seconds / ideal:.2f}x{flag} "
            f"| {seconds / attainable:.2f}x |"
        )
    print(
        f"| Spark session start (once, not in the rows above) | {session.session_seconds:.1f} | | |"
    )


if __name__ == "__main__":
    main()
