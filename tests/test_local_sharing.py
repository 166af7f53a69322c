"""Local workers map the sweep's data read-only instead of each unpickling a copy."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import hpt
from hpt.data._shared import MIN_BYTES, dumps_shared, loads_shared, shared_directory


def test_big_arrays_travel_as_mapped_files(tmp_path: Path) -> None:
    big = np.arange(MIN_BYTES // 8 * 2, dtype=np.float64).reshape(-1, 4)
    np.save(tmp_path / "cached.npy", big)
    cached = np.load(tmp_path / "cached.npy", mmap_mode="r")
    small = np.arange(10)
    csr = sp.random(20_000, 500, density=0.04, format="csr", random_state=0)
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    payload = dumps_shared(
        {"cached": cached, "twice": (big, big), "small": small, "csr": csr, "slice": cached[:10]},
        shipped,
    )
    assert len(payload) < MIN_BYTES  # no big array inside the pickle
    # The cached file is referenced as is; the in-memory array is written once, like the CSR's
    # data and indices (its indptr is small and travels inline).
    assert sorted(p.name for p in shipped.iterdir()) == [
        "array-0.npy",
        "array-1.npy",
        "array-2.npy",
    ]
    loaded = loads_shared(payload)
    assert isinstance(loaded["cached"], np.memmap)
    assert loaded["cached"].filename == str(tmp_path / "cached.npy")
    assert not loaded["cached"].flags.writeable
    a, b = loaded["twice"]
    assert a.filename == b.filename and np.array_equal(a, big)
    assert type(loaded["small"]) is np.ndarray and np.array_equal(loaded["small"], small)
    assert isinstance(loaded["csr"].data, np.memmap)
    # A matrix built from mapped arrays holds plain views of them: still the file, no copy.
    again = sp.csr_matrix((loaded["csr"].data, loaded["csr"].indices, loaded["csr"].indptr))
    assert dumps_shared(again, shipped) and len(list(shipped.iterdir())) == 3
    assert (loaded["csr"] != csr).nnz == 0 and loaded["csr"].dtype == csr.dtype
    np.testing.assert_array_equal(loaded["slice"], big[:10])


def test_workers_map_the_feature_cache(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40_000, 8)), columns=[f"x{i}" for i in range(8)])
    frame["y"] = (frame["x0"] > 0).astype(int)
    frame.to_csv(tmp_path / "table.csv", index=False)
    record = tmp_path / "record"
    record.mkdir()
    cfg = {
        "dataset": {"kind": "file", "path": str(tmp_path / "table.csv"), "target": "y"},
        "features": {"sets": None},
        "model": {"_target_": "tests.local_probe.MappedFilesProbe", "record_dir": str(record)},
        "search_space": {"depth": [0, 1]},
        "metric": {"primary_metric": "accuracy"},
        "cv": {"n_splits": 2},
        "resources": {"max_concurrent_runs": 2},
        "refit": False,
    }
    result = hpt.tune(cfg, run_dir=tmp_path / "run")
    assert len(result.cv_results_["params"]) == 2
    cache = Path(os.environ["HPT_DATA_DIR"]) / "features"
    [entry] = [
        p
        for p in cache.iterdir()
        if (p / "X.npy").is_file() and np.load(p / "X.npy", mmap_mode="r").shape == (40_000, 8)
    ]
    workers = list(record.iterdir())
    assert workers
    for worker in workers:  # every worker mapped the one cached matrix, none got a copy
        assert str(entry / "X.npy") in worker.read_text().splitlines()


def test_a_killed_drivers_shared_arrays_are_removed_by_the_next_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    stale = tmp_path / f"hpt-shared-{ended.pid}-abc"
    live = tmp_path / f"hpt-shared-{os.getpid()}-def"
    older = tmp_path / "hpt-shared-xyz"  # no owner in its name: never removed
    for directory in (stale, live, older):
        directory.mkdir()
        np.save(directory / "array-0.npy", np.zeros(10))
    made = Path(shared_directory())
    assert made.parent == tmp_path and made.name.startswith(f"hpt-shared-{os.getpid()}-")
    assert not stale.exists()
    assert live.exists() and older.exists()
