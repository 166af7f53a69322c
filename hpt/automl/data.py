"""``dataset.kind=script``: AzureML's data script, a Python file whose ``get_data()`` returns the
training data as ``{"X": ..., "y": ...}`` (or a tuple ``(X, y)``).

hpt's data helper is giving ``hpt.data`` a ``DataSource`` seam; until it lands on main, this
source lives here and :class:`~hpt.automl.kind.AutoMLKind` loads it itself (any other
``dataset.kind`` goes to :func:`hpt.data.load_dataset`). ``X`` may be an array, a sparse matrix
or a DataFrame (mixed types and missing values are what ``automl.preprocess`` handles); string
class labels are encoded as 0..K-1.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from hpt.data import Dataset
from hpt.errors import ConfigError

KIND = "script"


def script_path(cfg: Any) -> Path:
    """The checked path of ``dataset.script``: it exists and defines ``get_data`` (read, not run)."""
    if not cfg.script:
        raise ConfigError("dataset.script", "missing; set dataset.script=get_data.py")
    path = Path(str(cfg.script)).expanduser()
    if not path.is_file():
        raise ConfigError(
            "dataset.script", f"no such file {str(path)!r}; check the path (relative to the cwd)"
        )
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as err:
        raise ConfigError("dataset.script", f"{path.name}:{err.lineno}: {err.msg}") from None
    if not any(isinstance(n, ast.FunctionDef) and n.name == "get_data" for n in tree.body):
        raise ConfigError(
            "dataset.script", f"{path.name} defines no get_data(); add one returning X and y"
        )
    return path


def _fingerprint(X: Any, y: np.ndarray) -> str:
    digest = hashlib.sha256()
    if hasattr(X, "iloc"):
        import pandas as pd

        digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
        digest.update(repr(list(X.columns)).encode())
    else:
        import scipy.sparse as sp

        dense = X.toarray() if sp.issparse(X) else np.asarray(X)
        digest.update(np.ascontiguousarray(dense).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()[:16]


def load_script(cfg: Any, task: str) -> Dataset:
    """Run ``get_data()`` of ``dataset.script`` and check what it returned."""
    path = script_path(cfg)
    spec = importlib.util.spec_from_file_location(f"hpt_data_script_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = module.get_data()
    if isinstance(data, dict) and "X" in data and "y" in data:
        X, y = data["X"], data["y"]
    elif isinstance(data, tuple) and len(data) == 2:
        X, y = data
    else:
        raise ConfigError(
            "dataset.script", f"{path.name}: get_data() must return {{'X': X, 'y': y}} or (X, y)"
        )
    y = np.asarray(y).ravel()
    if not hasattr(X, "iloc"):
        import scipy.sparse as sp

        X = X.tocsr() if sp.issparse(X) else np.asarray(X)
    if X.shape[0] != len(y):
        raise ConfigError(
            "dataset.script",
            f"{path.name}: get_data() returned {X.shape[0]} rows of X but {len(y)} labels",
        )
    if task == "classification" and y.dtype.kind not in "iub":
        from sklearn.preprocessing import LabelEncoder

        y = LabelEncoder().fit_transform(y)
    names = (
        [str(c) for c in X.columns]
        if hasattr(X, "columns")
        else [f"x{i}" for i in range(X.shape[1])]
    )
    return Dataset(X, y, names, f"script {path}", _fingerprint(X, y))
