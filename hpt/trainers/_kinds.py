"""The built-in trainer kinds: ``cv`` (cross-validation of an estimator) and ``script``."""

from __future__ import annotations

import difflib
import logging
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from hpt.errors import ConfigError
from hpt.trainers.factory import KindCheck, TrainerKind

if TYPE_CHECKING:
    from hpt.experiment import Experiment
    from hpt.space import SearchSpace
    from hpt.state import SweepState
    from hpt.trainers._base import Trainer

log = logging.getLogger("hpt")


def error_score_value(value: Any) -> float | str:
    """``cv.error_score`` as scikit-learn takes it: ``"raise"`` or a number (``nan`` included)."""
    if value == "raise":
        return "raise"
    if value in ("nan", None):
        return math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ConfigError("cv.error_score", f"must be 'raise', 'nan' or a number, got {value!r}")


def build_model(cfg: DictConfig, space: SearchSpace) -> Any:
    """The estimator of ``cfg.model``, checked to be scikit-learn-API and to have every
    parameter the search space tunes."""
    from hpt.experiment import construct

    model_cfg = OmegaConf.to_container(cfg.model, resolve=True) or {}
    assert isinstance(model_cfg, dict)
    if "_target_" not in model_cfg:
        raise ConfigError("model._target_", "missing; e.g. model=xgboost or model=logistic")
    estimator = construct("model", {str(k): v for k, v in model_cfg.items()})
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise ConfigError(
            "model._target_",
            f"{model_cfg['_target_']} is not a scikit-learn-API estimator (no fit/get_params)",
        )
    valid = set(estimator.get_params(deep=True))
    for name in space.names:
        if name not in valid:
            close = difflib.get_close_matches(name, sorted(valid), 1)
            hint = f"did you mean {close[0]!r}?" if close else "see the estimator's get_params()"
            raise ConfigError(
                f"search_space.{name}",
                f"{type(estimator).__name__} has no parameter {name!r}; {hint}",
            )
    return estimator


def check_scorer(metric: str, goal: str, key: str = "metric.primary_metric") -> None:
    """``metric`` must be a scikit-learn scorer name; those are greater-is-better."""
    from sklearn.metrics import get_scorer_names

    names = sorted(get_scorer_names())
    if metric not in names:
        close = difflib.get_close_matches(metric, names, 3)
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else "see sklearn.metrics.get_scorer_names()"
        )
        raise ConfigError(key, f"unknown scikit-learn scorer {metric!r}; {hint}")
    if goal != "maximize":
        raise ConfigError(
            "metric.goal",
            f"scikit-learn scorers are greater-is-better ({metric} included), got goal={goal}; "
            "use metric.goal=maximize",
        )


def also_metrics(cfg: DictConfig) -> list[str]:
    """``metric.also``: more scorer names, checked (known, not the primary, no repeats)."""
    also = cfg.metric.get("also") or []
    if isinstance(also, str):
        also = [also]
    names = [str(n) for n in also]
    primary = str(cfg.metric.primary_metric)
    for i, name in enumerate(names):
        check_scorer(name, "maximize", key=f"metric.also[{i}]")
        if name == primary or name in names[:i]:
            raise ConfigError(
                f"metric.also[{i}]", f"{name!r} is already computed; list each metric once"
            )
    return names


def save_model(estimator: Any, run_dir: Path) -> None:
    """``run_dir/model.joblib``, written atomically."""
    import joblib

    fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".tmp", dir=run_dir)
    os.close(fd)
    try:
        joblib.dump(estimator, tmp)
        os.replace(tmp, run_dir / "model.joblib")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CrossValidationKind(TrainerKind):
    """``trainer.kind=cv``: K-fold CV of ``model`` scored by ``metric.primary_metric``; intervals
    per fold, or per boosting round with ``policy.interval_unit=round``."""

    name = "cv"

    def check(self, parts: KindCheck) -> Any:
        from hpt.data import check_dataset

        cfg = parts.cfg
        estimator = build_model(cfg, parts.space)
        from hpt.trainers._splits import check_cv_config

        check_scorer(parts.metric, parts.goal)
        also = also_metrics(cfg)
        check_dataset(cfg.dataset, cfg.features)
        n_splits = cfg.cv.n_splits
        if not isinstance(n_splits, int) or isinstance(n_splits, bool) or n_splits < 2:
            raise ConfigError("cv.n_splits", f"must be an integer >= 2, got {n_splits!r}")
        check_cv_config(cfg.cv, cfg.dataset)
        error_score_value(cfg.cv.error_score)
        if also and parts.interval_unit == "round":
            raise ConfigError(
                "metric.also",
                "extra metrics are computed per fold; use policy.interval_unit=fold with them",
            )
        if parts.interval_unit == "round":
            from hpt.trainers._rounds import BoostingRoundTrainer

            BoostingRoundTrainer.validate(estimator, parts.metric, report_every=parts.report_every)
        return estimator

    def build(self, exp: Experiment, dataset: Any, run_dir: Path | None) -> Trainer:
        from sklearn.base import clone

        from hpt.trainers._cv import CrossValidationTrainer, apply_thread_limit
        from hpt.trainers._splits import make_folds

        cv_cfg = exp.cfg.cv
        estimator = apply_thread_limit(
            clone(exp.estimator), int(exp.cfg.resources.threads_per_trial)
        )
        groups = getattr(dataset, "groups", None)
        folds = make_folds(cv_cfg, estimator, dataset.X, dataset.y, groups)
        if len(folds) != int(cv_cfg.n_splits):
            raise ConfigError(
                "cv.n_splits",
                f"is {cv_cfg.n_splits} but cv.kind={cv_cfg.kind} makes {len(folds)} folds of "
                f"this data; set cv.n_splits={len(folds)}",
            )
        kwargs: dict[str, Any] = {
            "error_score": error_score_value(cv_cfg.error_score),
            "return_train_score": bool(cv_cfg.return_train_score),
            "sample_weight": getattr(dataset, "sample_weight", None),
        }
        trainer: CrossValidationTrainer
        if exp.interval_unit == "round":
            from hpt.trainers._rounds import BoostingRoundTrainer

            trainer = BoostingRoundTrainer(
                estimator,
                dataset.X,
                dataset.y,
                folds,
                exp.metric,
                report_every=exp.report_every,
                **kwargs,
            )
        else:
            trainer = CrossValidationTrainer(
                estimator,
                dataset.X,
                dataset.y,
                folds,
                exp.metric,
                also=also_metrics(exp.cfg),
                **kwargs,
            )
        # sweep.share_work: each worker builds the folds' matrices once (hpt.trainers._shared).
        trainer.share_folds = bool(OmegaConf.select(exp.cfg, "sweep.share_work", default=True))
        _note_streaming(dataset.X, estimator)
        return trainer

    def refit(
        self,
        exp: Experiment,
        dataset: Any,
        params: dict[str, Any],
        run_dir: Path,
        state: SweepState | None = None,
    ) -> Any:
        from sklearn.base import clone

        from hpt.trainers._cv import apply_thread_limit

        started = time.perf_counter()
        estimator = apply_thread_limit(clone(exp.estimator), os.cpu_count() or 1)
        estimator.set_params(**params)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            weight = getattr(dataset, "sample_weight", None)
            fit_params = {} if weight is None else {"sample_weight": weight}
            estimator.fit(dataset.X, dataset.y, **fit_params)
        for item in {f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught}:
            log.info("refit warning: %s", item)
        save_model(estimator, run_dir)
        log.info(
            "refit the best configuration on all %d rows in %.1fs",
            dataset.X.shape[0],
            time.perf_counter() - started,
        )
        return estimator


class ScriptKind(TrainerKind):
    """``trainer.kind=script``: a user's training script per trial, reporting with ``hpt.log``."""

    name = "script"
    needs_dataset = False

    def check(self, parts: KindCheck) -> Any:
        from hpt.trainers._script import ScriptTrainer

        ScriptTrainer.validate(parts.cfg.trainer, interval_unit=parts.interval_unit)
        return None

    def n_folds(self, cfg: DictConfig) -> int | None:
        return None

    def build(self, exp: Experiment, dataset: Any, run_dir: Path | None) -> Trainer:
        from hpt.trainers._script import ScriptTrainer

        log_dir = None if run_dir is None else run_dir / "trials"
        return ScriptTrainer.from_config(exp.cfg, exp.metric, log_dir=log_dir)

    def worker_modules(self, exp: Experiment) -> list[str]:
        return []


def _note_streaming(X: Any, estimator: Any) -> None:
    from hpt.trainers._boosting import boosting_library
    from hpt.trainers._streamed import should_stream

    if should_stream(X, boosting_library(estimator)):
        log.info(
            "folds of the %d x %d %s table (%.2f GB) go to XGBoost in row chunks, not copied "
            "(hpt.trainers._streamed)",
            *X.shape,
            X.dtype,
            X.nbytes / 1e9,
        )
