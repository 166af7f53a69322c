"""Locate and read the seven TalkingData files (plain ``.csv`` or Kaggle's ``.csv.zip``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

__all__ = ["COLUMNS", "FILES", "TABLES", "AppEventChunks", "find_files", "load_raw"]

FILES: tuple[str, ...] = (
    "gender_age_train.csv",
    "gender_age_test.csv",
    "phone_brand_device_model.csv",
    "events.csv",
    "app_events.csv",
    "app_labels.csv",
    "label_categories.csv",
)
"""The seven files of Kaggle's TalkingData Mobile User Demographics data."""

TABLES: tuple[str, ...] = tuple(name.removesuffix(".csv") for name in FILES)
"""Table names (file names without ``.csv``): the keys of :func:`load_raw`'s result."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "gender_age_train": ("device_id", "gender", "age", "group"),
    "gender_age_test": ("device_id",),
    "phone_brand_device_model": ("device_id", "phone_brand", "device_model"),
    "events": ("event_id", "device_id", "timestamp", "longitude", "latitude"),
    "app_events": ("event_id", "app_id", "is_installed", "is_active"),
    "app_labels": ("app_id", "label_id"),
    "label_categories": ("label_id", "category"),
}
"""The columns of each table, in file order."""

# Ids are 64-bit (device and app ids use the full signed range); everything else is inferred
# with pandas' defaults, as the scenario's load_data.py reads the files.
_DTYPES = {
    "device_id": "int64",
    "event_id": "int64",
    "app_id": "int64",
    "label_id": "int64",
    "age": "int64",
    "is_installed": "int64",
    "is_active": "int64",
    "longitude": "float64",
    "latitude": "float64",
}
_TIMESTAMP_FORMAT = "ISO8601"  # "2016-05-01 00:55:25"; fast path in pandas >= 2


def find_files(path: str | os.PathLike[str]) -> dict[str, Path]:
    """Map each name in :data:`FILES` to its file in directory ``path``.

    A file may be plain (``events.csv``) or zipped as Kaggle ships it (``events.csv.zip``); the
    plain one wins when both exist. Raises :class:`FileNotFoundError` naming every missing file.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"TalkingData directory {str(directory)!r} does not exist")
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in FILES:
        for candidate in (directory / name, directory / f"{name}.zip"):
            if candidate.is_file():
                found[name] = candidate
                break
        else:
            missing.append(name)
    if missing:
        raise FileNotFoundError(
            f"TalkingData file(s) missing in {str(directory)!r}: {', '.join(missing)} "
            "(each may be .csv or .csv.zip)"
        )
    return found


def load_raw(
    path: str | os.PathLike[str], tables: Iterable[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Read the TalkingData files in directory ``path`` into data frames keyed by table name.

    ``tables`` restricts reading to some of :data:`TABLES` (app_events is by far the largest;
    see :func:`required_tables`). Ids are ``int64``, events' ``timestamp`` is parsed to
    ``datetime64``; rows and columns are kept as in the files (no deduplication, no cleaning:
    :func:`build_features` does what the scenario's code does). Raises
    :class:`FileNotFoundError` for missing files and :class:`ValueError` for unknown table
    names or files lacking a required column.
    """
    wanted = TABLES if tables is None else tuple(tables)
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}; valid: {', '.join(TABLES)}")
    files = find_files(path)
    raw: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        if table in wanted:
            raw[table] = _read(table, files[f"{table}.csv"])
    return raw


def _read(table: str, file: Path) -> pd.DataFrame:
    header = _check_header(table, file, COLUMNS[table])
    dtypes = {c: _DTYPES[c] for c in header if c in _DTYPES}
    frame = pd.read_csv(file, dtype=dtypes)
    if table == "events":
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], format=_TIMESTAMP_FORMAT)
    return frame


def _check_header(table: str, file: Path, columns: Iterable[str]) -> pd.Index:
    header = pd.read_csv(file, nrows=0).columns
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(
            f"{file.name}: missing column(s) {missing}; expected {list(COLUMNS[table])}, "
            f"found {list(header)}"
        )
    return header


class AppEventChunks:
    """app_events' ``event_id`` and ``app_id`` columns, read in chunks (re-iterable).

    The real file has 32 million rows; :func:`build_features` needs only these two columns and
    one pass, so it never holds the whole table (pass this in place of the data frame).
    """

    columns = ("event_id", "app_id")

    def __init__(self, path: str | os.PathLike[str], chunk_rows: int = 2_000_000) -> None:
        self.file = find_files(path)["app_events.csv"]
        self.chunk_rows = chunk_rows
        _check_header("app_events", self.file, self.columns)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        yield from pd.read_csv(
            self.file,
            usecols=list(self.columns),
            dtype={c: "int64" for c in self.columns},
            chunksize=self.chunk_rows,
        )
