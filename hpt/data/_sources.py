"""Where a dataset's files come from, apart from how they are read.

A :class:`DataSource` answers three questions about the ``dataset`` config group:

- :meth:`~DataSource.check`: is the config complete and plausible? Cheap (no download, no
  network), run by ``hpt validate`` and before a sweep starts; raises :class:`ConfigError`.
- :meth:`~DataSource.fetch`: make the files local (download, generate) under ``cache_dir`` and
  return their local path (a directory or one file), or ``None`` for data that ships in a
  package (scikit-learn's sets).
- :meth:`~DataSource.fingerprint`: a short string that changes whenever the fetched content does,
  cheap to compute (sizes, times, ETags, generator parameters: not a hash of gigabytes). The
  feature cache is keyed by it.

Readers (``hpt.data._readers``) turn the fetched path into ``(X, y, names)``; they never know
where the files came from, so a new source (Azure Blob, an HTTP mirror) is one class here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Protocol

from hpt.data._digest import digest
from hpt.errors import ConfigError

__all__ = [
    "SKLEARN_DATASETS",
    "SOURCES",
    "DataSource",
    "GeneratedSource",
    "LocalSource",
    "SklearnSource",
    "data_home",
    "source_for",
    "source_name",
]

SKLEARN_DATASETS = ("breast_cancer", "digits", "wine", "iris")

# The real TalkingData has 186,716 distinct devices (74,645 labelled + 112,071 test).
REAL_DEVICES = 186_716


def data_home() -> Path:
    """Where fetched and generated data is cached: ``$HPT_DATA_DIR`` or ``~/.cache/hpt``."""
    return Path(os.environ.get("HPT_DATA_DIR") or Path.home() / ".cache" / "hpt")


class DataSource(Protocol):
    """The three operations every source offers (see the module doc for the contract)."""

    name: ClassVar[str]

    def check(self, cfg: Any) -> None: ...

    def fetch(self, cfg: Any, cache_dir: Path) -> Path | None: ...

    def fingerprint(self, cfg: Any, path: Path | None) -> str: ...


def _files_fingerprint(path: Path) -> str:
    """Name, size and modification time of every file under ``path`` (or of ``path`` itself)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return digest(
        [(str(p.relative_to(path) if path.is_dir() else p.name), *_stat(p)) for p in files]
    )


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


class LocalSource:
    """``dataset.path`` on this machine: a TalkingData directory or a CSV/Parquet file."""

    name: ClassVar[str] = "local"

    def check(self, cfg: Any) -> None:
        if not cfg.path:
            hint = (
                "a folder with the seven TalkingData files, or dataset.path=null to generate one"
                if str(cfg.kind) == "talkingdata"
                else "/path/to/table.csv"
            )
            raise ConfigError("dataset.path", f"missing; set dataset.path to {hint}")
        path = Path(str(cfg.path)).expanduser()
        if str(cfg.kind) == "talkingdata":
            if not path.is_dir():
                raise ConfigError(
                    "dataset.path",
                    f"{cfg.path!r}: no such directory; point dataset.path at the TalkingData "
                    "files or set dataset.path=null to generate a sample",
                )
        elif not path.is_file():
            raise ConfigError(
                "dataset.path", f"no such file {str(path)!r}; check the path (relative to the cwd)"
            )

    def fetch(self, cfg: Any, cache_dir: Path) -> Path:
        return Path(str(cfg.path)).expanduser()

    def fingerprint(self, cfg: Any, path: Path | None) -> str:
        assert path is not None
        return _files_fingerprint(path)


def generated_devices(cfg: Any) -> int:
    """The number of devices a generated TalkingData sample has (``scale`` wins over n_devices)."""
    if cfg.scale is not None:
        return max(100, round(float(cfg.scale) * REAL_DEVICES))
    return int(cfg.n_devices)


class GeneratedSource:
    """The TalkingData generator: ``n_devices`` and ``seed``, or ``scale`` (1 = Kaggle's sizes)."""

    name: ClassVar[str] = "generated"

    def check(self, cfg: Any) -> None:
        if str(cfg.kind) != "talkingdata":
            raise ConfigError(
                "dataset.source",
                f"source=generated makes TalkingData files, but dataset.kind is {cfg.kind!r}; "
                "use dataset.kind=talkingdata",
            )
        if cfg.scale is not None:
            if not 0.0 < float(cfg.scale) <= 10.0:
                raise ConfigError(
                    "dataset.scale", f"must be in (0, 10], got {cfg.scale}; 1 is Kaggle's size"
                )
        elif int(cfg.n_devices) < 100:
            raise ConfigError(
                "dataset.n_devices", f"must be >= 100 to generate a sample, got {cfg.n_devices}"
            )

    def _directory(self, cfg: Any, cache_dir: Path) -> Path:
        if cfg.scale is not None:
            name = f"scale{float(cfg.scale):g}-s{int(cfg.seed)}"
        else:
            name = f"n{int(cfg.n_devices)}-s{int(cfg.seed)}"
        return cache_dir / "talkingdata" / (name + ("-zip" if cfg.compress else ""))

    def fetch(self, cfg: Any, cache_dir: Path) -> Path:
        from hpt.data import talkingdata

        directory = self._directory(cfg, cache_dir)
        if not (directory / talkingdata.MARKER).is_file():
            if cfg.scale is not None:
                talkingdata.generate_scale(
                    directory, float(cfg.scale), seed=int(cfg.seed), compress=bool(cfg.compress)
                )
            else:
                talkingdata.generate(
                    directory, int(cfg.n_devices), seed=int(cfg.seed), compress=bool(cfg.compress)
                )
        return directory

    def fingerprint(self, cfg: Any, path: Path | None) -> str:
        from hpt.data import talkingdata

        assert path is not None
        # The generator's marker holds its parameters and format version: the files are a pure
        # function of them.
        return digest("generated", (path / talkingdata.MARKER).read_text())


class SklearnSource:
    """scikit-learn's bundled datasets, by ``dataset.name``."""

    name: ClassVar[str] = "sklearn"

    def check(self, cfg: Any) -> None:
        if cfg.name not in SKLEARN_DATASETS:
            raise ConfigError(
                "dataset.name",
                f"unknown bundled dataset {cfg.name!r}; use one of {', '.join(SKLEARN_DATASETS)}",
            )

    def fetch(self, cfg: Any, cache_dir: Path) -> None:
        return None  # the data ships with scikit-learn

    def fingerprint(self, cfg: Any, path: Path | None) -> str:
        import sklearn

        return digest("sklearn", str(cfg.name), sklearn.__version__)


def _azure() -> DataSource:
    from hpt.data._blob import AzureBlobSource

    return AzureBlobSource()


SOURCES: dict[str, Any] = {
    "local": LocalSource,
    "generated": GeneratedSource,
    "sklearn": SklearnSource,
    "azure_blob": _azure,
}
"""Source names (``dataset.source``) and factories."""


def source_name(cfg: Any) -> str:
    """``dataset.source``, or the source ``kind`` and ``path`` imply when it is null."""
    if cfg.source is not None:
        return str(cfg.source)
    kind = str(cfg.kind)
    if kind == "sklearn":
        return "sklearn"
    if kind == "talkingdata" and not cfg.path:
        return "generated"
    return "local"


def source_for(cfg: Any) -> DataSource:
    """The :class:`DataSource` of a ``dataset`` config; unknown names are a ConfigError."""
    name = source_name(cfg)
    if name not in SOURCES:
        raise ConfigError(
            "dataset.source", f"unknown source {name!r}; use one of {', '.join(SOURCES)}"
        )
    source: DataSource = SOURCES[name]()
    return source
