"""Readers: a fetched path -> ``(X, y, names)``. They never know where the files came from.

- :func:`read_talkingdata`: the seven TalkingData files -> the seed's sparse feature sets
  (app_events, the one big file, read in chunks).
- :func:`read_table`: a CSV or Parquet table with a label column -> a dense float matrix, read
  in chunks, written straight into ``out`` (a preallocated, possibly memory-mapped array) so the
  table never exists twice in memory.
- :func:`read_sklearn`: scikit-learn's bundled sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hpt.errors import ConfigError

__all__ = ["is_parquet", "read_sklearn", "read_table", "read_talkingdata", "table_columns"]

_CHUNK_ROWS = 200_000


def read_talkingdata(directory: Path, feature_sets: list[str]) -> tuple[Any, np.ndarray, list[str]]:
    from hpt.data import talkingdata

    tables = talkingdata.required_tables(feature_sets)
    raw: dict[str, Any] = dict(
        talkingdata.load_raw(directory, tables=[t for t in tables if t != "app_events"])
    )
    if "app_events" in tables:
        raw["app_events"] = talkingdata.AppEventChunks(directory)
    return talkingdata.build_features(raw, feature_sets)


def read_sklearn(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import sklearn.datasets as skd

    bunch = getattr(skd, f"load_{name}")()
    X, y = np.asarray(bunch.data), np.asarray(bunch.target)
    names = [str(n) for n in getattr(bunch, "feature_names", range(X.shape[1]))]
    return X, y, names


def is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def table_columns(path: Path, key: str = "dataset.path") -> list[str]:
    """The column names of a CSV/Parquet file (reads the header only)."""
    import pandas as pd

    try:
        if is_parquet(path):
            import pyarrow.parquet as pq

            return [str(c) for c in pq.read_schema(path).names]
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except Exception as err:  # unreadable file: say which and why, in one line
        raise ConfigError(key, f"cannot read {str(path)!r}: {type(err).__name__}: {err}") from None


def _count_rows(path: Path) -> int:
    if is_parquet(path):
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    import zipfile

    opener: Callable[[], Any] = lambda: path.open("rb")  # noqa: E731
    if zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        opener = lambda: archive.open(archive.namelist()[0])  # noqa: E731
    lines = 0
    last = b"\n"
    with opener() as handle:
        while block := handle.read(1 << 24):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines - 1 + (last != b"\n")  # minus the header, plus an unterminated last line


def _chunk_rows(n_columns: int) -> int:
    """Rows per chunk so that one chunk of floats stays near 32 MB, whatever the width."""
    return max(1_000, min(_CHUNK_ROWS, (32 << 20) // (8 * max(1, n_columns))))


def _parquet_blocks(
    path: Path, names: list[str], target: str, dtype: npt.DTypeLike
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(features, labels) per slice of a row group, column by column: no DataFrame copy."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean)
    bad = [n for n in names if not any(f(schema.field(n).type) for f in numeric)]
    if bad:
        raise ConfigError(
            "dataset.path",
            f"{path.name}: non-numeric feature column(s) {bad[:5]}; encode them first or drop them",
        )
    step = _chunk_rows(len(names))
    for group in range(parquet.num_row_groups):
        table = parquet.read_row_group(group, columns=[*names, target])
        for start in range(0, table.num_rows, step):
            part = table.slice(start, step)
            block = np.empty((part.num_rows, len(names)), dtype=dtype)
            for j, name in enumerate(names):
                block[:, j] = part.column(name).to_numpy(zero_copy_only=False)
            yield block, part.column(target).to_numpy(zero_copy_only=False)
        del table
        pa.default_memory_pool().release_unused()


def _csv_blocks(
    path: Path, names: list[str], target: str, dtype: npt.DTypeLike
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    import pandas as pd

    for chunk in pd.read_csv(path, chunksize=_chunk_rows(len(names))):
        features = chunk[names]
        non_numeric = [
            str(c) for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])
        ]
        if non_numeric:
            raise ConfigError(
                "dataset.path",
                f"{path.name}: non-numeric feature column(s) {non_numeric[:5]}; encode them first "
                "or drop them",
            )
        yield features.to_numpy(dtype=dtype), chunk[target].to_numpy()


def read_table(
    path: Path,
    target: str,
    allocate: Callable[[tuple[int, int], npt.DTypeLike], np.ndarray],
    dtype: npt.DTypeLike = np.float64,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read ``path`` chunk by chunk into ``allocate(shape, dtype)``; return ``(X, y, names)``.

    ``y`` is the ``target`` column (label-encoded when not integer). Raises ConfigError for a
    non-numeric feature column.
    """
    columns = table_columns(path)
    names = [c for c in columns if c != target]
    n_rows = _count_rows(path)
    X = allocate((n_rows, len(names)), dtype)
    labels: list[np.ndarray] = []
    row = 0
    blocks = _parquet_blocks if is_parquet(path) else _csv_blocks
    for block, label in blocks(path, names, target, dtype):
        X[row : row + len(block)] = block
        labels.append(label)
        row += len(block)
    if row != n_rows:
        raise ConfigError(
            "dataset.path", f"{path.name}: counted {n_rows} rows but read {row}; is it a table?"
        )
    y = np.concatenate(labels) if labels else np.empty(0)
    if y.dtype.kind not in "iub":
        from sklearn.preprocessing import LabelEncoder

        y = LabelEncoder().fit_transform(y)
    return X, np.asarray(y), names
