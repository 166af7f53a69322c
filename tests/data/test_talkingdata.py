"""TalkingData generator, reader and feature sets.

The parity tests compare hpt's sparse matrices with a straightforward dense reference written
here from the scenario's sample code (feature_engineering.py / load_data.py / singleVM.py):
pandas merges and groupbys, Python sorting for LabelEncoder's class order.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from hpt.data import talkingdata as td
from hpt.data.talkingdata import _files, _generate

N = 3000  # 1,200 training devices; generation and features take ~0.5 s


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return td.generate(tmp_path_factory.mktemp("plain") / "td", N, seed=7)


@pytest.fixture(scope="module")
def raw(plain: Path) -> dict[str, pd.DataFrame]:
    return td.load_raw(plain)


def _bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


# -- files --------------------------------------------------------------------------------------


def test_files_have_the_real_names_and_columns(plain: Path) -> None:
    files = td.find_files(plain)
    assert tuple(files) == td.FILES
    for name, path in files.items():
        assert path.name == name
        header = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert tuple(header.split(",")) == td.COLUMNS[name.removesuffix(".csv")]
    assert sorted(p.name for p in plain.iterdir()) == sorted([*td.FILES, td.MARKER])


def test_generation_is_deterministic_and_seeded(tmp_path: Path) -> None:
    a = td.generate(tmp_path / "a", 400, seed=1, compress=True)
    b = td.generate(tmp_path / "b", 400, seed=1, compress=True)
    c = td.generate(tmp_path / "c", 400, seed=2, compress=True)
    assert _bytes(a) == _bytes(b)  # zip members carry a fixed timestamp
    assert _bytes(a)["events.csv.zip"] != _bytes(c)["events.csv.zip"]
    p1 = td.generate(tmp_path / "p1", 400, seed=1)
    p2 = td.generate(tmp_path / "p2", 400, seed=1)
    assert _bytes(p1) == _bytes(p2)


def test_generation_is_deterministic_across_processes(tmp_path: Path) -> None:
    # The shared "world" (brands, labels, effects) is rebuilt in each process from a constant.
    code = (
        "import sys; from hpt.data import talkingdata as td; td.generate(sys.argv[1], 300, seed=4)"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "other")], check=True)
    assert _bytes(td.generate(tmp_path / "here", 300, seed=4)) == _bytes(tmp_path / "other")


def test_zip_and_plain_hold_the_same_tables(tmp_path: Path) -> None:
    plain = td.generate(tmp_path / "plain", 400, seed=5)
    zipped = td.generate(tmp_path / "zipped", 400, seed=5, compress=True)
    assert all(p.suffix == ".zip" for p in td.find_files(zipped).values())
    with zipfile.ZipFile(zipped / "events.csv.zip") as archive:
        assert archive.namelist() == ["events.csv"]  # as Kaggle ships them
    a, b = td.load_raw(plain), td.load_raw(zipped)
    assert list(a) == list(td.TABLES)
    for table in td.TABLES:
        pd.testing.assert_frame_equal(a[table], b[table])


def test_loaded_tables_equal_the_generated_ones(raw: dict[str, pd.DataFrame]) -> None:
    made = _generate._tables(N, 7)
    for table in td.TABLES:
        expected = made[table]
        if table == "events":
            expected = expected.assign(
                timestamp=expected["timestamp"].astype(raw[table]["timestamp"].dtype)
            )
        pd.testing.assert_frame_equal(raw[table], expected, check_dtype=False)


def test_load_raw_reads_only_the_tables_asked_for(plain: Path) -> None:
    tables = td.required_tables(td.SMALL_FEATURE_SETS)
    assert tables == ("gender_age_train", "phone_brand_device_model", "events")
    assert list(td.load_raw(plain, tables)) == list(tables)
    with pytest.raises(ValueError, match=r"unknown table.*'bogus'.*valid: gender_age_train"):
        td.load_raw(plain, ["bogus"])


def test_find_files_names_every_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        td.find_files(tmp_path / "nowhere")
    directory = td.generate(tmp_path / "td", 200, seed=0)
    (directory / "events.csv").unlink()
    (directory / "app_labels.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"events\.csv, app_labels\.csv"):
        td.find_files(directory)


def test_load_raw_reports_a_missing_column(tmp_path: Path) -> None:
    directory = td.generate(tmp_path / "td", 200, seed=0)
    (directory / "app_labels.csv").write_text("app_id,label\n1,2\n")
    with pytest.raises(ValueError, match=r"app_labels\.csv: missing column\(s\) \['label_id'\]"):
        td.load_raw(directory)


def test_an_existing_directory_is_kept_replaced_or_refused(tmp_path: Path) -> None:
    out = tmp_path / "td"
    out.mkdir()  # empty: replaced
    td.generate(out, 200, seed=0)
    before = _bytes(out)
    td.generate(out, 200, seed=0)  # the same sample already there: kept as is
    assert _bytes(out) == before
    with pytest.raises(FileExistsError, match="overwrite=True"):
        td.generate(out, 200, seed=1)
    td.generate(out, 200, seed=1, overwrite=True)
    assert _bytes(out) != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["td"]  # no temporary left behind


def test_a_crash_leaves_no_half_written_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str] = []
    real_write = _files._write_csv

    def failing(frame: pd.DataFrame, path: Path, *, compress: bool) -> None:
        if len(written) == 3:
            raise OSError("disk full")
        written.append(path.name)
        real_write(frame, path, compress=compress)

    monkeypatch.setattr(_files, "_write_csv", failing)
    with pytest.raises(OSError, match="disk full"):
        td.generate(tmp_path / "td", 200, seed=0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_devices": 1}, "n_devices must be >= 2"),
        ({"n_devices": 100, "seed": -1}, "seed must be >= 0"),
        ({"n_devices": 100, "train_fraction": 1.0}, "train_fraction must be in"),
        ({"n_devices": 100, "events_per_device": 0.0}, "events_per_device must be > 0"),
    ],
)
def test_generate_validates_its_arguments(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        td.generate(tmp_path / "td", **kwargs)


# -- realism ------------------------------------------------------------------------------------


def test_groups_are_the_twelve_skewed_classes(raw: dict[str, pd.DataFrame]) -> None:
    train = raw["gender_age_train"]
    assert len(train) == 0.4 * N and len(raw["gender_age_test"]) == 0.6 * N
    shares = train["group"].value_counts(normalize=True)
    assert sorted(shares.index) == list(td.GROUPS)
    assert shares.max() > 0.11 and shares.min() < 0.05  # M23-26 ~13%, F27-28 ~4%
    assert (train["gender"] == train["group"].str[0]).all()
    for group, ages in train.groupby("group")["age"]:
        digits = str(group)[1:]
        if digits.endswith("-"):
            assert ages.max() <= int(digits[:-1])
        elif digits.endswith("+"):
            assert ages.min() >= int(digits[:-1])
        else:
            low, high = map(int, digits.split("-"))
            assert low <= ages.min() and ages.max() <= high


def test_phone_file_has_every_device_and_some_twice(raw: dict[str, pd.DataFrame]) -> None:
    phones = raw["phone_brand_device_model"]
    devices = set(raw["gender_age_train"]["device_id"]) | set(raw["gender_age_test"]["device_id"])
    assert set(phones["device_id"]) == devices
    repeated = phones[phones["device_id"].duplicated(keep=False)]
    assert 0 < repeated["device_id"].nunique() < 0.01 * N
    brand_share = phones["phone_brand"].value_counts(normalize=True)
    assert brand_share.iloc[0] > 0.15 and (brand_share < 0.005).sum() > 10  # Zipf-like
    assert phones["phone_brand"].str.contains(r"[^\x00-\x7f]").any()  # Chinese names, as real
    # Some model names occur under several brands (the sample encodes the model alone).
    assert (phones.groupby("device_model")["phone_brand"].nunique() > 1).any()


def test_events_are_sparse_and_spread_over_the_week(raw: dict[str, pd.DataFrame]) -> None:
    events = raw["events"]
    n_devices = N
    assert 2.0 < len(events) / n_devices < 3.0
    with_events = events["device_id"].nunique() / n_devices
    assert 0.25 < with_events < 0.40  # about 2/3 of devices have none
    devices = set(raw["gender_age_train"]["device_id"]) | set(raw["gender_age_test"]["device_id"])
    assert set(events["device_id"]) <= devices
    assert events["event_id"].is_unique
    stamps = events["timestamp"]
    assert stamps.dt.day_of_week.nunique() == 7
    hours = stamps.dt.hour.value_counts(normalize=True)
    assert len(hours) >= 20 and hours.get(3, 0.0) < hours[21] / 5  # quiet nights
    assert ((events["longitude"] == 0) & (events["latitude"] == 0)).mean() > 0.15


def test_app_tables_join_up(raw: dict[str, pd.DataFrame]) -> None:
    app_events, app_labels = raw["app_events"], raw["app_labels"]
    assert set(app_events["event_id"]) <= set(raw["events"]["event_id"])
    listed = app_events["event_id"].nunique() / len(raw["events"])
    assert 0.35 < listed < 0.55
    assert 15 < len(app_events) / app_events["event_id"].nunique() < 25
    assert set(app_events["is_installed"]) == {1} and set(app_events["is_active"]) == {0, 1}
    assert set(app_events["app_id"]) <= set(app_labels["app_id"])
    assert set(app_labels["label_id"]) <= set(raw["label_categories"]["label_id"])
    assert app_labels.duplicated().any()  # as in the real file
    labels_per_app = app_labels.drop_duplicates().groupby("app_id").size()
    assert labels_per_app.max() >= 4 and labels_per_app.mean() > 1.5
    # Zipf-like app popularity: the top app is on many devices, most apps on few.
    device_apps = app_events.merge(raw["events"][["event_id", "device_id"]], on="event_id")
    reach = device_apps.drop_duplicates(["device_id", "app_id"]).groupby("app_id").size()
    owners = device_apps["device_id"].nunique()
    assert reach.max() > 0.3 * owners and reach.median() < 0.02 * owners


def test_label_categories_need_cleaning(raw: dict[str, pd.DataFrame]) -> None:
    categories = raw["label_categories"]["category"]
    assert categories.str.contains(" ").mean() > 0.5
    for pattern in ("game-", r"\(", "/", "_"):
        assert categories.str.contains(pattern).any()
    assert categories.duplicated().any()  # several label ids share a text


# -- features -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sets", [td.SMALL_FEATURE_SETS, td.FEATURE_SETS])
def test_feature_matrix_shape(raw: dict[str, pd.DataFrame], sets: tuple[str, ...]) -> None:
    X, y, names = td.build_features(raw, sets)
    assert isinstance(X, sp.csr_matrix) and X.dtype == np.float64
    assert X.shape == (0.4 * N, len(names)) and len(set(names)) == len(names)
    assert y.dtype == np.int64 and set(y) == set(range(12))
    groups = raw["gender_age_train"]["group"].to_numpy(dtype=str)
    assert [td.GROUPS[k] for k in y] == list(groups)
    phones = raw["phone_brand_device_model"].drop_duplicates("device_id")  # first row wins
    widths = {
        "brand": phones["phone_brand"].nunique(),
        "model": phones["device_model"].nunique(),
        "weekday": 7,
        "hour": 24,
        "weekday_hour": 168,
    }
    prefixes = pd.Series([n.split("=", 1)[0] for n in names]).value_counts()
    for prefix, width in widths.items():
        assert prefixes[prefix] == width


def test_columns_follow_single_vm_hstack_order(raw: dict[str, pd.DataFrame]) -> None:
    _, _, names = td.build_features(raw, list(reversed(td.FEATURE_SETS)))
    blocks = list(dict.fromkeys(n.split("=", 1)[0] for n in names))
    assert blocks == [
        "brand",
        "model",
        "app",
        "app_label",
        "app_category",
        "weekday",
        "hour",
        "weekday_hour",
        "category_word",
    ]


def test_fraction_rows_sum_to_one(raw: dict[str, pd.DataFrame]) -> None:
    train_ids = raw["gender_age_train"]["device_id"]
    with_events = train_ids.isin(raw["events"]["device_id"]).to_numpy()
    listed = raw["events"][raw["events"]["event_id"].isin(raw["app_events"]["event_id"])]
    with_apps = train_ids.isin(listed["device_id"]).to_numpy()
    for name in td.FRACTION_SETS:
        X, _, _ = td.build_features(raw, [name])
        sums = np.asarray(X.sum(axis=1)).ravel()
        has = with_apps if name.startswith("app") else with_events
        assert 0.15 < has.mean() < 0.45
        np.testing.assert_allclose(sums[has], 1.0, rtol=1e-12)
        assert (sums[~has] == 0).all()
        indicator, _, _ = td.build_features(raw, [name], fractions=False)
        assert (indicator.data == 1).all() and (indicator.indptr == X.indptr).all()


def test_unknown_feature_set_is_named(raw: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ValueError, match=r"'brand'.*valid: brand_model, weekday, hour"):
        td.build_features(raw, ["brand", "hour"])
    with pytest.raises(TypeError, match="sequence of names"):
        td.build_features(raw, "hour")
    with pytest.raises(ValueError, match=r"missing table\(s\) \['app_events'\]"):
        td.build_features({k: v for k, v in raw.items() if k != "app_events"}, ["app"])


# -- parity with the sample code's semantics ----------------------------------------------------


def _reference(raw: dict[str, pd.DataFrame], fractions: bool) -> tuple[np.ndarray, list[str]]:
    """Dense features built the sample's way (merges on device_id, LabelEncoder order)."""
    train = raw["gender_age_train"]
    row_of = {d: i for i, d in enumerate(train["device_id"])}
    n = len(train)
    blocks: list[tuple[np.ndarray, list[str]]] = []

    def block(table: pd.DataFrame, key: str, classes: list[Any], prefix: str, frac: bool) -> None:
        matrix = np.zeros((n, len(classes)))
        col = {c: j for j, c in enumerate(classes)}
        counts = table.groupby(["device_id", key]).size()
        totals = table.groupby("device_id").size()
        for (device, value), count in counts.items():
            if device in row_of:
                matrix[row_of[device], col[value]] = count / totals[device] if frac else 1.0
        blocks.append((matrix, [f"{prefix}={c}" for c in classes]))

    phones = raw["phone_brand_device_model"].drop_duplicates("device_id", keep="first")
    for column, prefix in (("phone_brand", "brand"), ("device_model", "model")):
        block(phones, column, sorted(set(phones[column])), prefix, False)

    events = raw["events"].copy()
    events["weekday"] = [t.weekday() for t in events["timestamp"]]
    events["hour"] = [t.hour for t in events["timestamp"]]
    events["weekday_hour"] = [
        f"{w}_{h}" for w, h in zip(events["weekday"], events["hour"], strict=True)
    ]

    records = raw["app_events"].merge(events[["event_id", "device_id"]], on="event_id")
    block(records, "app_id", sorted(set(raw["app_events"]["app_id"])), "app", fractions)
    app_labels = raw["app_labels"].drop_duplicates()
    labelled = records.merge(app_labels, on="app_id")
    block(labelled, "label_id", sorted(set(raw["app_labels"]["label_id"])), "app_label", fractions)
    categories = raw["label_categories"].copy()
    categories["category"] = [
        re.sub("[()_/]", " ", str(c).lower().replace("game-", "game "))
        for c in categories["category"]
    ]
    categorised = labelled.merge(categories, on="label_id", how="left")
    used = raw["app_events"][["app_id"]].drop_duplicates().merge(app_labels, on="app_id")
    vocabulary = sorted(set(used.merge(categories, on="label_id")["category"]))
    block(categorised, "category", vocabulary, "app_category", fractions)

    block(events, "weekday", list(range(7)), "weekday", fractions)
    block(events, "hour", list(range(24)), "hour", fractions)
    seen = sorted(set(events["weekday_hour"]))
    unseen = sorted({f"{w}_{h}" for w in range(7) for h in range(24)} - set(seen))
    block(events, "weekday_hour", seen + unseen, "weekday_hour", fractions)

    words = categorised[["device_id", "category"]].drop_duplicates().copy()
    words["word"] = [c.split(" ") for c in words["category"]]
    words = words.explode("word")
    words = words[words["word"] != ""].drop_duplicates(["device_id", "word"])
    block(words, "word", sorted(set(words["word"])), "category_word", False)

    return np.hstack([b[0] for b in blocks]), [name for b in blocks for name in b[1]]


@pytest.mark.parametrize("fractions", [True, False])
@pytest.mark.parametrize("n_devices", [300, N])
def test_features_equal_a_dense_reference_of_the_sample_code(
    tmp_path: Path, n_devices: int, fractions: bool
) -> None:
    raw = td.load_raw(td.generate(tmp_path / "td", n_devices, seed=11))
    if n_devices == 300:  # few events: some weekday x hour slots never occur
        assert raw["events"]["timestamp"].dt.strftime("%w%H").nunique() < 168
    X, y, names = td.build_features(raw, td.FEATURE_SETS, fractions=fractions)
    expected, expected_names = _reference(raw, fractions)
    assert names == expected_names
    np.testing.assert_allclose(X.toarray(), expected, rtol=1e-12, atol=0)
    classes = sorted(set(raw["gender_age_train"]["group"]))
    assert list(y) == [classes.index(g) for g in raw["gender_age_train"]["group"]]


def test_subsets_are_column_slices_of_the_full_matrix(raw: dict[str, pd.DataFrame]) -> None:
    full, _, names = td.build_features(raw, td.FEATURE_SETS)
    small, _, small_names = td.build_features(raw, td.SMALL_FEATURE_SETS)
    columns = [names.index(n) for n in small_names]
    assert (full[:, columns] != small).nnz == 0
