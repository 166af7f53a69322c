"""The worker side of an AutoML sweep: K-fold CV of the pipeline a trial's JSON parameters name."""

from __future__ import annotations

import time
import traceback
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from hpt.automl.metrics import METRICS, score
from hpt.automl.pipeline import build_pipeline
from hpt.events import error_type
from hpt.trainers._base import Emit, ShouldStop, Trainer, TrialOutcome, TrialStopped
from hpt.trial import FoldResult, TrialSpec


def take_rows(X: Any, rows: np.ndarray) -> Any:
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def is_mixed(X: Any) -> bool:
    """Whether ``X`` is a DataFrame with a non-numeric column (one-hot encoded when preprocess)."""
    if not hasattr(X, "dtypes"):
        return False
    import pandas as pd

    return any(not pd.api.types.is_numeric_dtype(t) for t in X.dtypes)


def is_sparse(X: Any) -> bool:
    import scipy.sparse as sp

    return bool(sp.issparse(X))


def predict_for(metric_name: str, pipeline: Any, X: Any) -> Any:
    """What the metric scores: class probabilities (classification) or predictions."""
    if METRICS[metric_name].task == "classification":
        return class_probabilities(pipeline, X)
    return pipeline.predict(X)


def class_probabilities(pipeline: Any, X: Any) -> Any:
    """``predict_proba``; for a classifier without it (SGD with a hinge-like loss), one-hot of
    the predicted class."""
    if hasattr(pipeline, "predict_proba"):
        return pipeline.predict_proba(X)
    classes = list(pipeline.classes_)
    predicted = pipeline.predict(X)
    return np.eye(len(classes))[[classes.index(c) for c in predicted]]


class AutoMLTrainer(Trainer):
    """Cross-validates ``build_pipeline(spec.params)`` and scores each fold with an AzureML
    metric; reports the running mean after each fold (one interval), like the CV trainer.

    ``classes`` are the labels of the whole dataset (so every fold's probabilities have the same
    columns) and ``y_range`` the target's range (for the normalized regression errors). A fold
    that raises is scored ``nan`` and the trial is marked failed with its traceback.
    """

    def __init__(
        self,
        X: Any,
        y: np.ndarray,
        folds: Sequence[tuple[np.ndarray, np.ndarray]],
        *,
        task: str,
        metric: str,
        classes: np.ndarray | None,
        y_range: float,
        seed: int,
        threads: int,
    ) -> None:
        self.X, self.y = X, y
        self.folds = [(np.asarray(tr), np.asarray(te)) for tr, te in folds]
        self.task, self.metric = task, metric
        self.classes, self.y_range = classes, y_range
        self.seed, self.threads = seed, threads
        self.mixed = is_mixed(X)
        self.sparse = is_sparse(X)

    def _fold(
        self, params: dict[str, Any], train: np.ndarray, test: np.ndarray
    ) -> tuple[float, float, float, np.ndarray]:
        pipeline = build_pipeline(
            params,
            self.task,
            seed=self.seed,
            threads=self.threads,
            mixed=self.mixed,
            sparse=self.sparse,
        )
        from threadpoolctl import threadpool_limits

        started = time.perf_counter()
        # OpenMP/BLAS pools (HistGradientBoosting, numpy) would take every core in every worker.
        with warnings.catch_warnings(), threadpool_limits(limits=self.threads):
            warnings.simplefilter("ignore")  # convergence chatter; the score tells
            pipeline.fit(take_rows(self.X, train), self.y[train])
            fit_time = time.perf_counter() - started
            started = time.perf_counter()
            output = predict_for(self.metric, pipeline, take_rows(self.X, test))
        if self.classes is not None:
            output = _align(output, list(pipeline.classes_), list(self.classes))
        value = score(
            METRICS[self.metric], self.y[test], output, classes=self.classes, y_range=self.y_range
        )
        return value, fit_time, time.perf_counter() - started, np.asarray(output, dtype=float)

    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        done = {f.fold: f for f in spec.done_folds}
        scores = [done[k].test_score for k in sorted(done)]
        interval = len(spec.reported)
        failed: list[int] = []
        errors: list[str] = []
        types: list[str] = []
        # Out-of-fold predictions, kept only when this attempt ran every fold (a resumed
        # attempt's earlier folds are not here to fill in) and they are small enough to travel
        # with an event: the VotingEnsemble's input.
        oof = self._empty_predictions() if not done and self.keeps_predictions else None
        for k, (train, test) in enumerate(self.folds):
            if k in done:
                continue
            if should_stop():
                raise TrialStopped()
            started = time.perf_counter()
            try:
                value, fit_time, score_time, output = self._fold(dict(spec.params), train, test)
                if oof is not None:
                    oof[test] = output
            except Exception as err:
                value, fit_time, score_time = float("nan"), time.perf_counter() - started, 0.0
                failed.append(k)
                errors.append(traceback.format_exc())
                types.append(error_type(err))
            emit({"event": "fold", **FoldResult(k, value, fit_time, score_time).to_json()})
            scores.append(value)
            interval += 1
            emit(
                {
                    "event": "report",
                    "interval": interval,
                    "value": float(np.mean(scores)),
                    "fold": k,
                }
            )
        kept = {PREDICTIONS: _npy(oof)} if oof is not None and not failed else {}
        return TrialOutcome(
            float(np.mean(scores)), tuple(failed), tuple(errors), tuple(types), artifacts=kept
        )

    @property
    def keeps_predictions(self) -> bool:
        """Whether trials return their out-of-fold predictions (at most
        :data:`MAX_PREDICTION_VALUES` values)."""
        columns = len(self.classes) if self.classes is not None else 1
        return len(self.y) * columns <= MAX_PREDICTION_VALUES

    def _empty_predictions(self) -> np.ndarray:
        """NaN for each row (and class): rows outside every test fold (a hold-out) stay NaN."""
        rows = len(self.y)
        shape = (rows, len(self.classes)) if self.classes is not None else (rows,)
        return np.full(shape, np.nan, dtype=np.float32)


#: the artifact holding a trial's out-of-fold predictions (float32 .npy: one row per data row,
#: one column per class for classification; NaN for rows in no test fold)
PREDICTIONS = "predictions.npy"
#: above this many values (rows x classes; 8 MB of float32) a trial's predictions are not kept:
#: each one travels base64 in an event and stays on disk, once per iteration
MAX_PREDICTION_VALUES = 2_000_000


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _align(proba: np.ndarray, fitted: list[Any], classes: list[Any]) -> np.ndarray:
    """Probabilities with one column per class of ``classes`` (a fold's training rows may lack a
    rare class: its column is 0)."""
    if fitted == classes:
        return np.asarray(proba)
    out = np.zeros((len(proba), len(classes)))
    for j, label in enumerate(fitted):
        out[:, classes.index(label)] = np.asarray(proba)[:, j]
    return out
