"""Folds of a large dense table that are never copied whole: XGBoost reads them in row chunks.

Slicing a fold the usual way (``X[train]``, ``X[test]``, as scikit-learn's searches do) copies
almost the whole table into every worker, once for the training rows and once for the test rows.
On a table of gigabytes that is what runs a sweep out of memory, while the table itself is mapped
read-only and shared by every worker (:mod:`hpt.data._shared`). So when the table is a dense
array of at least :func:`stream_bytes` and the model is XGBoost, a fold's rows are a
:class:`FoldRows` (the shared table plus row numbers) and

* training goes through XGBoost's own ``QuantileDMatrix`` built from a
  :class:`xgboost.DataIter` over row chunks (:func:`streamed_xgboost`): each chunk is copied,
  quantised and dropped, so a worker holds the quantised matrix (one byte per value) plus one
  chunk, not the float rows;
* scoring predicts chunk by chunk (:class:`ChunkedPredictions`) and the scorer sees the
  concatenated predictions.

Both are exact: rows reach XGBoost in the same order as from ``X[train]``, and XGBoost builds a
``QuantileDMatrix`` from one array through the same iterator code (one batch), so the quantile
cuts, the trees and every prediction are bit-for-bit those of the copied fold
(``tests/test_streamed_folds.py`` checks it against ``X[train]`` fits and ``GridSearchCV``);
predictions are row by row, so chunking them changes nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if

#: Tables at least this large (bytes) are streamed; ``HPT_STREAM_BYTES`` overrides it.
STREAM_BYTES = 256 * 1024**2
#: About this many bytes of rows are copied at a time; ``HPT_STREAM_CHUNK_BYTES`` overrides it.
CHUNK_BYTES = 16 * 1024**2


def stream_bytes() -> int:
    return int(os.environ.get("HPT_STREAM_BYTES") or STREAM_BYTES)


def _chunk_bytes() -> int:
    return int(os.environ.get("HPT_STREAM_CHUNK_BYTES") or CHUNK_BYTES)


@dataclass(frozen=True, eq=False)
class FoldRows:
    """Rows ``rows`` (in this order) of the 2-D array ``table``, not copied until asked."""

    table: np.ndarray
    rows: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.rows), int(self.table.shape[1]))

    def __len__(self) -> int:
        return len(self.rows)

    def chunk_rows(self) -> int:
        row_bytes = max(1, int(self.table.shape[1]) * self.table.itemsize)
        return max(1, _chunk_bytes() // row_bytes)

    def spans(self) -> Iterator[slice]:
        step = self.chunk_rows()
        for start in range(0, len(self.rows), step):
            yield slice(start, start + step)

    def take(self, span: slice) -> np.ndarray:
        return np.asarray(self.table[self.rows[span]])

    def materialize(self) -> np.ndarray:
        return np.asarray(self.table[self.rows])


def should_stream(X: Any, library: str | None) -> bool:
    """Whether folds of ``X`` are streamed for a model of ``library`` (a large dense array,
    XGBoost; see :func:`hpt.trainers._boosting.boosting_library`)."""
    return (
        library == "xgboost"
        and isinstance(X, np.ndarray)
        and X.ndim == 2
        and X.nbytes >= stream_bytes()
    )


def _slice(value: Any, span: slice) -> Any:
    return None if value is None else np.asarray(value)[span]


def _row_iterator(rows: FoldRows, label: Any, weight: Any, base_margin: Any) -> Any:
    from xgboost import DataIter

    class _Chunks(DataIter):
        """Hands XGBoost one chunk of rows per ``next`` call, each copied and then released."""

        def __init__(self) -> None:
            self._spans = list(rows.spans())
            self._at = 0
            super().__init__(release_data=True)

        def next(self, input_data: Any) -> bool:
            if self._at >= len(self._spans):
                return False
            span = self._spans[self._at]
            self._at += 1
            input_data(
                data=rows.take(span),
                label=_slice(label, span),
                weight=_slice(weight, span),
                base_margin=_slice(base_margin, span),
            )
            return True

        def reset(self) -> None:
            self._at = 0

    return _Chunks()


def _can_quantise(estimator: Any) -> bool:
    from xgboost import sklearn as xgb_sklearn

    can_use = getattr(xgb_sklearn, "_can_use_qdm", None)
    return bool(
        can_use is not None
        and can_use(estimator.tree_method, estimator.device)
        and estimator.booster != "gblinear"
    )


@contextlib.contextmanager
def streamed_xgboost(estimator: Any) -> Iterator[None]:
    """While active, ``estimator.fit`` accepts :class:`FoldRows` for ``X`` and ``eval_set``.

    XGBoost's scikit-learn wrapper builds its matrices through ``_create_dmatrix``; an instance
    attribute stands in for it while the fit runs (and is removed afterwards, so the fitted model
    pickles and clones as usual). Anything but :class:`FoldRows` goes to XGBoost's own method; a
    model that cannot use a ``QuantileDMatrix`` (``tree_method="exact"``, ``gblinear``) gets the
    copied rows.
    """
    original = type(estimator)._create_dmatrix

    def create_dmatrix(ref: Any = None, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        if not isinstance(data, FoldRows):
            return original(estimator, ref=ref, **kwargs)
        if not _can_quantise(estimator) or kwargs.get("group") is not None:
            return original(estimator, ref=ref, **{**kwargs, "data": data.materialize()})
        from xgboost import QuantileDMatrix

        chunks = _row_iterator(
            data, kwargs.get("label"), kwargs.get("weight"), kwargs.get("base_margin")
        )
        return QuantileDMatrix(
            chunks,
            missing=kwargs.get("missing"),
            feature_weights=kwargs.get("feature_weights"),
            feature_types=kwargs.get("feature_types"),
            enable_categorical=bool(kwargs.get("enable_categorical")),
            ref=ref,
            nthread=estimator.n_jobs,
            max_bin=estimator.max_bin,
        )

    estimator._create_dmatrix = create_dmatrix
    try:
        yield
    finally:
        del estimator._create_dmatrix


def _has(name: str) -> Any:
    return lambda self: hasattr(self.model, name)


class ScoringView(BaseEstimator):  # type: ignore[misc]
    """A fitted ``model`` seen through :meth:`_call`, only for scoring.

    It offers exactly the prediction methods the model has (so a scorer picks the same response
    method it would for the model), each going through :meth:`_call`, and the model's
    ``classes_`` and tags (so it is a classifier or regressor as the model is).
    """

    model: Any

    @property
    def classes_(self) -> Any:
        return self.model.classes_

    def __sklearn_tags__(self) -> Any:
        return self.model.__sklearn_tags__()

    def fit(self, X: Any, y: Any) -> ScoringView:
        raise TypeError(f"a {type(self).__name__} is only for scoring")

    def _call(self, method: str, X: Any) -> Any:
        raise NotImplementedError

    def predict(self, X: Any) -> Any:
        return self._call("predict", X)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        return self._call("predict_proba", X)

    @available_if(_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        return self._call("decision_function", X)


class ChunkedPredictions(ScoringView):
    """A fitted ``model`` whose predictions on :class:`FoldRows` are made chunk by chunk."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def _call(self, method: str, X: Any) -> Any:
        predict = getattr(self.model, method)
        if not isinstance(X, FoldRows):
            return predict(X)
        parts = [np.asarray(predict(X.take(span))) for span in X.spans()]
        return np.concatenate(parts, axis=0)


def for_scoring(model: Any, X: Any) -> Any:
    """``model`` as a scorer should see it for ``X``: chunked when ``X`` is :class:`FoldRows`."""
    return ChunkedPredictions(model) if isinstance(X, FoldRows) else model
