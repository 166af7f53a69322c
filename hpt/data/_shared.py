"""Pickle with big arrays left out: they travel as files every process maps read-only.

:func:`dumps_shared` pickles an object (a trainer holding X, y and folds) but replaces every
numeric ndarray of at least :data:`MIN_BYTES` by a reference to a ``.npy`` file: the file the
array is already memory-mapped from (the feature cache's arrays, ``hpt.data._cache``), or a new
one written once into ``directory``. :func:`loads_shared` maps those files with
``mmap_mode="r"``. However many workers load the payload, the operating system holds one copy of
the data (shared page cache), as joblib does with ``max_nbytes``/``mmap_mode``. Dense arrays and
the three arrays of a CSR matrix (data, indices, indptr) are covered alike; the values (and
dtypes) are those of the original, so results do not change.
"""

from __future__ import annotations

import io
import mmap
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MIN_BYTES", "dumps_shared", "loads_shared", "shared_directory"]

MIN_BYTES = 1 << 20  # smaller arrays are cheaper to copy than to map


def _mapped_file(array: Any) -> str | None:
    """The ``.npy`` file whose whole content ``array`` is, memory-mapped read-only, if any.

    ``array`` may be the memmap itself or a plain view of all of it (scipy's sparse matrices
    hold such views of the arrays they were built from).
    """
    root: Any = array
    while not isinstance(root, np.memmap) and isinstance(getattr(root, "base", None), np.ndarray):
        root = root.base
    base: Any = getattr(root, "base", None)
    if not isinstance(root, np.memmap) or not isinstance(base, mmap.mmap):
        return None  # not mapped, or a slice of a mapped array (a memmap too, not the file)
    name = getattr(root, "filename", None)
    if not name or not str(name).endswith(".npy") or root.mode != "r":
        return None
    same = (
        array.dtype == root.dtype
        and array.shape == root.shape
        and array.strides == root.strides
        and array.__array_interface__["data"][0] == root.__array_interface__["data"][0]
    )
    try:
        if not same or int(root.offset) + root.nbytes != os.path.getsize(name):
            return None
    except OSError:
        return None
    return str(name)


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, directory: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.directory = directory
        self.written: dict[int, str] = {}

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) not in (np.ndarray, np.memmap) or obj.dtype.hasobject:
            return None
        if obj.nbytes < MIN_BYTES:
            return None
        path = _mapped_file(obj)
        if path is None:
            if id(obj) not in self.written:
                target = self.directory / f"array-{len(self.written)}.npy"
                np.save(target, obj if obj.flags.forc else np.ascontiguousarray(obj))
                self.written[id(obj)] = str(target)
            path = self.written[id(obj)]
        return ("npy", path)


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        kind, path = pid
        if kind != "npy":
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")
        return np.load(path, mmap_mode="r")


def dumps_shared(obj: Any, directory: str | os.PathLike[str]) -> bytes:
    """Pickle ``obj``; arrays of ``MIN_BYTES`` or more become files in (or already on) disk.

    ``directory`` must outlive every :func:`loads_shared` of the result (the caller removes it).
    """
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, Path(directory))
    pickler.dump(obj)
    pickler.written.clear()
    return buffer.getvalue()


def loads_shared(payload: bytes) -> Any:
    """The object :func:`dumps_shared` pickled, its big arrays memory-mapped read-only."""
    return _Unpickler(io.BytesIO(payload)).load()


PREFIX = "hpt-shared-"


def _owner_gone(name: str) -> bool:
    """Whether the process that made the shared directory ``name`` has ended."""
    pid = name[len(PREFIX) :].split("-", 1)[0]
    if not pid.isdigit():
        return False  # not one of ours (or of an older hpt): left alone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, another user's
    return False


def shared_directory() -> str:
    """A new temporary directory for one sweep's shared arrays, named by this process's id.

    A driver killed with SIGKILL cannot remove its directory, and the arrays in it can be as big
    as the data, so each new one first removes those whose process has ended.
    """
    root = Path(tempfile.gettempdir())
    for stale in root.glob(f"{PREFIX}*"):
        if _owner_gone(stale.name):
            shutil.rmtree(stale, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
