"""Trainer kinds: one :class:`TrainerKind` per value of ``trainer.kind``.

A kind owns everything that differs between ways of evaluating a configuration: the checks of its
config section, whether it needs the dataset loaded on the driver, how many folds a trial has, how
the worker-side :class:`~hpt.trainers.Trainer` is built, and how the best configuration is refit.
The rest of hpt (experiment, sweep, CLI) asks the kind instead of branching on its name.

Kinds are registered by name with the import path of their class, so a kind's heavy imports happen
only when it is used: ``register_trainer_kind("automl", "hpt.automl:AutoMLKind")``.
"""

from __future__ import annotations

import difflib
import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hpt.errors import ConfigError

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from hpt.callbacks import SweepCallback
    from hpt.experiment import Experiment
    from hpt.space import SearchSpace
    from hpt.state import SweepState
    from hpt.trainers._base import Trainer


@dataclass(frozen=True)
class KindCheck:
    """What a kind's :meth:`TrainerKind.check` is given: the config and the parts already built."""

    cfg: DictConfig
    space: SearchSpace
    metric: str
    goal: str
    interval_unit: str
    report_every: int


class TrainerKind(ABC):
    """How one ``trainer.kind`` is validated, built and refit. Stateless; one instance per kind."""

    name: ClassVar[str]
    #: Whether the driver loads ``dataset``/``features`` (and ships them) for this kind.
    needs_dataset: ClassVar[bool] = True

    def prepare(self, cfg: DictConfig) -> DictConfig:
        """The config the experiment is built from: a kind with settings of its own (automl)
        derives the generic sections (metric, sampler, cv, resources) from them here, raising
        :class:`ConfigError` for bad ones. Must be deterministic: resume prepares again."""
        return cfg

    @abstractmethod
    def check(self, parts: KindCheck) -> Any:
        """Validate the kind's settings (raise :class:`ConfigError`); return the estimator the
        trials tune, or ``None`` when there is none (a training script)."""

    def n_folds(self, cfg: DictConfig) -> int | None:
        """Folds per trial (``None``: a trial is not cross-validated)."""
        return int(cfg.cv.n_splits)

    @abstractmethod
    def build(self, exp: Experiment, dataset: Any, run_dir: Path | None) -> Trainer:
        """The worker-side trainer over ``dataset`` (``None`` unless :attr:`needs_dataset`)."""

    def refit(
        self,
        exp: Experiment,
        dataset: Any,
        params: dict[str, Any],
        run_dir: Path,
        state: SweepState | None = None,
    ) -> Any:
        """Fit the best configuration on all rows and save it in ``run_dir``; ``None`` if the kind
        has nothing to refit. ``state`` is the ended sweep's (a kind may refit from several of
        its trials)."""
        return None

    def load_dataset(self, exp: Experiment) -> Any:
        """The sweep's data on the driver (called only when :attr:`needs_dataset`)."""
        from hpt.data import load_dataset
        from hpt.data._load import dtype_for

        dtype = dtype_for(exp.cfg.dataset, exp.estimator)
        return load_dataset(exp.cfg.dataset, exp.cfg.features, dtype=dtype)

    def sweep_callbacks(
        self, exp: Experiment, run_dir: Path, callbacks: list[SweepCallback]
    ) -> list[SweepCallback]:
        """The session's default callbacks for this kind (given the generic ones)."""
        return callbacks

    def worker_modules(self, exp: Experiment) -> list[str]:
        """Modules a worker may import while the driver loads the data (warm-up)."""
        modules = ["numpy", "scipy.sparse", "sklearn.base", "sklearn.metrics"]
        if exp.estimator is not None:
            modules.append(type(exp.estimator).__module__)
        return modules


_REGISTRY: dict[str, str] = {
    "cv": "hpt.trainers._kinds:CrossValidationKind",
    "script": "hpt.trainers._kinds:ScriptKind",
    "automl": "hpt.automl:AutoMLKind",
}
_INSTANCES: dict[str, TrainerKind] = {}


def register_trainer_kind(name: str, target: str) -> None:
    """Make ``trainer.kind=name`` build ``target`` (``"package.module:Class"``)."""
    _REGISTRY[name] = target
    _INSTANCES.pop(name, None)


def trainer_kinds() -> list[str]:
    return sorted(_REGISTRY)


def trainer_kind(name: str) -> TrainerKind:
    """The kind registered as ``name``; a :class:`ConfigError` listing the kinds otherwise."""
    if name not in _INSTANCES:
        target = _REGISTRY.get(name)
        if target is None:
            close = difflib.get_close_matches(name, trainer_kinds(), 1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                "trainer.kind", f"unknown {name!r}; {hint}use one of {', '.join(trainer_kinds())}"
            )
        module, _, attr = target.partition(":")
        kind = getattr(importlib.import_module(module), attr)()
        if not isinstance(kind, TrainerKind):
            raise ConfigError("trainer.kind", f"{target} is not a hpt TrainerKind")
        _INSTANCES[name] = kind
    return _INSTANCES[name]
