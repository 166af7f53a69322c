"""Writing TalkingData-shaped files at the real data's sizes (:func:`generate_scale`)."""

from __future__ import annotations

import os
from pathlib import Path

from hpt.data.talkingdata import _generate
from hpt.data.talkingdata._files import write_sample
from hpt.data.talkingdata._scale import _APP_EVENTS_PER_LISTED_EVENT, Targets


def generate_scale(
    out_dir: str | os.PathLike[str],
    scale: float,
    *,
    seed: int = 0,
    compress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write TalkingData-shaped files at ``scale`` times the real sizes (exact counts).

    Same guarantees as :func:`generate` (deterministic for ``(scale, seed)``, written to a
    temporary directory and renamed into place). Scale 1 takes a few minutes and writes about
    1.2 GB of CSV (``compress`` zips each file as Kaggle does).
    """
    if not 0.0 < scale <= 10.0:
        raise ValueError(f"scale must be in (0, 10], got {scale}")
    targets = Targets.at(scale)
    params: dict[str, object] = {
        "generator": "hpt.data.talkingdata",
        "format_version": _generate._FORMAT_VERSION,
        "scale": float(scale),
        "seed": int(seed),
        "compress": bool(compress),
    }
    tables = _generate._tables(
        targets.n_devices,
        int(seed),
        events_per_device=targets.n_events / targets.n_devices,
        app_events_per_event=_APP_EVENTS_PER_LISTED_EVENT,
        targets=targets,
    )
    return write_sample(Path(out_dir), params, tables, compress=compress, overwrite=overwrite)
