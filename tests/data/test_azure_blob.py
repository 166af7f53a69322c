"""dataset.source=azure_blob against a real Azurite: upload, download, cache, errors, a sweep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import hpt
from hpt.config import as_config
from hpt.data import load_dataset, source_for
from hpt.data._blob import AzureBlobSource, blob_service, upload_files
from hpt.data._cli import main as data_main
from hpt.errors import ConfigError, HptError
from tests.data.conftest import ACCOUNT, KEY, Azurite, start_azurite, stop_azurite

_counter = iter(range(10_000))


def _container(azurite: Azurite) -> str:
    """A fresh container name per test (one Azurite serves the whole session)."""
    name = f"c{next(_counter)}-{datetime.now(UTC).strftime('%H%M%S%f')}"
    blob_service(connection_string=azurite.connection_string).create_container(name)
    return name


@pytest.fixture
def env(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> Azurite:
    monkeypatch.setenv("HPT_TEST_AZ_CONN", azurite.connection_string)
    monkeypatch.setenv("HPT_TEST_AZ_KEY", KEY)
    return azurite


def _table(path: Path, seed: int = 0, rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    frame["label"] = (frame["a"] > 0).astype(int)
    frame.to_csv(path, index=False)
    return frame


def _cfg(container: str, **dataset: Any) -> Any:
    base = {
        "kind": "file",
        "source": "azure_blob",
        "container": container,
        "blobs": ["table.csv"],
        "target": "label",
        "connection_string": "${oc.env:HPT_TEST_AZ_CONN}",
    }
    return as_config({"dataset": {**base, **dataset}, "features": {"sets": None}})


def _upload(azurite: Azurite, container: str, *files: Path, prefix: str = "") -> None:
    service = blob_service(connection_string=azurite.connection_string)
    upload_files(service, container, list(files), prefix=prefix)


def test_download_cache_hit_and_changed_blob(env: Azurite, tmp_path: Path) -> None:
    container = _container(env)
    frame = _table(tmp_path / "table.csv")
    _upload(env, container, tmp_path / "table.csv")
    cfg = _cfg(container)
    source = AzureBlobSource()
    calls: list[str] = []
    cache = tmp_path / "cache"

    first = source.fetch(cfg.dataset, cache, progress=lambda n, c, t: calls.append(n))
    assert first.read_bytes() == (tmp_path / "table.csv").read_bytes()
    assert calls  # downloaded
    stamp = first.stat().st_mtime_ns
    fingerprint = source.fingerprint(cfg.dataset, first)

    calls.clear()
    again = source.fetch(cfg.dataset, cache, progress=lambda n, c, t: calls.append(n))
    assert again == first and calls == [] and first.stat().st_mtime_ns == stamp  # cache hit
    assert source.fingerprint(cfg.dataset, again) == fingerprint

    _table(tmp_path / "table.csv", seed=1)  # the blob changes
    _upload(env, container, tmp_path / "table.csv")
    changed = source.fetch(cfg.dataset, cache, progress=lambda n, c, t: calls.append(n))
    assert calls and changed.read_bytes() == (tmp_path / "table.csv").read_bytes()
    assert source.fingerprint(cfg.dataset, changed) != fingerprint
    assert sorted(p.name for p in changed.parent.iterdir()) == [".hpt-blobs.json", "table.csv"]

    dataset = load_dataset(cfg.dataset, cfg.features)  # through the reader and the cache
    expected = pd.read_csv(tmp_path / "table.csv")
    np.testing.assert_array_equal(dataset.X, expected[["a", "b", "c"]].to_numpy())
    assert not np.array_equal(dataset.X, frame[["a", "b", "c"]].to_numpy())


def test_account_key_and_sas_token(
    env: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    container = _container(env)
    _table(tmp_path / "table.csv")
    _upload(env, container, tmp_path / "table.csv")
    by_key = _cfg(
        container,
        connection_string=None,
        account_name=ACCOUNT,
        account_key="${oc.env:HPT_TEST_AZ_KEY}",
        account_url=env.url,
    )
    path = source_for(by_key.dataset).fetch(by_key.dataset, tmp_path / "k")
    assert path is not None and path.read_bytes() == (tmp_path / "table.csv").read_bytes()
    sas = generate_container_sas(
        ACCOUNT,
        container,
        account_key=KEY,
        permission=ContainerSasPermissions(read=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    monkeypatch.setenv("HPT_TEST_AZ_SAS", sas)
    by_sas = _cfg(
        container,
        connection_string=None,
        sas_token="${oc.env:HPT_TEST_AZ_SAS}",
        account_url=env.url,
    )
    path = source_for(by_sas.dataset).fetch(by_sas.dataset, tmp_path / "s")
    assert path is not None and path.read_bytes() == (tmp_path / "table.csv").read_bytes()


def test_errors_are_one_line_each(
    env: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _container(env)
    _table(tmp_path / "table.csv")
    _upload(env, container, tmp_path / "table.csv")
    source = AzureBlobSource()

    monkeypatch.setenv("HPT_TEST_AZ_KEY", KEY[:-8] + "AAAAAAA=")  # a wrong key
    bad = _cfg(
        container,
        connection_string=None,
        account_name=ACCOUNT,
        account_key="${oc.env:HPT_TEST_AZ_KEY}",
        account_url=env.url,
    )
    with pytest.raises(ConfigError, match="refused the credentials") as err:
        source.fetch(bad.dataset, tmp_path)
    assert err.value.key == "dataset.account_key" and "\n" not in str(err.value)

    with pytest.raises(ConfigError, match="does not exist") as err:
        source.fetch(_cfg("no-such-container").dataset, tmp_path)
    assert err.value.key == "dataset.container"
    with pytest.raises(ConfigError, match="does not exist"):
        source.fetch(_cfg("no-such-container", blobs=None, prefix="x/").dataset, tmp_path)

    with pytest.raises(ConfigError, match=r"'missing\.csv' not found") as err:
        source.fetch(_cfg(container, blobs=["missing.csv"]).dataset, tmp_path)
    assert err.value.key == "dataset.blobs" and "\n" not in str(err.value)

    # Literal secrets would be saved with the run: refused before anything is fetched.
    with pytest.raises(ConfigError, match="plain value"):
        load_dataset(
            _cfg(container, connection_string=env.connection_string).dataset,
            _cfg(container).features,
        )


def test_interrupted_download_leaves_no_partial_file(env: Azurite, tmp_path: Path) -> None:
    container = _container(env)
    big = tmp_path / "table.csv"
    big.write_bytes(b"a,label\n" + b"1.0,0\n" * 2_000_000)  # 12 MB: several 4 MB chunks
    _upload(env, container, big)
    cache = tmp_path / "cache"
    source = AzureBlobSource()

    def interrupt(name: str, current: int, total: int | None) -> None:
        if current > 0:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the download

    with pytest.raises(KeyboardInterrupt):
        source.fetch(_cfg(container).dataset, cache, progress=interrupt)
    leftovers = [p.name for p in cache.rglob("*") if p.is_file() and p.suffix != ".json"]
    assert leftovers == []  # no table.csv, no .part file

    path = source.fetch(_cfg(container).dataset, cache)  # complete this time
    assert path.stat().st_size == big.stat().st_size


def test_interrupted_by_a_dead_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second, private Azurite is killed while a blob streams: HptError, no partial file."""
    (tmp_path / "azurite").mkdir()
    server = start_azurite(tmp_path / "azurite")
    try:
        monkeypatch.setenv("HPT_TEST_AZ_CONN", server.connection_string)
        container = _container(server)
        big = tmp_path / "table.csv"
        big.write_bytes(b"a,label\n" + b"1.0,0\n" * 2_000_000)
        _upload(server, container, big)

        def kill(name: str, current: int, total: int | None) -> None:
            if current > 0 and server.process.poll() is None:
                server.process.kill()
                server.process.wait()

        with pytest.raises(HptError, match=r"interrupted|cannot reach") as err:
            AzureBlobSource().fetch(_cfg(container).dataset, tmp_path / "cache", progress=kill)
        assert "\n" not in str(err.value)
        assert not [p for p in (tmp_path / "cache").rglob("table.csv*")]
        assert not [p for p in (tmp_path / "cache").rglob(".table.csv.part-*")]
    finally:
        stop_azurite(server)


def test_cli_upload_and_a_sweep_on_talkingdata_from_the_emulator(
    env: Azurite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    container = f"dataset-{next(_counter)}"
    assert (
        data_main(
            [
                "generate",
                "talkingdata",
                "--devices",
                "400",
                "--out",
                str(tmp_path / "td"),
                "--compress",
            ]
        )
        == 0
    )
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", env.connection_string)
    code = data_main(
        [
            "upload",
            str(tmp_path / "td"),
            "--container",
            container,
            "--prefix",
            "talkingdata/",
            "--create-container",
        ]
    )
    out = capsys.readouterr()
    assert code == 0 and f"uploaded {container}/talkingdata/events.csv.zip" in out.out
    assert "100.0%" in out.err  # the progress bar finished

    result = hpt.tune(
        {
            "dataset": {
                "kind": "talkingdata",
                "source": "azure_blob",
                "container": container,
                "prefix": "talkingdata/",
                "connection_string": "${oc.env:HPT_TEST_AZ_CONN}",
            },
            "features": {"sets": ["brand_model", "hour"]},
            "model": {"_target_": "sklearn.tree.DecisionTreeClassifier", "random_state": 0},
            "search_space": {"max_depth": [2, 3]},
            "metric": {"primary_metric": "accuracy"},
            "cv": {"n_splits": 2},
            "resources": {"max_concurrent_runs": 2},
            "refit": False,
        },
        run_dir=tmp_path / "run",
    )
    assert len(result.cv_results_["params"]) == 2
    header = json.loads((tmp_path / "run" / "journal.jsonl").read_text().splitlines()[0])
    assert header["config"]["dataset"]["connection_string"] == "***"
    assert "AccountKey" not in (tmp_path / "run" / "journal.jsonl").read_text()
    # The same rows as the local files give.
    local = load_dataset(
        as_config(
            {
                "dataset": {"kind": "talkingdata", "path": str(tmp_path / "td")},
                "features": {"sets": ["brand_model", "hour"]},
            }
        ).dataset,
        as_config({"features": {"sets": ["brand_model", "hour"]}}).features,
    )
    assert result.cv_results_ is not None and local.shape[0] == 160


def test_cli_errors_are_one_line(
    env: Azurite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("AZURE_STORAGE_KEY", raising=False)
    monkeypatch.delenv("AZURE_STORAGE_SAS_TOKEN", raising=False)
    (tmp_path / "f.csv").write_text("a\n1\n")
    assert data_main(["upload", str(tmp_path / "f.csv"), "--container", "x"]) == 2
    assert capsys.readouterr().err.startswith("hpt: error: upload: no credentials")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", env.connection_string)
    assert data_main(["upload", str(tmp_path / "f.csv"), "--container", "nope"]) == 2
    err = capsys.readouterr().err
    assert "container 'nope' does not exist" in err and err.count("\n") == 1
