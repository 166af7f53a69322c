"""Turn the ``dataset`` + ``features`` config groups into a training matrix and labels."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from hpt.errors import ConfigError

SKLEARN_DATASETS = ("breast_cancer", "digits", "wine", "iris")
KINDS = ("talkingdata", "sklearn", "file")


@dataclass(frozen=True)
class Dataset:
    """Training data for a sweep. ``fingerprint`` identifies the exact content (for resume)."""

    X: Any
    y: np.ndarray
    feature_names: list[str]
    description: str
    fingerprint: str
    # dataset.weight / dataset.groups columns (file datasets), one value per row.
    sample_weight: np.ndarray | None = None
    groups: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.X.shape[0]), int(self.X.shape[1]))


def data_home() -> Path:
    """Where generated datasets are cached: ``$HPT_DATA_DIR`` or ``~/.cache/hpt``."""
    return Path(os.environ.get("HPT_DATA_DIR") or Path.home() / ".cache" / "hpt")


def _talkingdata_dir(cfg: Any) -> Path:
    if cfg.path:
        return Path(str(cfg.path)).expanduser()
    return data_home() / "talkingdata" / f"n{int(cfg.n_devices)}-s{int(cfg.seed)}"


def check_dataset(cfg: Any, features: Any) -> None:
    """Cheap checks run before anything starts: the source exists and has what the config needs."""
    kind = str(cfg.kind)
    if kind not in KINDS:
        raise ConfigError("dataset.kind", f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    sets = list(features.sets) if features.sets is not None else None
    if kind == "talkingdata":
        from hpt.data import talkingdata

        if sets is None:
            raise ConfigError(
                "features",
                "the talkingdata dataset needs feature sets; use features=talkingdata_small "
                "or features=talkingdata",
            )
        unknown = [s for s in sets if s not in talkingdata.FEATURE_SETS]
        if unknown:
            raise ConfigError(
                "features.sets",
                f"unknown feature set(s) {unknown}; valid: {', '.join(talkingdata.FEATURE_SETS)}",
            )
        if cfg.path:
            try:
                talkingdata.find_files(_talkingdata_dir(cfg))
            except FileNotFoundError as err:
                raise ConfigError(
                    "dataset.path",
                    f"{cfg.path!r}: {err}; point dataset.path at the TalkingData files or set "
                    "dataset.path=null to generate a sample",
                ) from None
        elif int(cfg.n_devices) < 100:
            raise ConfigError(
                "dataset.n_devices", f"must be >= 100 to generate a sample, got {cfg.n_devices}"
            )
        return
    if sets is not None:
        raise ConfigError(
            "features",
            f"feature sets {sets} apply to the talkingdata dataset only; use features=none",
        )
    for key in ("weight", "groups", "as_frame"):
        if kind != "file" and cfg.get(key):
            raise ConfigError(f"dataset.{key}", "applies to file datasets only (dataset=file)")
    if kind == "sklearn":
        if cfg.name not in SKLEARN_DATASETS:
            raise ConfigError(
                "dataset.name",
                f"unknown bundled dataset {cfg.name!r}; use one of {', '.join(SKLEARN_DATASETS)}",
            )
        return
    # kind == "file"
    if not cfg.path:
        raise ConfigError("dataset.path", "missing; set dataset.path=/path/to/table.csv")
    path = Path(str(cfg.path)).expanduser()
    if not path.is_file():
        raise ConfigError(
            "dataset.path", f"no such file {str(path)!r}; check the path (relative to the cwd)"
        )
    if not cfg.target:
        raise ConfigError("dataset.target", "missing; name the label column, e.g. dataset.target=y")
    columns = _file_columns(path)
    for key in ("target", "weight", "groups"):
        name = cfg.get(key)
        if name is not None and str(name) not in columns:
            shown = ", ".join(columns[:10]) + (" ..." if len(columns) > 10 else "")
            raise ConfigError(
                f"dataset.{key}",
                f"column {name!r} is not in {path.name} (columns: {shown}); "
                f"set dataset.{key} to one of them",
            )


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _file_columns(path: Path) -> list[str]:
    import pandas as pd

    try:
        if _is_parquet(path):
            import pyarrow.parquet as pq

            return [str(c) for c in pq.read_schema(path).names]
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except Exception as err:  # unreadable file: say which and why, in one line
        raise ConfigError(
            "dataset.path", f"cannot read {str(path)!r}: {type(err).__name__}: {err}"
        ) from None


def _fingerprint(X: Any, y: np.ndarray, *side: np.ndarray) -> str:
    digest = hashlib.sha256()
    if hasattr(X, "iloc"):  # a DataFrame kept as such (dataset.as_frame): any dtypes
        import pandas as pd

        digest.update(repr(list(X.columns)).encode())
        digest.update(np.ascontiguousarray(pd.util.hash_pandas_object(X, index=False)).tobytes())
    elif sp.issparse(X):
        csr = sp.csr_matrix(X)
        for part in (csr.data, csr.indices, csr.indptr):
            digest.update(np.ascontiguousarray(part).tobytes())
    else:
        digest.update(np.ascontiguousarray(np.asarray(X, dtype=float)).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    for values in side:  # weights and groups change results too
        array = np.asarray(values)
        numeric = array.dtype.kind in "biuf"
        digest.update(
            np.ascontiguousarray(array).tobytes() if numeric else repr(array.tolist()).encode()
        )
    digest.update(repr(X.shape).encode())
    return digest.hexdigest()[:16]


def load_dataset(cfg: Any, features: Any) -> Dataset:
    """Load (generating the TalkingData sample if needed) and build the feature matrix."""
    check_dataset(cfg, features)
    kind = str(cfg.kind)
    side_values: dict[str, np.ndarray] = {}  # dataset.weight / dataset.groups of a file
    if kind == "talkingdata":
        from hpt.data import talkingdata

        directory = _talkingdata_dir(cfg)
        if not cfg.path:
            try:
                talkingdata.find_files(directory)
            except FileNotFoundError:
                talkingdata.generate(
                    directory, int(cfg.n_devices), seed=int(cfg.seed), compress=bool(cfg.compress)
                )
        raw = talkingdata.load_raw(
            directory, tables=talkingdata.required_tables(list(features.sets))
        )
        X, y, names = talkingdata.build_features(raw, list(features.sets))
        description = f"talkingdata {directory} features={','.join(features.sets)}"
    elif kind == "sklearn":
        import sklearn.datasets as skd

        loader = getattr(skd, f"load_{cfg.name}")
        bunch = loader()
        X, y = np.asarray(bunch.data), np.asarray(bunch.target)
        names = [str(n) for n in getattr(bunch, "feature_names", range(X.shape[1]))]
        description = f"sklearn {cfg.name}"
    else:
        import pandas as pd

        path = Path(str(cfg.path)).expanduser()
        frame = pd.read_parquet(path) if _is_parquet(path) else pd.read_csv(path)
        target = str(cfg.target)
        y = frame[target].to_numpy()
        side = {k: str(cfg[k]) for k in ("weight", "groups") if cfg.get(k)}
        side_values = {k: frame[c].to_numpy() for k, c in side.items()}
        features_frame = frame.drop(columns=[target, *side.values()])
        non_numeric = [
            str(c)
            for c in features_frame.columns
            if not pd.api.types.is_numeric_dtype(features_frame[c])
        ]
        if non_numeric and not cfg.get("as_frame"):
            raise ConfigError(
                "dataset.path",
                f"{path.name}: non-numeric feature column(s) {non_numeric[:5]}; encode them first, "
                "drop them, or set dataset.as_frame=true for a model that takes a DataFrame",
            )
        X = features_frame if cfg.get("as_frame") else features_frame.to_numpy(dtype=float)
        names = [str(c) for c in features_frame.columns]
        if y.dtype.kind not in "iub":
            from sklearn.preprocessing import LabelEncoder

            y = LabelEncoder().fit_transform(y)
        description = f"file {path}"
    if cfg.sample_rows is not None and int(cfg.sample_rows) < X.shape[0]:
        rows = np.sort(
            np.random.default_rng(int(cfg.seed)).choice(
                X.shape[0], int(cfg.sample_rows), replace=False
            )
        )
        X, y = (X.iloc[rows] if hasattr(X, "iloc") else X[rows]), y[rows]
        side_values = {k: v[rows] for k, v in side_values.items()}
    y = np.asarray(y)
    extra = side_values
    weight = extra.get("weight")
    return Dataset(
        X,
        y,
        list(names),
        description,
        _fingerprint(X, y, *extra.values()),
        sample_weight=None if weight is None else np.asarray(weight, dtype=float),
        groups=extra.get("groups"),
    )
