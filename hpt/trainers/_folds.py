"""Fold slicing: each fold's rows in the type the data came in, built once per worker when the
sweep shares work (``sweep.share_work``)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from hpt.trainers._cv import CrossValidationTrainer


def _take(X: Any, rows: np.ndarray) -> Any:
    """Row subset of an array, sparse matrix, DataFrame or list, in its own type (scikit-learn's
    ``_safe_indexing``, as its searches slice folds)."""
    from sklearn.utils import _safe_indexing

    return _safe_indexing(X, rows)


#: Fold matrices are kept only while all folds together stay under this many bytes (5 folds keep
#: about 5 copies of the data: every row is in 4 training sets and 1 test set).
FOLD_CACHE_BYTES = 2 * 1024**3

_FOLD_CACHE: weakref.WeakKeyDictionary[Any, dict[int, tuple[Any, np.ndarray, Any, np.ndarray]]] = (
    weakref.WeakKeyDictionary()
)


def _nbytes(X: Any) -> int:
    if hasattr(X, "memory_usage"):  # a DataFrame
        return int(X.memory_usage(index=False).sum())
    if hasattr(X, "data") and hasattr(X, "indices"):  # a CSR/CSC matrix
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(getattr(X, "nbytes", 0))


def fold_data(trainer: CrossValidationTrainer, k: int) -> tuple[Any, np.ndarray, Any, np.ndarray]:
    """Fold ``k``'s ``(X_train, y_train, X_test, y_test)`` of ``trainer``.

    With ``trainer.share_folds`` they are built once per worker and handed to every later trial
    (row selection is deterministic and no estimator here writes into its input, so a reused
    matrix is the one a rebuild would give), unless the folds would take more than
    :data:`FOLD_CACHE_BYTES`. Folds of a large dense table for an XGBoost model are not copied
    at all: they are :class:`~hpt.trainers._streamed.FoldRows` (see :mod:`hpt.trainers._streamed`).
    """
    from hpt.trainers._boosting import boosting_library
    from hpt.trainers._streamed import FoldRows, should_stream

    train, test = trainer.folds[k]
    if should_stream(trainer.X, boosting_library(trainer.estimator)):
        return (
            FoldRows(trainer.X, train),
            trainer.y[train],
            FoldRows(trainer.X, test),
            trainer.y[test],
        )
    cache = _FOLD_CACHE.get(trainer) if trainer.share_folds else None
    if cache is not None and k in cache:
        return cache[k]
    data = (_take(trainer.X, train), trainer.y[train], _take(trainer.X, test), trainer.y[test])
    if trainer.share_folds and _nbytes(trainer.X) * trainer.n_folds <= FOLD_CACHE_BYTES:
        _FOLD_CACHE.setdefault(trainer, {})[k] = data
    return data
