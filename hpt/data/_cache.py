"""The on-disk cache of prepared training matrices, mapped read-only by every process.

An entry is a directory ``$HPT_DATA_DIR/features/<key>/`` holding ``X.npy`` (dense) or
``X.data.npy``/``X.indices.npy``/``X.indptr.npy`` (CSR), ``y.npy`` and ``meta.json`` (shape,
feature names, description, the content fingerprint). The key hashes the source's fingerprint
with everything that shapes the matrix (reader, feature sets, sampling, dtype), so the next sweep
on the same data maps the matrix instead of recomputing it. Entries are built in a temporary
directory and renamed into place: a crash leaves no half-written entry. Arrays are opened with
``mmap_mode="r"``: the pages are shared by the driver and every local worker (see
``launchers/local.py``), and only the rows a fold touches are read.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["FORMAT_VERSION", "Entry", "build_entry", "load_entry", "save_arrays"]

FORMAT_VERSION = 1  # bump when a reader's output for the same input changes

Entry = tuple[Any, np.ndarray, dict[str, Any]]  # (X, y, meta)


def save_arrays(directory: Path, X: Any, y: np.ndarray) -> None:
    """Write ``X`` (dense or sparse) and ``y`` as ``.npy`` files into ``directory``."""
    if sp.issparse(X):
        csr = sp.csr_matrix(X)
        for part in ("data", "indices", "indptr"):
            np.save(directory / f"X.{part}.npy", getattr(csr, part))
    elif not (directory / "X.npy").exists():  # a reader may have written it in place
        np.save(directory / "X.npy", np.ascontiguousarray(X))
    np.save(directory / "y.npy", np.asarray(y))


def load_entry(directory: Path) -> Entry | None:
    """The cached ``(X, y, meta)`` in ``directory`` (memory-mapped), or None if absent/torn."""
    try:
        meta = json.loads((directory / "meta.json").read_text())
        y = np.load(directory / "y.npy")
        if meta["sparse"]:
            parts = [
                np.load(directory / f"X.{p}.npy", mmap_mode="r")
                for p in ("data", "indices", "indptr")
            ]
            X: Any = sp.csr_matrix(tuple(parts), shape=tuple(meta["shape"]), copy=False)
        else:
            X = np.load(directory / "X.npy", mmap_mode="r")
    except (OSError, ValueError, KeyError):
        return None
    return X, y, meta


def build_entry(directory: Path, build: Callable[[Path], dict[str, Any]]) -> Entry:
    """Run ``build(tmp)`` (it writes the arrays into ``tmp`` and returns the meta) and publish.

    A concurrent builder of the same key may finish first: its entry is kept and used.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        meta = build(tmp)
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))
        with contextlib.suppress(OSError):  # exists: someone else published it meanwhile
            os.rename(tmp, directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    entry = load_entry(directory)
    if entry is None:
        raise OSError(f"feature cache entry {directory} unreadable right after writing it")
    return entry
