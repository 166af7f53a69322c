"""Generate a synthetic sample shaped like Kaggle's TalkingData Mobile User Demographics data.

The real files cannot be downloaded here, so hpt makes files with the same names, columns and
quirks: skewed groups, Zipf-like brand/model/app popularity, duplicated device rows in
phone_brand_device_model.csv, about two thirds of devices without any event, apps with several
labels (and a few duplicated app_labels rows), multi-word label categories that need the sample
code's cleaning, and events spread over the week of 2016-05-01 with bursts per device.

The signal is learnable but weak, as in the real task: the group shifts brand and model choice,
the hours and days of activity, and which apps (hence labels and categories) are installed.
Calibration, with the seed's XGBoost settings on a 20% hold-out of ``n_devices=100_000``
(40,000 training devices): all feature sets 2.29 (2.05 on devices with events, 2.41 without;
the seed reports 2.285-2.291 on the real data), brand and model alone 2.39, the prior 2.43.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from hpt.data.talkingdata._files import MARKER, write_sample
from hpt.data.talkingdata._scale import Targets, exact_mask, exact_total
from hpt.data.talkingdata._world import (
    AGE_RANGES,
    GROUP_SHARES,
    GROUPS,
    PHI,
    FloatArray,
    IntArray,
    world,
)

__all__ = ["MARKER", "generate"]

_FORMAT_VERSION = 1  # bump when the same (n_devices, seed) would produce different files
_START = np.datetime64("2016-05-01T00:00:00", "s")  # a Sunday, as in the real data
_WEEK_S = 7 * 86_400
_EVENT_SHARE = 0.31  # share of devices with at least one event in the real data
_APP_DATA_SHARE = 0.70  # of devices with events, those whose events carry app lists
_APP_EVENT_SHARE = 0.66  # of their events, those with an app list (0.70 * 0.66 ~ 46%, as real)
_APP_DROP = 0.10  # an installed app missing from one event's list
_DEDUP_GAIN = 1.09  # repeated draws of a popular app collapse: draw ~9% more
_DUPLICATE_SHARE = 0.0028  # 529 of 186,716 real device ids appear twice
_APP_EFFECT = 0.36  # scale of the group effect on app choice (calibrated, see module doc)
# (longitude, latitude, weight) of the largest cities; events are placed around a home city.
_CITIES = np.array(
    [
        (116.40, 39.90, 10),
        (121.47, 31.23, 10),
        (113.26, 23.13, 8),
        (114.06, 22.54, 7),
        (104.07, 30.67, 6),
        (114.31, 30.59, 5),
        (120.16, 30.27, 5),
        (106.55, 29.56, 5),
        (108.94, 34.34, 4),
        (118.80, 32.06, 4),
        (117.20, 39.13, 4),
        (123.43, 41.80, 3),
        (126.53, 45.80, 3),
        (113.63, 34.75, 3),
        (112.94, 28.23, 3),
        (102.83, 24.88, 2),
        (117.00, 36.65, 2),
        (120.38, 36.07, 2),
        (118.09, 24.48, 2),
        (87.62, 43.83, 1),
    ]
)


def generate(
    out_dir: str | os.PathLike[str],
    n_devices: int,
    *,
    seed: int = 0,
    compress: bool = False,
    train_fraction: float = 0.4,
    events_per_device: float = 2.5,
    app_events_per_event: float = 20.0,
    overwrite: bool = False,
) -> Path:
    """Write a TalkingData-shaped sample of ``n_devices`` devices to ``out_dir``; return it.

    Writes the seven :data:`FILES` (``.csv``, or ``.csv.zip`` holding one ``.csv`` each as
    Kaggle ships them when ``compress``) plus :data:`MARKER`. ``n_devices`` counts train and test
    devices; ``train_fraction`` of them (40%, as in Kaggle) get a row in gender_age_train.csv.
    ``events_per_device`` is the mean number of events over all devices (about 2/3 have none);
    ``app_events_per_event`` the mean number of app_events rows of an event that has an app list
    (about 46% of events have one).

    The files are a pure function of the arguments (byte for byte, zip included). They are
    written to a temporary directory next to ``out_dir`` and renamed into place, so ``out_dir``
    is either absent or complete, even after a crash. An existing empty ``out_dir`` is replaced;
    a non-empty one raises :class:`FileExistsError` unless it already holds this very sample
    (then it is kept: a concurrent generator finished first) or ``overwrite`` is true.
    """
    if isinstance(n_devices, bool) or not isinstance(n_devices, (int, np.integer)):
        raise TypeError(f"n_devices must be an int, got {type(n_devices).__name__}")
    if n_devices < 2:
        raise ValueError(f"n_devices must be >= 2 (one train, one test device), got {n_devices}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    if events_per_device <= 0 or app_events_per_event < 1:
        raise ValueError(
            "events_per_device must be > 0 and app_events_per_event >= 1, got "
            f"{events_per_device} and {app_events_per_event}"
        )
    params = {
        "generator": "hpt.data.talkingdata",
        "format_version": _FORMAT_VERSION,
        "n_devices": int(n_devices),
        "seed": int(seed),
        "compress": bool(compress),
        "train_fraction": float(train_fraction),
        "events_per_device": float(events_per_device),
        "app_events_per_event": float(app_events_per_event),
    }
    tables = _tables(
        int(n_devices),
        int(seed),
        train_fraction=train_fraction,
        events_per_device=events_per_device,
        app_events_per_event=app_events_per_event,
    )
    return write_sample(Path(out_dir), params, tables, compress=compress, overwrite=overwrite)


def _sample_rows(rng: np.random.Generator, probs: FloatArray, rows: IntArray) -> IntArray:
    """One draw from ``probs[rows[i]]`` for each ``i`` (rows of ``probs`` need not be normed)."""
    n_rows, k = probs.shape
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    # Offsetting row r by r makes one increasing array: a single searchsorted for all draws.
    flat = (cum + np.arange(n_rows)[:, None]).ravel()
    idx = np.searchsorted(flat, rng.random(rows.size) + rows, side="right") - rows * k
    drawn: IntArray = np.minimum(idx, k - 1).astype(np.int64)
    return drawn


def _ragged_arange(starts: IntArray, counts: IntArray) -> IntArray:
    """Concatenation of ``arange(starts[i], starts[i] + counts[i])`` over ``i``."""
    total = int(counts.sum())
    ends = np.cumsum(counts)
    shift = np.repeat(starts - (ends - counts), counts)
    result: IntArray = (np.arange(total, dtype=np.int64) + shift).astype(np.int64)
    return result


def _unique_ids(rng: np.random.Generator, n: int) -> IntArray:
    """``n`` distinct random signed 64-bit ids (like the real device and app ids)."""
    info = np.iinfo(np.int64)
    ids = rng.integers(info.min, info.max, size=n, dtype=np.int64)
    while np.unique(ids).size < n:  # collisions are astronomically rare; redraw them
        _, first = np.unique(ids, return_index=True)
        again = np.setdiff1d(np.arange(n), first)
        ids[again] = rng.integers(info.min, info.max, size=again.size, dtype=np.int64)
    return ids


def _negative_binomial(rng: np.random.Generator, mean: float, shape: float, size: int) -> IntArray:
    return rng.negative_binomial(shape, shape / (shape + mean), size=size).astype(np.int64)


def _tables(
    n: int,
    seed: int,
    *,
    train_fraction: float = 0.4,
    events_per_device: float = 2.5,
    app_events_per_event: float = 20.0,
    targets: Targets | None = None,
) -> dict[str, pd.DataFrame]:
    """The seven tables in memory, keyed by :data:`TABLES`, typed as :func:`load_raw` returns.

    With ``targets`` the row counts are exactly those (see :mod:`._scale`); without, they follow
    from the means (and the files are what they always were for these arguments).
    """
    w = world()
    rng = np.random.default_rng([seed, n, _FORMAT_VERSION])

    # Devices: the first n_train are the training devices (the order is already random).
    n_train = min(n - 1, max(1, round(train_fraction * n)))
    if targets is not None:
        n_train = targets.n_train
    device_id = _unique_ids(rng, n)
    group = _sample_rows(rng, GROUP_SHARES[None, :], np.zeros(n, dtype=np.int64))
    age = _ages(rng, group)

    # Brand and model: popularity shifted by the group.
    brand_probs = (w.brand_weight[:, None] * np.exp(w.brand_effect)).T
    brand = _sample_rows(rng, brand_probs, group)
    model = _models(rng, brand, group)

    # Events: bursts ("sessions") around a device's habitual hours.
    male = PHI[group, 0]
    z = PHI[group, 1]
    has_events = rng.random(n) < _EVENT_SHARE + 0.02 * male - 0.015 * z
    active = np.flatnonzero(has_events)
    n_events_of = 1 + _negative_binomial(
        rng, events_per_device / _EVENT_SHARE - 1.0, 0.6, active.size
    )
    n_events_of = np.minimum(n_events_of, 2000)
    if targets is not None:
        n_events_of = exact_total(rng, n_events_of, targets.n_events, minimum=1)
    ev_device = np.repeat(active, n_events_of)
    ev_time = _event_times(rng, active, n_events_of, group)
    lon, lat = _locations(rng, n, ev_device)

    # Apps: an installed set per device; an event's app list is that set minus a few apps.
    apps = _apps(rng, n, targets)
    app_pairs_device, app_pairs_app, app_pairs_active = _installed(
        rng, active, group, apps, _DEDUP_GAIN * app_events_per_event / (1.0 - _APP_DROP)
    )
    order = rng.permutation(ev_device.size)  # event ids are not grouped by device
    ev_device, ev_time, lon, lat = ev_device[order], ev_time[order], lon[order], lat[order]
    event_id = np.arange(1, ev_device.size + 1, dtype=np.int64)
    ae_event, ae_pair = _app_events(
        rng, ev_device, app_pairs_device, None if targets is None else targets.n_app_events
    )
    is_active = rng.random(ae_pair.size) < app_pairs_active[ae_pair]
    app_labels = _app_labels(rng, apps, None if targets is None else targets.n_app_labels)

    train = slice(0, n_train)
    test = slice(n_train, n)
    names = np.asarray(GROUPS, dtype=object)
    tables = {
        "gender_age_train": pd.DataFrame(
            {
                "device_id": device_id[train],
                "gender": np.where(group[train] < 6, "F", "M").astype(object),
                "age": age[train],
                "group": names[group[train]],
            }
        ),
        "gender_age_test": pd.DataFrame({"device_id": device_id[test]}),
        "phone_brand_device_model": _brand_rows(
            rng, device_id, brand, model, None if targets is None else targets.n_duplicates
        ),
        "events": pd.DataFrame(
            {
                "event_id": event_id,
                "device_id": device_id[ev_device],
                "timestamp": _START + ev_time.astype("timedelta64[s]"),
                "longitude": lon,
                "latitude": lat,
            }
        ),
        "app_events": pd.DataFrame(
            {
                "event_id": event_id[ae_event],
                "app_id": apps.ids[app_pairs_app[ae_pair]],
                "is_installed": np.ones(ae_pair.size, dtype=np.int64),
                "is_active": is_active.astype(np.int64),
            }
        ),
        "app_labels": app_labels,
        "label_categories": pd.DataFrame({"label_id": w.label_ids, "category": w.label_category}),
    }
    return tables


def _ages(rng: np.random.Generator, group: IntArray) -> IntArray:
    bounds = np.asarray(AGE_RANGES, dtype=np.int64)
    lo, hi = bounds[group, 0], bounds[group, 1]
    age = lo + np.floor(rng.random(group.size) * (hi - lo + 1)).astype(np.int64)
    # Open-ended groups thin out away from their boundary (few 12- or 80-year-olds).
    young = np.isin(group, (0, 6))
    old = np.isin(group, (5, 11))
    span = hi - lo
    young_gap = np.floor(rng.exponential(2.5, size=int(young.sum()))).astype(np.int64)
    old_gap = np.floor(rng.exponential(9.0, size=int(old.sum()))).astype(np.int64)
    age[young] = hi[young] - np.minimum(young_gap, span[young])
    age[old] = lo[old] + np.minimum(old_gap, span[old])
    result: IntArray = age.astype(np.int64)
    return result


def _models(rng: np.random.Generator, brand: IntArray, group: IntArray) -> IntArray:
    """A model of each device's brand, with the group's preferences."""
    w = world()
    start, end = w.brand_model_start[brand], w.brand_model_start[brand + 1]
    model = np.empty(brand.size, dtype=np.int64)
    u = rng.random(brand.size)
    for g in range(len(GROUPS)):  # 12 iterations, vectorised inside
        rows = np.flatnonzero(group == g)
        cum = np.concatenate([[0.0], np.cumsum(w.model_weight * np.exp(w.model_effect[:, g]))])
        lo, hi = cum[start[rows]], cum[end[rows]]
        target = lo + u[rows] * (hi - lo)
        idx = np.searchsorted(cum, target, side="right") - 1
        model[rows] = np.clip(idx, start[rows], end[rows] - 1)
    return model


def _brand_rows(
    rng: np.random.Generator,
    device_id: IntArray,
    brand: IntArray,
    model: IntArray,
    n_dup: int | None = None,
) -> pd.DataFrame:
    """phone_brand_device_model.csv: one row per device plus a few repeated device ids."""
    w = world()
    n = device_id.size
    if n_dup is None:
        n_dup = max(1, round(_DUPLICATE_SHARE * n)) if n >= 20 else 0
    dup = rng.choice(n, size=n_dup, replace=False)
    # Half the repeats are exact copies; the others name another (popular) phone.
    other = rng.random(n_dup) < 0.5
    dup_brand = brand[dup].copy()
    dup_brand[other] = _sample_rows(
        rng, w.brand_weight[None, :], np.zeros(int(other.sum()), dtype=np.int64)
    )
    dup_model = model[dup].copy()
    anyone = _sample_rows(rng, GROUP_SHARES[None, :], np.zeros(int(other.sum()), dtype=np.int64))
    dup_model[other] = _models(rng, dup_brand[other], anyone)
    all_device = np.concatenate([device_id, device_id[dup]])
    all_brand = np.concatenate([brand, dup_brand])
    all_model = np.concatenate([model, dup_model])
    order = rng.permutation(all_device.size)
    return pd.DataFrame(
        {
            "device_id": all_device[order],
            "phone_brand": w.brand_names[all_brand[order]],
            "device_model": w.model_names[all_model[order]],
        }
    )


def _event_times(
    rng: np.random.Generator, active: IntArray, n_events_of: IntArray, group: IntArray
) -> IntArray:
    """Seconds since 2016-05-01 00:00 of each event, grouped by device like ``active``."""
    w = world()
    g_active = group[active]
    hour_probs = (w.hour_base[:, None] * np.exp(w.hour_effect)).T  # (12, 24)
    day_probs = np.exp(w.day_effect).T  # (12, 7)
    habit_hour = _sample_rows(rng, hour_probs, g_active)
    # Sessions: 1 + Binomial(n - 1, 0.35) per device; each event joins one at random.
    n_sessions = 1 + rng.binomial(n_events_of - 1, 0.35)
    s_device = np.repeat(np.arange(active.size), n_sessions)
    s_group = g_active[s_device]
    s_hour = np.where(
        rng.random(s_device.size) < 0.4,
        habit_hour[s_device],
        _sample_rows(rng, hour_probs, s_group),
    )
    s_day = _sample_rows(rng, day_probs, s_group)
    s_start = s_day * 86_400 + s_hour * 3_600 + rng.integers(0, 3_600, s_device.size)
    first_session = np.cumsum(n_sessions) - n_sessions
    ev_local = np.repeat(first_session, n_events_of)
    ev_session = ev_local + np.floor(
        rng.random(ev_local.size) * np.repeat(n_sessions, n_events_of)
    ).astype(np.int64)
    offset = np.floor(rng.exponential(600.0, ev_session.size)).astype(np.int64)
    seconds: IntArray = ((s_start[ev_session] + offset) % _WEEK_S).astype(np.int64)
    return seconds


def _locations(
    rng: np.random.Generator, n: int, ev_device: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Longitude and latitude of each event: near the device's home city, or 0/0 or 1/1."""
    city = rng.choice(_CITIES.shape[0], size=n, p=_CITIES[:, 2] / _CITIES[:, 2].sum())
    home_lon = _CITIES[city, 0] + rng.normal(0, 0.08, n)
    home_lat = _CITIES[city, 1] + rng.normal(0, 0.08, n)
    m = ev_device.size
    lon = np.round(home_lon[ev_device] + rng.normal(0, 0.01, m), 2)
    lat = np.round(home_lat[ev_device] + rng.normal(0, 0.01, m), 2)
    # The real data has no location for about a quarter of events (0, 0) and a few at (1, 1).
    roll = rng.random(m)
    lon[roll < 0.27] = lat[roll < 0.27] = 0.0
    unknown = (roll >= 0.27) & (roll < 0.29)
    lon[unknown] = lat[unknown] = 1.0
    return lon, lat


class _Apps:
    """Apps of one sample: the first ``n_used`` can be installed, the rest only have labels."""

    def __init__(self, ids: IntArray, theme: IntArray, n_used: int, probs: FloatArray) -> None:
        self.ids = ids
        self.theme = theme
        self.n_used = n_used
        self.probs = probs  # (12, n_used): who installs what


def _apps(rng: np.random.Generator, n: int, targets: Targets | None = None) -> _Apps:
    w = world()
    n_used = int(np.clip(round(0.2 * n), 300, 20_000))
    n_all = 3 * n_used  # app_labels.csv lists many apps never seen in app_events.csv
    if targets is not None:
        n_used, n_all = targets.n_used_apps, targets.n_all_apps
    ids = _unique_ids(rng, n_all)
    theme = rng.choice(len(w.theme_u), size=n_all, p=[0.3, 0.3, 0.1, 0.1, 0.12, 0.08])
    popularity = (1.0 / (np.arange(n_used) + 3.0))[rng.permutation(n_used)]
    own = rng.normal(size=(n_used, PHI.shape[1])) * np.array([0.6, 0.6, 0.3, 0.3])
    effect = _APP_EFFECT * ((w.theme_u[theme[:n_used]] + own) @ PHI.T)  # (n_used, 12)
    probs = (popularity[:, None] * np.exp(effect)).T
    return _Apps(ids, theme.astype(np.int64), n_used, probs)


def _installed(
    rng: np.random.Generator, active: IntArray, group: IntArray, apps: _Apps, mean_size: float
) -> tuple[IntArray, IntArray, FloatArray]:
    """(device, app, activity) of each installed app, sorted by device, for devices with apps."""
    owners = active[rng.random(active.size) < _APP_DATA_SHARE]
    size = np.minimum(1 + _negative_binomial(rng, mean_size - 1.0, 1.5, owners.size), 400)
    draw_device = np.repeat(owners, size)
    draw_app = _sample_rows(rng, apps.probs, group[draw_device])
    # Draws with replacement; repeats collapse (popular apps are installed once).
    key = np.unique(draw_device * np.int64(apps.n_used) + draw_app)
    device, app = key // apps.n_used, key % apps.n_used
    activity = rng.beta(0.8, 1.2, size=key.size)
    return device.astype(np.int64), app.astype(np.int64), activity


def _app_events(
    rng: np.random.Generator, ev_device: IntArray, pair_device: IntArray, total: int | None = None
) -> tuple[IntArray, IntArray]:
    """(event index, installed-pair index) of each app_events row, sorted by event."""
    pair_start = np.searchsorted(pair_device, ev_device, side="left")
    pair_count = np.searchsorted(pair_device, ev_device, side="right") - pair_start
    listed = (pair_count > 0) & (rng.random(ev_device.size) < _APP_EVENT_SHARE)
    events = np.flatnonzero(listed)
    pair = _ragged_arange(pair_start[events], pair_count[events])
    event = np.repeat(events, pair_count[events])
    keep = rng.random(pair.size) >= _APP_DROP
    if total is not None:
        keep = exact_mask(rng, keep, total)
    return event[keep].astype(np.int64), pair[keep]


def _app_labels(rng: np.random.Generator, apps: _Apps, total: int | None = None) -> pd.DataFrame:
    """app_labels.csv: 1-3 labels of the app's theme plus common generic ones."""
    w = world()
    n_all = apps.ids.size
    n_themes = len(w.theme_u)
    weight = np.where(w.label_used, w.label_weight, 0.0)
    theme_probs = np.stack([np.where(w.label_theme == t, weight, 0.0) for t in range(n_themes)])
    themed = np.stack([_sample_rows(rng, theme_probs, apps.theme) for _ in range(3)], axis=1)
    n_themed = 1 + rng.binomial(2, 0.45, size=n_all)
    keep = np.arange(3)[None, :] < n_themed[:, None]
    # Generic labels 0-3 ("Industry tag", "Custom label", "Tencent", "unknown").
    generic = rng.random((n_all, 4)) < np.array([0.55, 0.30, 0.06, 0.04])
    app_idx = np.concatenate([np.repeat(np.arange(n_all), 3)[keep.ravel()], np.nonzero(generic)[0]])
    label_idx = np.concatenate([themed[keep], np.nonzero(generic)[1]])
    key = np.unique(app_idx * np.int64(w.label_ids.size) + label_idx)
    app_idx, label_idx = key // w.label_ids.size, key % w.label_ids.size
    # A few exact duplicate rows, as in the real file (the sample code drops them).
    n_dup = max(1, key.size // 200)
    if total is not None:  # drop random pairs (or repeat more of them) to hit the total
        n_dup = max(0, total - key.size)
        if key.size > total:
            key = np.sort(key[rng.choice(key.size, size=total, replace=False)])
        app_idx, label_idx = key // w.label_ids.size, key % w.label_ids.size
    dup = rng.choice(key.size, size=n_dup, replace=n_dup > key.size)
    app_idx = np.concatenate([app_idx, app_idx[dup]])
    label_idx = np.concatenate([label_idx, label_idx[dup]])
    order = rng.permutation(app_idx.size)
    return pd.DataFrame(
        {"app_id": apps.ids[app_idx[order]], "label_id": w.label_ids[label_idx[order]]}
    )
