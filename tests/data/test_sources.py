"""Sources apart from readers: chunked reading, the feature cache, the scaled generator, checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from hpt.config import as_config
from hpt.data import check_dataset, load_dataset
from hpt.data import talkingdata as td
from hpt.data._shared import _mapped_file
from hpt.errors import ConfigError


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return td.generate(tmp_path_factory.mktemp("src") / "td", 1500, seed=3, compress=True)


def test_chunked_app_events_give_the_same_features(sample: Path) -> None:
    raw = td.load_raw(sample)
    whole = td.build_features(raw, td.FEATURE_SETS)
    streamed = td.build_features(
        {**raw, "app_events": td.AppEventChunks(sample, chunk_rows=997)}, td.FEATURE_SETS
    )
    assert (whole[0] != streamed[0]).nnz == 0 and whole[0].shape == streamed[0].shape
    assert np.array_equal(whole[1], streamed[1]) and whole[2] == streamed[2]


def _cfg(path: Path, sets: list[str]) -> tuple[object, object]:
    cfg = as_config(
        {"dataset": {"kind": "talkingdata", "path": str(path)}, "features": {"sets": sets}}
    )
    return cfg.dataset, cfg.features


def test_feature_cache_is_reused_and_keyed_by_data_and_sets(sample: Path, tmp_path: Path) -> None:
    first = load_dataset(*_cfg(sample, ["brand_model", "app"]))
    raw = td.load_raw(sample)
    X, y, names = td.build_features(raw, ["brand_model", "app"])
    assert (first.X != X).nnz == 0 and np.array_equal(first.y, y) and first.feature_names == names
    entries = sorted((Path(os.environ["HPT_DATA_DIR"]) / "features").iterdir())
    again = load_dataset(*_cfg(sample, ["brand_model", "app"]))
    assert sorted((Path(os.environ["HPT_DATA_DIR"]) / "features").iterdir()) == entries
    assert again.fingerprint == first.fingerprint
    assert _mapped_file(again.X.data) is not None  # mapped from the cache, not read
    other = load_dataset(*_cfg(sample, ["brand_model"]))
    assert other.shape[1] < first.shape[1]
    # Changed files are other data: a new entry, not the stale one.
    copy = tmp_path / "copy"
    copy.mkdir()
    for file in sample.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    train = td.load_raw(copy, tables=["gender_age_train"])["gender_age_train"]
    train.iloc[::-1].to_csv(copy / "gender_age_train.csv.zip", index=False)
    changed = load_dataset(*_cfg(copy, ["brand_model", "app"]))
    assert changed.fingerprint != first.fingerprint
    assert np.array_equal(changed.y, first.y[::-1])


def test_generate_scale_has_the_real_proportions(tmp_path: Path) -> None:
    path = td.generate_scale(tmp_path / "td", 0.01, seed=0)
    rows = json.loads((path / td.MARKER).read_text())["rows"]
    for name, real in td.REAL_ROWS.items():
        if name == "label_categories.csv":
            assert rows[name] == 930  # the label vocabulary does not scale
        elif name != "gender_age_test.csv":  # the rest of the rounded device count
            assert rows[name] == round(real * 0.01), name
    assert len(td.load_raw(path, tables=["app_events"])["app_events"]) == rows["app_events.csv"]


@pytest.mark.parametrize(
    ("dataset", "key", "match"),
    [
        ({"kind": "file", "source": "ftp"}, "dataset.source", "unknown source 'ftp'"),
        ({"kind": "sklearn", "name": "iris", "source": "azure_blob"}, "dataset.source", "bundled"),
        (
            {"kind": "file", "source": "azure_blob", "blobs": ["t.csv"], "target": "y"},
            "dataset.container",
            "missing",
        ),
        (
            {"kind": "file", "source": "azure_blob", "container": "c", "target": "y"},
            "dataset.blobs",
            "exactly one of",
        ),
        (
            {"kind": "talkingdata", "source": "azure_blob", "container": "c", "prefix": "td/"},
            "dataset.connection_string",
            "exactly one credential",
        ),
        ({"kind": "talkingdata", "scale": 0}, "dataset.scale", "must be in"),
        (
            {"kind": "file", "path": "x.csv", "target": "y", "dtype": "int8"},
            "dataset.dtype",
            "unknown",
        ),
    ],
)
def test_checks_name_the_key_and_the_fix(dataset: dict[str, object], key: str, match: str) -> None:
    features = {"sets": ["hour"]} if dataset["kind"] == "talkingdata" else {"sets": None}
    cfg = as_config({"dataset": dataset, "features": features})
    with pytest.raises(ConfigError, match=match) as err:
        check_dataset(cfg.dataset, cfg.features)
    assert err.value.key == key
