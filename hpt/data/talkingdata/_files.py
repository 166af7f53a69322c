"""Write generated tables as the seven TalkingData files, atomically (temp dir + rename)."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

from hpt.data.talkingdata._io import FILES, TABLES

__all__ = ["MARKER", "write_sample"]

MARKER = "hpt_generated.json"
"""Written next to the seven files: the generator's parameters (lets a cache check a match)."""


def write_sample(
    out: Path,
    params: dict[str, object],
    tables: dict[str, pd.DataFrame],
    *,
    compress: bool,
    overwrite: bool,
) -> Path:
    """Write ``tables`` and the marker to a temporary directory, then rename it to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the dataset is meant to be shared
    try:
        rows = {}
        for file_name, table in zip(FILES, TABLES, strict=True):
            rows[file_name] = len(tables[table])
            _write_csv(tables.pop(table), tmp / file_name, compress=compress)  # frees it
        (tmp / MARKER).write_text(json.dumps({**params, "rows": rows}, indent=2) + "\n")
        _publish(tmp, out, params, overwrite=overwrite)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _publish(tmp: Path, out: Path, params: dict[str, object], *, overwrite: bool) -> None:
    """Rename ``tmp`` to ``out`` (atomic on POSIX; replaces an empty ``out``)."""
    try:
        os.rename(tmp, out)
        return
    except OSError:
        if not out.is_dir():
            raise
    if _same_sample(out, params):
        return  # another process generated the same sample meanwhile; keep theirs
    if not overwrite:
        raise FileExistsError(
            f"{str(out)!r} exists and does not hold this sample; remove it, choose another "
            "directory or pass overwrite=True"
        )
    # Swap: a crash between the two renames leaves out missing (never half-written).
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rename(out, trash / out.name)
    os.rename(tmp, out)
    shutil.rmtree(trash, ignore_errors=True)


def _same_sample(out: Path, params: dict[str, object]) -> bool:
    try:
        found = json.loads((out / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(found, dict) and all(found.get(k) == v for k, v in params.items())


def _write_csv(frame: pd.DataFrame, path: Path, *, compress: bool) -> None:
    options: dict[str, object] = {"index": False, "float_format": "%.2f", "lineterminator": "\n"}
    if not compress:
        frame.to_csv(path, encoding="utf-8", **options)  # type: ignore[call-overload]
        return
    # One member named like the file, with a fixed timestamp so the bytes are reproducible.
    info = zipfile.ZipInfo(path.name, date_time=(2016, 7, 11, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with (
        zipfile.ZipFile(path.with_name(path.name + ".zip"), "w") as archive,
        archive.open(info, "w", force_zip64=True) as member,
        io.TextIOWrapper(member, encoding="utf-8", newline="") as text,
    ):
        frame.to_csv(text, **options)  # type: ignore[call-overload]
