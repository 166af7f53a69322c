"""Fitting gradient-boosting models (XGBoost, LightGBM) with a hook after every boosting round.

:func:`fit_stoppable` is what every CV fold goes through: it raises
:class:`~hpt.trainers.TrialStopped` between boosting rounds once the trial is asked to stop, so a
stop takes one round, not a whole fit. The round hooks only read; they never change the model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hpt.trainers._base import ShouldStop, TrialStopped
from hpt.trainers._streamed import FoldRows, streamed_xgboost

# A round hook: (rounds trained so far, 1-based; the library's evaluation log) -> None.
_RoundHook = Callable[[int, Any], None]


def boosting_library(estimator: Any) -> str | None:
    """``"xgboost"`` or ``"lightgbm"`` for a boosted-trees estimator of those libraries, else None.

    XGBoost's random forests (``XGBRFClassifier``) train a single round and refuse callbacks, so
    they are not boosting models here.
    """
    module = type(estimator).__module__
    if module.startswith("xgboost"):
        from xgboost import XGBModel

        name = type(estimator).__name__
        if isinstance(estimator, XGBModel) and not name.startswith("XGBRF"):
            return "xgboost"
    elif module.startswith("lightgbm"):
        try:
            from lightgbm import LGBMModel
        except ImportError:  # pragma: no cover - the estimator came from lightgbm
            return None
        if isinstance(estimator, LGBMModel):
            return "lightgbm"
    return None


def _check_stop(should_stop: ShouldStop) -> None:
    """Raise :class:`TrialStopped` if the trial was asked to stop.

    Called after every boosting round: launchers make ``should_stop`` a flag read (a set
    lookup, an ``Event``), so even microsecond rounds do not notice it, and a stop lands within
    one round of the request.
    """
    if should_stop():
        raise TrialStopped()


def _xgboost_callback(on_round: _RoundHook, on_end: Callable[[], None]) -> Any:
    """An XGBoost ``TrainingCallback`` calling ``on_round`` after each round; never stops
    training itself (returns False), so it cannot change the model."""
    from xgboost.callback import TrainingCallback

    class _Watch(TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            on_round(epoch + 1, evals_log)
            return False

        def after_training(self, model: Any) -> Any:
            on_end()
            return model

    return _Watch()


def _lightgbm_callback(on_round: _RoundHook) -> Callable[[Any], None]:
    """A LightGBM callback (called after each iteration) passing the evaluation results on."""

    def callback(env: Any) -> None:
        on_round(env.iteration + 1, env.evaluation_result_list)

    callback.order = 1000  # type: ignore[attr-defined]  # after LightGBM's own callbacks
    return callback


def _fit_xgboost(
    estimator: Any,
    X: Any,
    y: np.ndarray,
    callback: Any,
    *,
    fit_kwargs: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> None:
    """Fit an XGBoost model with ``callback`` first in its callbacks and ``overrides`` set as
    parameters for this fit only; both are restored afterwards, even when the fit raises.

    Ours goes first because XGBoost asks the callbacks with ``any(...)``, which skips the rest of
    the list once one (e.g. a user's early stopping) returns True. Parameters are restored by
    attribute (what ``get_params`` reads) rather than ``set_params``, which on a fitted model
    would also push every parameter into the booster.
    """
    overrides = dict(overrides or {})
    saved = {name: getattr(estimator, name) for name in ("callbacks", *overrides)}
    estimator.callbacks = [callback, *(saved["callbacks"] or [])]
    for name, value in overrides.items():
        setattr(estimator, name, value)
    try:
        kwargs = dict(fit_kwargs or {})
        streamed = isinstance(X, FoldRows) or any(
            isinstance(data, FoldRows) for data, _ in kwargs.get("eval_set") or ()
        )
        with streamed_xgboost(estimator) if streamed else contextlib.nullcontext():
            estimator.fit(X, y, **kwargs)
    finally:
        for name, value in saved.items():
            setattr(estimator, name, value)


def fit_stoppable(
    estimator: Any,
    X: Any,
    y: np.ndarray,
    should_stop: ShouldStop,
    *,
    fit_params: Mapping[str, Any] | None = None,
) -> None:
    """``estimator.fit(X, y)``, raising :class:`TrialStopped` between boosting rounds once
    ``should_stop()`` is true (XGBoost and LightGBM models; any other model is fitted plainly
    and stops between folds).

    The callback only reads a flag and is removed from the estimator after the fit, so the
    fitted model is the one a plain ``fit`` gives and the estimator stays clone-safe.
    """
    library = boosting_library(estimator)
    params = dict(fit_params or {})
    if library != "xgboost" and isinstance(X, FoldRows):  # only XGBoost reads streamed rows
        X = X.materialize()
    if library is None:
        estimator.fit(X, y, **params)
        return

    def on_round(_rounds: int, _log: Any) -> None:
        _check_stop(should_stop)

    if library == "xgboost":
        _fit_xgboost(estimator, X, y, _xgboost_callback(on_round, lambda: None), fit_kwargs=params)
    else:
        estimator.fit(X, y, callbacks=[_lightgbm_callback(on_round)], **params)
