"""Turn the ``dataset`` + ``features`` config groups into a training matrix and labels.

Source (where the files come from, :mod:`hpt.data._sources`) -> reader (how they become
``X, y``, :mod:`hpt.data._readers`) -> the on-disk cache (:mod:`hpt.data._cache`), keyed by the
source's fingerprint and the reader's settings, so a sweep, its trials and folds, and the next
sweep on the same data all share one prepared matrix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from hpt.data._cache import FORMAT_VERSION, build_entry, load_entry, save_arrays
from hpt.data._digest import digest
from hpt.data._sources import SKLEARN_DATASETS, data_home, source_for, source_name
from hpt.errors import ConfigError

__all__ = ["KINDS", "SKLEARN_DATASETS", "Dataset", "check_dataset", "data_home", "load_dataset"]

KINDS = ("talkingdata", "sklearn", "file")
_DTYPES = ("auto", "float64", "float32")


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


def _sets(features: Any) -> list[str] | None:
    return list(features.sets) if features.sets is not None else None


def _dtype(cfg: Any, override: str | None = None) -> str:
    """The matrix's dtype: ``override`` (see :func:`dtype_for`), else ``dataset.dtype`` with
    ``auto`` read as float64."""
    dtype = override or str(cfg.get("dtype") or "auto")
    return "float64" if dtype == "auto" else dtype


def dtype_for(cfg: Any, estimator: Any) -> str:
    """The matrix's dtype for a sweep of ``estimator``: ``dtype: auto`` is float32 for an XGBoost
    model, whose training and predictions read float32 values anyway (so every result is the
    same, in half the memory), and float64 for any other model."""
    dtype = str(cfg.get("dtype") or "auto")
    if dtype != "auto":
        return dtype
    module = type(estimator).__module__ if estimator is not None else ""
    return "float32" if module.startswith("xgboost") else "float64"


def check_dataset(cfg: Any, features: Any) -> None:
    """Cheap checks run before anything starts: the config is complete, the source plausible."""
    kind = str(cfg.kind)
    if kind not in KINDS:
        raise ConfigError("dataset.kind", f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    dtype = cfg.get("dtype")
    if dtype is not None and str(dtype) not in _DTYPES:
        raise ConfigError("dataset.dtype", f"unknown dtype {dtype!r}; use auto, float64 or float32")
    sets = _sets(features)
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
    elif sets is not None:
        raise ConfigError(
            "features",
            f"feature sets {sets} apply to the talkingdata dataset only; use features=none",
        )
    for key in ("weight", "groups", "as_frame"):
        if kind != "file" and cfg.get(key):
            raise ConfigError(f"dataset.{key}", "applies to file datasets only (dataset=file)")
    name = source_name(cfg)
    if kind == "sklearn" and name != "sklearn":
        raise ConfigError(
            "dataset.source", f"kind=sklearn reads scikit-learn's bundled sets, not {name!r}"
        )
    source = source_for(cfg)
    source.check(cfg)
    if name == "local":
        path = Path(str(cfg.path)).expanduser()
        if kind == "talkingdata":
            from hpt.data import talkingdata

            try:
                talkingdata.find_files(path)
            except FileNotFoundError as err:
                raise ConfigError(
                    "dataset.path",
                    f"{cfg.path!r}: {err}; point dataset.path at the TalkingData files or set "
                    "dataset.path=null to generate a sample",
                ) from None
        else:
            _check_target(cfg, path)


def _check_target(cfg: Any, path: Path) -> None:
    from hpt.data._readers import table_columns

    if not cfg.target:
        raise ConfigError("dataset.target", "missing; name the label column, e.g. dataset.target=y")
    columns = table_columns(path)
    for key in ("target", "weight", "groups"):
        name = cfg.get(key)
        if name is not None and str(name) not in columns:
            shown = ", ".join(columns[:10]) + (" ..." if len(columns) > 10 else "")
            raise ConfigError(
                f"dataset.{key}",
                f"column {name!r} is not in {path.name} (columns: {shown}); "
                f"set dataset.{key} to one of them",
            )


def _fingerprint(X: Any, y: np.ndarray, *side: np.ndarray) -> str:
    """A hash of the matrix's content (what resume compares); computed once, when built.
    ``side``: weights and groups, which change results too."""
    digest_ = hashlib.sha256()
    if hasattr(X, "iloc"):  # a DataFrame kept as such (dataset.as_frame): any dtypes
        import pandas as pd

        digest_.update(repr(list(X.columns)).encode())
        digest_.update(np.ascontiguousarray(pd.util.hash_pandas_object(X, index=False)).tobytes())
    elif sp.issparse(X):
        csr = sp.csr_matrix(X)
        for part in (csr.data, csr.indices, csr.indptr):
            digest_.update(np.ascontiguousarray(part).tobytes())
    else:
        # Block by block: never a second copy of a big table. Same bytes as one whole pass.
        for start in range(0, X.shape[0], 65_536):
            block = np.asarray(X[start : start + 65_536], dtype=float)
            digest_.update(np.ascontiguousarray(block).tobytes())
    digest_.update(np.ascontiguousarray(y).tobytes())
    for values in side:
        array = np.asarray(values)
        numeric = array.dtype.kind in "biuf"
        digest_.update(
            np.ascontiguousarray(array).tobytes() if numeric else repr(array.tolist()).encode()
        )
    digest_.update(repr(X.shape).encode())
    return digest_.hexdigest()[:16]


def _sample_rows(cfg: Any, n: int) -> np.ndarray | None:
    if cfg.sample_rows is not None and int(cfg.sample_rows) < n:
        return np.sort(
            np.random.default_rng(int(cfg.seed)).choice(n, int(cfg.sample_rows), replace=False)
        )
    return None


def _sample(cfg: Any, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
    rows = _sample_rows(cfg, X.shape[0])
    return (X, y) if rows is None else (X[rows], y[rows])


def _load_frame(cfg: Any, path: Path, dtype: str | None = None) -> Dataset:
    """A file dataset with ``weight``/``groups`` columns or kept as a DataFrame (``as_frame``):
    read whole with pandas (these tables are the user's own, not the seed's gigabytes) and not
    cached, since the cache stores plain matrices."""
    import pandas as pd

    from hpt.data._readers import is_parquet

    frame = pd.read_parquet(path) if is_parquet(path) else pd.read_csv(path)
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
    matrix_dtype = np.dtype(_dtype(cfg, dtype))
    X: Any = features_frame if cfg.get("as_frame") else features_frame.to_numpy(dtype=matrix_dtype)
    if y.dtype.kind not in "iub":
        from sklearn.preprocessing import LabelEncoder

        y = LabelEncoder().fit_transform(y)
    rows = _sample_rows(cfg, X.shape[0])
    if rows is not None:
        X, y = (X.iloc[rows] if hasattr(X, "iloc") else X[rows]), y[rows]
        side_values = {k: v[rows] for k, v in side_values.items()}
    y = np.asarray(y)
    weight = side_values.get("weight")
    return Dataset(
        X,
        y,
        [str(c) for c in features_frame.columns],
        f"file {path}",
        _fingerprint(X, y, *side_values.values()),
        sample_weight=None if weight is None else np.asarray(weight, dtype=float),
        groups=side_values.get("groups"),
    )


def _read(
    cfg: Any, features: Any, path: Path | None, out: Path | None, dtype_name: str | None = None
) -> tuple[Any, np.ndarray, list[str], str]:
    """Read the fetched data; dense tables go straight into ``out/X.npy`` when ``out`` is set."""
    from hpt.data import _readers

    kind = str(cfg.kind)
    dtype = np.dtype(_dtype(cfg, dtype_name))
    if kind == "talkingdata":
        assert path is not None
        sets = list(features.sets)
        X, y, names = _readers.read_talkingdata(path, sets)
        if dtype != X.dtype:
            X = X.astype(dtype)
        return X, y, names, f"talkingdata {path} features={','.join(sets)}"
    if kind == "sklearn":
        X, y, names = _readers.read_sklearn(str(cfg.name))
        return X.astype(dtype, copy=False), y, names, f"sklearn {cfg.name}"
    assert path is not None
    if cfg.sample_rows is None and out is not None:

        def allocate(shape: tuple[int, int], dt: Any) -> np.ndarray:
            return np.lib.format.open_memmap(out / "X.npy", mode="w+", dtype=dt, shape=shape)
    else:

        def allocate(shape: tuple[int, int], dt: Any) -> np.ndarray:
            return np.empty(shape, dtype=dt)

    X, y, names = _readers.read_table(path, str(cfg.target), allocate, dtype)
    if isinstance(X, np.memmap):
        X.flush()
    return X, y, names, f"file {path}"


def cache_key(cfg: Any, features: Any, source_fingerprint: str, dtype: str | None = None) -> str:
    """The feature cache's key: the data's fingerprint plus everything that shapes X and y."""
    return digest(
        FORMAT_VERSION,
        source_fingerprint,
        str(cfg.kind),
        _sets(features),
        None if cfg.target is None else str(cfg.target),
        None if cfg.sample_rows is None else int(cfg.sample_rows),
        int(cfg.seed) if cfg.sample_rows is not None else None,
        _dtype(cfg, dtype),
    )


def load_dataset(cfg: Any, features: Any, *, dtype: str | None = None) -> Dataset:
    """Fetch (download or generate if needed), read and cache the training matrix.

    ``dtype`` overrides ``dataset.dtype`` (the session passes :func:`dtype_for` the model).

    With ``dataset.cache_features`` (the default) the matrix is kept under
    ``$HPT_DATA_DIR/features/`` and memory-mapped read-only; the next load of the same data and
    settings maps it without reading the source files again.
    """
    check_dataset(cfg, features)
    source = source_for(cfg)
    home = data_home()
    path = source.fetch(cfg, home)
    if str(cfg.kind) == "file" and any(cfg.get(k) for k in ("weight", "groups", "as_frame")):
        assert path is not None
        return _load_frame(cfg, path, dtype)
    if not cfg.get("cache_features", True):
        X, y, names, description = _read(cfg, features, path, None, dtype)
        X, y = _sample(cfg, X, y)
        return Dataset(X, np.asarray(y), list(names), description, _fingerprint(X, y))
    key = cache_key(cfg, features, source.fingerprint(cfg, path), dtype)
    directory = home / "features" / key
    entry = load_entry(directory)
    if entry is None:

        def build(tmp: Path) -> dict[str, Any]:
            X, y, names, description = _read(cfg, features, path, tmp, dtype)
            X, y = _sample(cfg, X, y)
            fingerprint = _fingerprint(X, y)
            save_arrays(tmp, X, y)
            return {
                "sparse": bool(sp.issparse(X)),
                "shape": [int(X.shape[0]), int(X.shape[1])],
                "names": list(names),
                "description": description,
                "fingerprint": fingerprint,
            }

        entry = build_entry(directory, build)
    X, y, meta = entry
    return Dataset(X, y, list(meta["names"]), str(meta["description"]), str(meta["fingerprint"]))
