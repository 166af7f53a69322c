"""The seed scenario's feature sets as sparse matrices over the training devices.

Follows ``feature_engineering.py``, ``load_data.py`` and ``singleVM.py`` of the scenario's
sample code (Azure MachineLearningSamples-DistributedHyperParameterTuning) entry for entry,
vectorised with sparse products instead of per-row merges:

- Rows are gender_age_train's devices in file order; ``y`` is ``group`` encoded like
  scikit-learn's ``LabelEncoder`` (sorted classes).
- phone_brand_device_model keeps the *first* row of a repeated device id. Brand and model are
  encoded separately over all its devices (train and test), classes sorted like
  ``LabelEncoder`` (code-point order; the model name alone, so "A8" of two brands is one column).
- Devices without events (about 2/3) get all-zero event rows; events and app_events of other
  devices only widen the vocabularies. Apps are app_events' ``app_id`` values (all rows,
  whatever ``is_installed``/``is_active``); labels are app_labels' ``label_id`` values (all
  rows; duplicated rows count once); categories are label_categories' texts cleaned like
  load_data.py (lower case, ``game-`` -> ``game ``, each of ``()_/`` -> a space) for the labels
  of those apps; category words are the space-separated words of the categories a device's apps
  have (an indicator, in the seed too).
- ``weekday`` is Monday=0 .. Sunday=6 and ``hour`` 0..23 of the event timestamp. The
  weekday x hour columns are the observed ``"<weekday>_<hour>"`` strings in string order
  (``0_0, 0_1, 0_10, ...``) followed by the unobserved ones (all-zero columns, as the sample's
  ``shape=(n, 7*24)`` leaves them).
- Columns come in singleVM.py's ``hstack`` order whatever the order of ``feature_sets``:
  brand, model, app, app_label, app_category, weekday, hour, weekday_hour, category_word.

Deliberate differences from the sample code:

- **Fractions.** The seed describes "the fraction of a device's events" per weekday, hour,
  weekday x hour, app, app label and app category, but the sample stores 1 in each of those
  entries: ``weekday_hour_features`` computes ``weekday_frac``, ``hour_frac`` and
  ``weekday_hour_frac`` as count / total and then overwrites each column with ``= 1`` on the
  next line; ``one_hot_app_labels`` builds the app and label matrices from ``np.ones`` over
  unique (device, app) and (device, label) pairs; ``text_category_features`` from ``np.ones``
  over unique (device, category) pairs. hpt stores the fractions: a device's events in that
  weekday / hour / slot over its events; for apps, labels and categories, the device's
  (event, app) records of that app, (event, app, label) records of that label, and of labels of
  that category, over the device's total of such records. Each such row sums to 1 (or is
  empty). ``fractions=False`` gives the sample's values (every stored entry 1).
- **Brand and model widths.** The sample builds these two matrices without ``shape=``, so
  their width is the largest code among *training* devices + 1 (and the test matrices can end
  up narrower or wider). hpt gives every class a column; the extra trailing columns are all zero
  and shift later blocks right, entries are otherwise the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

__all__ = [
    "FEATURE_SETS",
    "FRACTION_SETS",
    "SMALL_FEATURE_SETS",
    "build_features",
    "required_tables",
]

FEATURE_SETS: tuple[str, ...] = (
    "brand_model",
    "weekday",
    "hour",
    "weekday_hour",
    "app",
    "app_label",
    "app_category",
    "category_word",
)
"""The seed's feature sets, in the order it lists them."""

SMALL_FEATURE_SETS: tuple[str, ...] = FEATURE_SETS[:4]
"""The four sets singleVMsmall.py computes (all that fitted in 16 GB in the seed)."""

FRACTION_SETS: tuple[str, ...] = (
    "weekday",
    "hour",
    "weekday_hour",
    "app",
    "app_label",
    "app_category",
)
"""Sets whose entries are fractions (rows sum to 1 for devices with such records)."""

_COLUMN_ORDER = (
    "brand_model",
    "app",
    "app_label",
    "app_category",
    "weekday",
    "hour",
    "weekday_hour",
    "category_word",
)
_NEEDS: dict[str, tuple[str, ...]] = {
    "brand_model": ("phone_brand_device_model",),
    "weekday": ("events",),
    "hour": ("events",),
    "weekday_hour": ("events",),
    "app": ("events", "app_events"),
    "app_label": ("events", "app_events", "app_labels"),
    "app_category": ("events", "app_events", "app_labels", "label_categories"),
    "category_word": ("events", "app_events", "app_labels", "label_categories"),
}
_TABLE_ORDER = (
    "gender_age_train",
    "gender_age_test",
    "phone_brand_device_model",
    "events",
    "app_events",
    "app_labels",
    "label_categories",
)
_CLEAN = re.compile(r"[()_/]")

IntArray = npt.NDArray[np.int64]
Block = tuple[sp.csr_matrix, list[str]]


def _check_sets(feature_sets: Iterable[str]) -> list[str]:
    if isinstance(feature_sets, str):
        raise TypeError(
            f"feature_sets must be a sequence of names, got the string {feature_sets!r}"
        )
    names = list(feature_sets)
    unknown = [s for s in names if s not in FEATURE_SETS]
    if unknown:
        bad = ", ".join(repr(s) for s in unknown)
        raise ValueError(f"unknown feature set(s) {bad}; valid: {', '.join(FEATURE_SETS)}")
    if not names:
        raise ValueError(f"no feature sets given; choose from {', '.join(FEATURE_SETS)}")
    return names


def required_tables(feature_sets: Iterable[str]) -> tuple[str, ...]:
    """The tables :func:`build_features` reads for ``feature_sets`` (for ``load_raw(tables=)``)."""
    needed = {"gender_age_train"}
    for name in _check_sets(feature_sets):
        needed.update(_NEEDS[name])
    return tuple(t for t in _TABLE_ORDER if t in needed)


def build_features(
    raw: Mapping[str, Any], feature_sets: Sequence[str], *, fractions: bool = True
) -> tuple[sp.csr_matrix, npt.NDArray[np.int64], list[str]]:
    """Build ``(X, y, feature_names)`` for the training devices.

    ``raw`` maps table names to frames as :func:`load_raw` returns them (only
    :func:`required_tables` are needed); app_events may be an :class:`AppEventChunks` (or any
    iterable of frames with ``event_id`` and ``app_id``) so the biggest table is streamed. ``X`` is a float64 CSR matrix with one row per
    gender_age_train row (file order) and columns in the sample's order (see the module doc);
    ``y`` holds ``group`` codes 0..k-1 in sorted class order (0 = "F23-" when all twelve occur);
    ``feature_names`` names each column, e.g. ``"brand=小米"``, ``"hour=21"``,
    ``"weekday_hour=0_10"``, ``"app=-8942..."``, ``"category_word=games"``. Duplicated names in
    ``feature_sets`` count once. Raises :class:`ValueError` for unknown feature sets, missing
    tables or repeated ids where the sample code needs unique ones.
    """
    wanted = set(_check_sets(feature_sets))
    missing = [t for t in required_tables(wanted) if t not in raw]
    if missing:
        raise ValueError(f"missing table(s) {missing} needed by feature sets {sorted(wanted)}")
    train = raw["gender_age_train"]
    devices = pd.Index(train["device_id"])
    if not devices.is_unique:
        raise ValueError("gender_age_train has repeated device_id values; each must be unique")
    if train["group"].isna().any():
        raise ValueError("gender_age_train has rows without a group")
    _, y = np.unique(train["group"].to_numpy(dtype=str), return_inverse=True)  # LabelEncoder

    builder = _Builder(raw, devices, fractions=fractions)
    blocks: list[Block] = []
    for name in _COLUMN_ORDER:
        if name in wanted:
            blocks.extend(getattr(builder, name)())
    X = sp.hstack([b[0] for b in blocks], format="csr", dtype=np.float64)
    names = [n for b in blocks for n in b[1]]
    return sp.csr_matrix(X), y.astype(np.int64), names


def _encode(values: Any) -> tuple[IntArray, npt.NDArray[Any]]:
    """Codes and sorted classes, like ``LabelEncoder`` (missing values last, as a class)."""
    codes, classes = pd.factorize(pd.Series(values), sort=True, use_na_sentinel=False)
    return codes.astype(np.int64), np.asarray(classes)


def _matrix(rows: npt.NDArray[Any], cols: IntArray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Sparse counts: entry (r, c) = number of pairs (r, c)."""
    counts = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=shape, dtype=np.float64)
    counts.sum_duplicates()
    return counts


def _finish(counts: sp.csr_matrix, *, fractions: bool) -> sp.csr_matrix:
    """Counts -> fractions of the row total, or the sample's indicator 1."""
    out = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    if fractions:
        totals = np.asarray(out.sum(axis=1)).ravel()
        out.data /= np.repeat(totals, np.diff(out.indptr))
    else:
        out.data[:] = 1.0
    return out


def _clean_category(values: pd.Series) -> pd.Series:
    """load_data.py's cleaning: ``str(x).lower()``, ``game-`` -> ``game ``, ``[()_/]`` -> space."""
    text = values.astype(object).where(values.notna(), "nan").astype(str)
    return (
        text.str.lower()
        .str.replace("game-", "game ", regex=False)
        .str.replace(_CLEAN, " ", regex=True)
    )


class _Builder:
    """Computes each block once, sharing the joins between blocks."""

    def __init__(self, raw: Mapping[str, Any], devices: pd.Index, *, fractions: bool) -> None:
        self.raw = raw
        self.devices = devices
        self.n = len(devices)
        self.fractions = fractions
        self._cache: dict[str, Any] = {}

    def _once(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # -- brand and model ---------------------------------------------------------------------

    def brand_model(self) -> list[Block]:
        table = self.raw["phone_brand_device_model"].drop_duplicates("device_id", keep="first")
        position = pd.Index(table["device_id"]).get_indexer(self.devices)
        rows = np.flatnonzero(position >= 0)  # a device without a phone row gets a zero row
        blocks: list[Block] = []
        for column, prefix in (("phone_brand", "brand"), ("device_model", "model")):
            codes, classes = _encode(table[column].to_numpy(dtype=object))
            matrix = _matrix(rows, codes[position[rows]], (self.n, classes.size))
            matrix.data[:] = 1.0
            blocks.append((matrix, [f"{prefix}={c}" for c in classes]))
        return blocks

    # -- events by time ----------------------------------------------------------------------

    def _events(self) -> tuple[IntArray, IntArray, IntArray]:
        """(training row or -1, weekday, hour) of every event."""

        def compute() -> tuple[IntArray, IntArray, IntArray]:
            events = self.raw["events"]
            rows = self.devices.get_indexer(pd.Index(events["device_id"])).astype(np.int64)
            stamps = pd.DatetimeIndex(pd.to_datetime(events["timestamp"]))
            weekday = np.asarray(stamps.day_of_week, dtype=np.int64)
            hour = np.asarray(stamps.hour, dtype=np.int64)
            return rows, weekday, hour

        result: tuple[IntArray, IntArray, IntArray] = self._once("events", compute)
        return result

    def _time_block(self, cols: IntArray, width: int, names: list[str]) -> list[Block]:
        rows, _, _ = self._events()
        keep = rows >= 0
        counts = _matrix(rows[keep], cols[keep], (self.n, width))
        return [(_finish(counts, fractions=self.fractions), names)]

    def weekday(self) -> list[Block]:
        _, weekday, _ = self._events()
        return self._time_block(weekday, 7, [f"weekday={d}" for d in range(7)])

    def hour(self) -> list[Block]:
        _, _, hour = self._events()
        return self._time_block(hour, 24, [f"hour={h}" for h in range(24)])

    def weekday_hour(self) -> list[Block]:
        _, weekday, hour = self._events()
        slot = weekday * 24 + hour
        label = np.array([f"{d}_{h}" for d in range(7) for h in range(24)], dtype=object)
        seen = np.zeros(7 * 24, dtype=bool)
        seen[np.unique(slot)] = True
        # LabelEncoder over the observed strings, then the unobserved (all-zero) slots.
        order = np.concatenate(
            [
                np.flatnonzero(seen)[np.argsort(label[seen].astype(str), kind="stable")],
                np.flatnonzero(~seen)[np.argsort(label[~seen].astype(str), kind="stable")],
            ]
        )
        column = np.empty(7 * 24, dtype=np.int64)
        column[order] = np.arange(7 * 24)
        return self._time_block(column[slot], 7 * 24, [f"weekday_hour={s}" for s in label[order]])

    # -- apps, labels, categories, words -----------------------------------------------------

    def _apps(self) -> tuple[sp.csr_matrix, npt.NDArray[Any], npt.NDArray[np.bool_]]:
        """(counts of (event, app) records per training device and app, app ids, matched).

        ``matched[a]``: app ``a`` has a record whose event is in events.csv (the sample's
        groupby by device ignores the others when listing category words).
        """

        def compute() -> tuple[sp.csr_matrix, npt.NDArray[Any], npt.NDArray[np.bool_]]:
            events = self.raw["events"]
            event_index = pd.Index(events["event_id"])
            if not event_index.is_unique:
                raise ValueError("events has repeated event_id values; each must be unique")
            app_events = self.raw["app_events"]
            # One pass over the (possibly chunked) table, keeping only the training devices'
            # records: the whole app_events table is never in memory at once.
            chunks = [app_events] if isinstance(app_events, pd.DataFrame) else app_events
            event_rows, _, _ = self._events()
            kept_rows: list[npt.NDArray[np.int32]] = []
            kept_apps: list[IntArray] = []
            all_apps: list[IntArray] = []
            matched_apps: list[IntArray] = []
            for chunk in chunks:
                app = chunk["app_id"].to_numpy(dtype=np.int64)
                position = event_index.get_indexer(chunk["event_id"])
                rows = np.where(position >= 0, event_rows[position], -1)
                keep = rows >= 0
                kept_rows.append(rows[keep].astype(np.int32))
                kept_apps.append(app[keep])
                all_apps.append(np.unique(app))
                matched_apps.append(np.unique(app[position >= 0]))
            # LabelEncoder's classes: every app id of the table, sorted.
            app_ids = np.unique(np.concatenate(all_apps)) if all_apps else np.empty(0, np.int64)
            codes: IntArray = (
                np.searchsorted(app_ids, np.concatenate(kept_apps)).astype(np.int64)
                if kept_apps
                else np.empty(0, np.int64)
            )
            rows_all = np.concatenate(kept_rows) if kept_rows else np.empty(0, np.int32)
            counts = _matrix(rows_all, codes, (self.n, app_ids.size))
            matched = np.zeros(app_ids.size, dtype=bool)
            if matched_apps:
                matched[np.searchsorted(app_ids, np.unique(np.concatenate(matched_apps)))] = True
            return counts, app_ids, matched

        result: tuple[sp.csr_matrix, npt.NDArray[Any], npt.NDArray[np.bool_]] = self._once(
            "apps", compute
        )
        return result

    def _app_label_incidence(self) -> tuple[sp.csr_matrix, npt.NDArray[Any]]:
        """(apps x labels 0/1 matrix over unique (app, label) pairs, label ids)."""

        def compute() -> tuple[sp.csr_matrix, npt.NDArray[Any]]:
            app_labels = self.raw["app_labels"]
            _, app_ids, _ = self._apps()
            label_codes, label_ids = _encode(app_labels["label_id"].to_numpy())
            app_pos = pd.Index(app_ids).get_indexer(app_labels["app_id"])
            keep = app_pos >= 0
            incidence = _matrix(app_pos[keep], label_codes[keep], (app_ids.size, label_ids.size))
            incidence.data[:] = 1.0  # a repeated (app, label) row counts once
            return incidence, label_ids

        result: tuple[sp.csr_matrix, npt.NDArray[Any]] = self._once("app_labels", compute)
        return result

    def _label_categories(self) -> tuple[sp.csr_matrix, npt.NDArray[Any]]:
        """(labels x categories 0/1 matrix, category texts) for the labels of app_events' apps."""

        def compute() -> tuple[sp.csr_matrix, npt.NDArray[Any]]:
            incidence, label_ids = self._app_label_incidence()
            used = np.asarray(incidence.sum(axis=0)).ravel() > 0
            table = self.raw["label_categories"]
            text = _clean_category(table["category"])
            label_pos = pd.Index(label_ids).get_indexer(table["label_id"])
            pairs = pd.DataFrame({"label": label_pos, "category": text.to_numpy(dtype=object)})
            pairs = pairs[pairs["label"] >= 0].drop_duplicates()
            pairs = pairs[used[pairs["label"].to_numpy()]]
            # A label without a category row meets NaN in the sample's left join.
            orphans = np.setdiff1d(np.flatnonzero(used), pairs["label"].to_numpy())
            labels = np.concatenate([pairs["label"].to_numpy(dtype=np.int64), orphans])
            categories = np.concatenate(
                [pairs["category"].to_numpy(dtype=object), np.full(orphans.size, np.nan, object)]
            )
            codes, classes = _encode(categories)
            matrix = _matrix(labels, codes, (label_ids.size, classes.size))
            return matrix, classes

        result: tuple[sp.csr_matrix, npt.NDArray[Any]] = self._once("categories", compute)
        return result

    def app(self) -> list[Block]:
        counts, app_ids, _ = self._apps()
        return [(_finish(counts, fractions=self.fractions), [f"app={a}" for a in app_ids])]

    def app_label(self) -> list[Block]:
        counts, _, _ = self._apps()
        incidence, label_ids = self._app_label_incidence()
        label_counts = sp.csr_matrix(counts @ incidence)
        names = [f"app_label={label}" for label in label_ids]
        return [(_finish(label_counts, fractions=self.fractions), names)]

    def app_category(self) -> list[Block]:
        counts, _, _ = self._apps()
        incidence, _ = self._app_label_incidence()
        categories, classes = self._label_categories()
        category_counts = sp.csr_matrix(counts @ incidence @ categories)
        names = [f"app_category={c}" for c in classes]
        return [(_finish(category_counts, fractions=self.fractions), names)]

    def category_word(self) -> list[Block]:
        counts, _, matched = self._apps()
        incidence, _ = self._app_label_incidence()
        categories, classes = self._label_categories()
        # Words of the categories reachable from apps with at least one matched event.
        reachable = (
            np.asarray(
                (sp.diags(matched.astype(np.float64)) @ incidence @ categories).sum(axis=0)
            ).ravel()
            > 0
        )
        words_of = [
            sorted({w for w in c.split(" ") if w}) if isinstance(c, str) else [] for c in classes
        ]  # one entry per category class: a vocabulary-sized loop
        vocabulary = sorted({w for i, ws in enumerate(words_of) if reachable[i] for w in ws})
        word_index = {w: i for i, w in enumerate(vocabulary)}
        cat_rows = [i for i, ws in enumerate(words_of) for w in ws if w in word_index]
        word_cols = [word_index[w] for ws in words_of for w in ws if w in word_index]
        category_words = _matrix(
            np.asarray(cat_rows, dtype=np.int64),
            np.asarray(word_cols, dtype=np.int64),
            (classes.size, len(vocabulary)),
        )
        word_counts = sp.csr_matrix(counts @ incidence @ categories @ category_words)
        names = [f"category_word={w}" for w in vocabulary]
        return [(_finish(word_counts, fractions=False), names)]
