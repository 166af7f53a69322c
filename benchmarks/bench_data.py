"""Issue 12's benchmark: TalkingData at scale, and a local sweep on a big dense table.

    .venv/bin/python benchmarks/bench_data.py [--scales 0.1 0.3 1] [--sweep-gb 2] [--skip-sweep]
        [--skip-features] [--dtype float64 float32] [--work DIR]

1. For each scale: ``hpt data generate``'s generator (``generate_scale``) and then the whole
   feature pipeline (all eight sets, ``load_dataset`` with the feature cache cold: read, build,
   fingerprint, save), each in a fresh process, printing wall time and the process's peak RSS,
   the files' size and the feature matrix's shape, stored entries and density; then a warm load
   (the next sweep on the same data: the cache is mapped).
2. A sweep with 2 local workers (``hpt.tune``: XGBoost, 2 configurations x 2 folds) on a dense
   table of ``--sweep-gb`` GB (Parquet), run in a child process while a sampler sums the memory
   of the whole process tree (driver + workers) every 0.2 s: PSS (shared pages counted once,
   split among the processes that map them) and RSS (shared pages counted in every process).
   Target: peak PSS <= 1.5x the table's size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
phase, scale, work = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
from hpt.data import talkingdata as td
directory = work / f"td-{scale:g}"
started = time.perf_counter()
out = {}
if phase == "generate":
    td.generate_scale(directory, scale, seed=0, overwrite=True)
    out["bytes"] = sum(p.stat().st_size for p in directory.iterdir())
    out["rows"] = json.loads((directory / td.MARKER).read_text())["rows"]
else:
    from hpt.config import as_config
    from hpt.data import load_dataset
    cfg = as_config({"dataset": {"kind": "talkingdata", "path": str(directory)},
                     "features": {"sets": list(td.FEATURE_SETS)}})
    data = load_dataset(cfg.dataset, cfg.features)
    out["shape"] = list(data.shape)
    out["nnz"] = int(data.X.nnz)
    out["dtype"] = str(data.X.dtype)
out["seconds"] = time.perf_counter() - started
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
"""


def _child(args: list[str], env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, object] = json.loads(line[len("RESULT ") :])
    return result


def bench_features(scales: list[float], work: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HPT_DATA_DIR": str(work / "home")}
    print("\n## TalkingData at scale: generation and all eight feature sets\n")
    print(
        "| scale | devices (train) | events | app events | CSV size | generate: s / peak RSS | "
        "features (cold): s / peak RSS | X shape | stored entries | density | warm load: s / peak RSS |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for scale in scales:
        gen = _child(["generate", str(scale), str(work)], env)
        # A feature cache of its own: the cold run computes everything.
        home = Path(tempfile.mkdtemp(dir=work, prefix="home-"))
        env = {**env, "HPT_DATA_DIR": str(home)}
        cold = _child(["features", str(scale), str(work)], env)
        warm = _child(["features", str(scale), str(work)], env)
        shutil.rmtree(home, ignore_errors=True)
        rows = gen["rows"]
        assert isinstance(rows, dict)
        shape = cold["shape"]
        assert isinstance(shape, list)
        nnz = int(cold["nnz"])  # type: ignore[call-overload]
        density = nnz / (shape[0] * shape[1])
        print(
            f"| {scale:g} | {rows['gender_age_train.csv']:,} | {rows['events.csv']:,} | "
            f"{rows['app_events.csv']:,} | {int(gen['bytes']) / 1e6:,.0f} MB | "  # type: ignore[call-overload]
            f"{gen['seconds']:.1f} / {gen['peak_rss_mb']:,.0f} MB | "
            f"{cold['seconds']:.1f} / {cold['peak_rss_mb']:,.0f} MB | "
            f"{shape[0]:,} x {shape[1]:,} | {nnz:,} | {density:.4%} | "
            f"{warm['seconds']:.2f} / {warm['peak_rss_mb']:,.0f} MB |",
            flush=True,
        )


def _tree(root: int) -> list[int]:
    pids, frontier = [root], [root]
    while frontier:
        pid = frontier.pop()
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        pids += [int(c) for c in children]
        frontier += [int(c) for c in children]
    return pids


def _memory(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in bytes (0, 0 if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("Pss:", "Rss:"):
            values[parts[0]] = int(parts[1]) * 1024
    return values.get("Pss:", 0), values.get("Rss:", 0)


class Sampler(threading.Thread):
    """Peak of the summed PSS and RSS of a process tree, sampled every ``interval`` seconds."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_pss = self.peak_rss = 0
        self.peak_processes = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            pids = _tree(self.root)
            pss = rss = 0
            for pid in pids:
                p, r = _memory(pid)
                pss, rss = pss + p, rss + r
            self.peak_pss, self.peak_rss = max(self.peak_pss, pss), max(self.peak_rss, rss)
            self.peak_processes = max(self.peak_processes, len(pids))
            time.sleep(self.interval)


def make_table(path: Path, gigabytes: float, columns: int = 250) -> tuple[int, int]:
    """A dense float64 table of about ``gigabytes`` GB as Parquet, written in row groups."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = int(gigabytes * 1e9 / 8 / (columns + 1))
    if path.is_file() and pq.ParquetFile(path).metadata.num_rows == rows:
        return rows, columns
    rng = np.random.default_rng(0)
    names = [f"x{i}" for i in range(columns)]
    weights = rng.normal(size=columns)
    writer = None
    for start in range(0, rows, 100_000):
        n = min(100_000, rows - start)
        X = rng.normal(size=(n, columns))
        y = (X @ weights + rng.normal(size=n) > 0).astype(np.float64)
        batch = pa.table({**{c: X[:, i] for i, c in enumerate(names)}, "y": y})
        writer = writer or pq.ParquetWriter(path, batch.schema, compression="none")
        writer.write_table(batch)
    assert writer is not None
    writer.close()
    return rows, columns


_SWEEP = r"""
import json, sys
import hpt
cfg = json.loads(sys.argv[1])
result = hpt.tune(cfg, run_dir=sys.argv[2])
print("RESULT " + json.dumps({"scores": [float(s) for s in result.cv_results_["mean_test_score"]]}))
"""


def bench_sweep(
    gigabytes: float, dtypes: list[str], work: Path, *, warm_only: bool = False
) -> None:
    table = work / f"table-{gigabytes:g}gb.parquet"
    rows, columns = make_table(table, gigabytes)
    size = rows * columns * 8
    print(f"\n## Sweep with 2 local workers on a dense {size / 1e9:.2f} GB table\n")
    print(
        f"{rows:,} rows x {columns} float64 columns ({table.stat().st_size / 1e9:.2f} GB Parquet);"
    )
    print("XGBoost (hist, n_jobs=1, 5 rounds) x max_depth [2, 3] x 2 folds, refit off.\n")
    print(
        "| dtype | run | wall (s) | peak PSS, tree | x table | peak RSS sum | processes | "
        "mean test scores |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    runs = [(d, r) for d in dtypes for r in ("cold", "warm")]
    if warm_only:  # reuse a cached matrix if a previous run left one
        runs = [(d, "warm") for d in dtypes]
    for dtype, run in runs:
        home = work / f"home-sweep-{dtype}"
        if run == "cold":
            shutil.rmtree(home, ignore_errors=True)  # no cached matrix: read the Parquet file
        cached = (home / "features").is_dir() and any((home / "features").iterdir())
        run = "warm (cache mapped)" if cached else "cold (reads the table)"
        env = {**os.environ, "PYTHONPATH": str(REPO), "HPT_DATA_DIR": str(home)}
        cfg = {
            "dataset": {"kind": "file", "path": str(table), "target": "y", "dtype": dtype},
            "features": {"sets": None},
            "model": {
                "_target_": "xgboost.XGBClassifier",
                "n_estimators": 5,
                "tree_method": "hist",
                "n_jobs": 1,
                "random_state": 0,
            },
            "search_space": {"max_depth": [2, 3]},
            "metric": {"primary_metric": "accuracy"},
            "cv": {"n_splits": 2},
            "resources": {"max_concurrent_runs": 2},
            "refit": False,
        }
        run_dir = Path(tempfile.mkdtemp(dir=work, prefix="run-"))
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", _SWEEP, json.dumps(cfg), str(run_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        sampler = Sampler(child.pid)
        sampler.start()
        out, err = child.communicate()
        sampler.done.set()
        sampler.join()
        wall = time.perf_counter() - started
        if child.returncode != 0:
            raise SystemExit(f"sweep failed:\n{err[-3000:]}")
        line = next(x for x in out.splitlines() if x.startswith("RESULT "))
        scores = ", ".join(f"{v:.6f}" for v in json.loads(line[7:])["scores"])
        print(
            f"| {dtype} | {run} | {wall:.1f} | {sampler.peak_pss / 1e9:.2f} GB | "
            f"{sampler.peak_pss / size:.2f}x | {sampler.peak_rss / 1e9:.2f} GB | "
            f"{sampler.peak_processes} | {scores} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument("--sweep-gb", type=float, default=2.0)
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    parser.add_argument("--skip-features", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument(
        "--warm-only", action="store_true", help="sweep once per dtype, on the cache if present"
    )
    parser.add_argument("--work", default=None, help="keep data here (default: a temp dir)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="hpt-bench-data-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    if not args.skip_features:
        bench_features(args.scales, work)
    if not args.skip_sweep:
        bench_sweep(args.sweep_gb, args.dtype, work, warm_only=args.warm_only)


if __name__ == "__main__":
    main()
