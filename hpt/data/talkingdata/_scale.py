"""TalkingData at the real data's proportions: ``generate_scale(out, 1.0)`` has Kaggle's sizes.

At ``scale=1`` the files have exactly the real row counts (:data:`REAL_ROWS`): 74,645 labelled
devices (gender_age_train), 112,071 test devices, 187,245 phone brand/model rows, 3,252,950
events, 32,473,067 app events, 459,943 app labels and 930 label categories. Other scales
multiply every count but the categories (the label vocabulary is fixed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpt.data.talkingdata._world import IntArray

__all__ = ["REAL_ROWS", "Targets", "exact_mask", "exact_total"]

REAL_ROWS: dict[str, int] = {
    "gender_age_train.csv": 74_645,
    "gender_age_test.csv": 112_071,
    "phone_brand_device_model.csv": 187_245,
    "events.csv": 3_252_950,
    "app_events.csv": 32_473_067,
    "app_labels.csv": 459_943,
    "label_categories.csv": 930,
}
"""Rows of each Kaggle file (without the header)."""

_REAL_DEVICES = 186_716  # train + test; 529 of them have two phone rows
_REAL_APPS_IN_EVENTS = 19_237
_LABEL_ROWS_PER_APP = 2.6  # what the generator draws per app, a little under (then trimmed)
_APP_EVENTS_PER_LISTED_EVENT = 26.0  # calibrated so the drawn total is just above the target


@dataclass(frozen=True)
class Targets:
    """Exact row counts for the generator (see :func:`generate_scale`)."""

    n_devices: int
    n_train: int
    n_duplicates: int
    n_events: int
    n_app_events: int
    n_app_labels: int
    n_used_apps: int
    n_all_apps: int

    @classmethod
    def at(cls, scale: float) -> Targets:
        def s(count: int, floor: int = 1) -> int:
            return max(floor, round(count * scale))

        n_devices = s(_REAL_DEVICES, 100)
        labels = s(REAL_ROWS["app_labels.csv"], 50)
        return cls(
            n_devices=n_devices,
            n_train=min(n_devices - 1, s(REAL_ROWS["gender_age_train.csv"], 40)),
            n_duplicates=s(REAL_ROWS["phone_brand_device_model.csv"] - _REAL_DEVICES, 0),
            n_events=s(REAL_ROWS["events.csv"], 100),
            n_app_events=s(REAL_ROWS["app_events.csv"], 100),
            n_app_labels=labels,
            n_used_apps=s(_REAL_APPS_IN_EVENTS, 50),
            n_all_apps=max(s(_REAL_APPS_IN_EVENTS, 50) + 1, round(labels / _LABEL_ROWS_PER_APP)),
        )


def exact_total(
    rng: np.random.Generator, counts: IntArray, total: int, *, minimum: int = 0
) -> IntArray:
    """``counts`` changed at random places so they sum to ``total`` (each stays >= minimum)."""
    counts = counts.astype(np.int64, copy=True)
    diff = total - int(counts.sum())
    if diff > 0:  # add events to random devices, proportionally to nothing (uniform)
        np.add.at(counts, rng.integers(0, counts.size, size=diff), 1)
    elif diff < 0:  # remove -diff of the removable units, uniformly among them
        spare = counts - minimum
        if int(spare.sum()) < -diff:
            raise ValueError(f"cannot reach {total} with {counts.size} entries >= {minimum}")
        picks = rng.choice(int(spare.sum()), size=-diff, replace=False)
        owner = np.searchsorted(np.cumsum(spare), picks, side="right")
        np.subtract.at(counts, owner, 1)
    return counts


def exact_mask(rng: np.random.Generator, keep: np.ndarray, total: int) -> np.ndarray:
    """``keep`` with random entries flipped so that exactly ``total`` are True."""
    keep = keep.copy()
    kept = int(keep.sum())
    if total > keep.size:
        raise ValueError(f"cannot keep {total} of {keep.size} candidates")
    if kept > total:
        on = np.flatnonzero(keep)
        keep[on[rng.choice(on.size, size=kept - total, replace=False)]] = False
    elif kept < total:
        off = np.flatnonzero(~keep)
        keep[off[rng.choice(off.size, size=total - kept, replace=False)]] = True
    return keep
