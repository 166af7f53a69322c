"""Experiment: validates a composed config and builds the sweep's parts. No algorithm lives here.

Every check runs before anything starts (no run dir, no worker, no data loaded), and each failure is
a :class:`ConfigError` naming the key, the value and the fix.
"""

from __future__ import annotations

import difflib
import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hpt.config import RESULT_KEYS, as_config
from hpt.errors import ConfigError
from hpt.limits import Limits
from hpt.policies import NoTerminationPolicy, TerminationPolicy
from hpt.samplers import Sampler
from hpt.space import SearchSpace
from hpt.trainers.factory import KindCheck, TrainerKind, trainer_kind

GOALS = ("maximize", "minimize")
INTERVAL_UNITS = ("fold", "round")


def locate(key: str, path: Any) -> Any:
    """Import ``package.module.Name``; a ConfigError with a close-match hint when it fails."""
    if not isinstance(path, str) or "." not in path:
        raise ConfigError(key, f"{path!r} is not an import path; write e.g. xgboost.XGBClassifier")
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(
            key, f"cannot import {path!r} ({err}); install the package or fix the path"
        ) from None
    if not hasattr(module, attr):
        close = difflib.get_close_matches(
            attr, [n for n in dir(module) if not n.startswith("_")], 1
        )
        hint = f"; did you mean {module_name}.{close[0]}?" if close else ""
        raise ConfigError(key, f"{module_name!r} has no attribute {attr!r}{hint}")
    return getattr(module, attr)


def _plain(node: Any) -> Any:
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)
    return node


def construct(key: str, node: Mapping[str, Any], **extra: Any) -> Any:
    """Build ``node['_target_'](**rest, **extra)`` with errors that name ``key``."""
    spec = dict(_plain(node) or {})
    target = spec.pop("_target_", None)
    if target is None:
        raise ConfigError(key, "has no _target_; set it to a class path")
    cls = locate(f"{key}._target_", target)
    try:
        return cls(**spec, **extra)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(key, f"{target}: {err}") from None


def _positive(key: str, value: Any, *, integer: bool, allow_zero: bool = False) -> None:
    if value is None:
        return
    bad = isinstance(value, bool) or not isinstance(value, int | float)
    bad = bad or (integer and not isinstance(value, int))
    bad = bad or (value < 0 if allow_zero else value <= 0)
    if bad or (isinstance(value, float) and math.isnan(value)):
        kind = "an integer" if integer else "a number"
        bound = ">= 0" if allow_zero else ">= 1" if integer else "> 0"
        raise ConfigError(key, f"must be {kind} {bound}, got {value!r}; omit it for no limit")


@dataclass
class Experiment:
    """The validated parts of one sweep, built from a composed :class:`HptConfig`."""

    cfg: DictConfig
    kind: TrainerKind
    space: SearchSpace
    sampler: Sampler
    policy: TerminationPolicy
    interval_unit: str
    report_every: int
    metric: str
    goal: str
    estimator: Any
    limits: Limits
    capacity: int | None

    @classmethod
    def from_config(cls, cfg: Any) -> Experiment:
        """Validate everything cheap to check and build the sweep's strategy objects."""
        cfg = as_config(cfg)
        kind = trainer_kind(str(cfg.trainer.kind))
        cfg = kind.prepare(cfg)
        space = SearchSpace.from_config(_plain(cfg.search_space) or {})
        metric = str(cfg.metric.primary_metric)
        goal = str(cfg.metric.goal)
        if goal not in GOALS:
            raise ConfigError("metric.goal", f"must be maximize or minimize, got {goal!r}")
        policy_cfg = dict(_plain(cfg.policy) or {})
        interval_unit = str(policy_cfg.pop("interval_unit", "fold"))
        report_every = policy_cfg.pop("report_every", 10)
        if interval_unit not in INTERVAL_UNITS:
            raise ConfigError(
                "policy.interval_unit", f"must be fold or round, got {interval_unit!r}"
            )
        _positive("policy.report_every", report_every, integer=True)
        estimator = kind.check(
            KindCheck(cfg, space, metric, goal, interval_unit, int(report_every))
        )
        sampler_cfg = _plain(cfg.sampler) or {"_target_": "hpt.samplers.GridSampler"}
        sampler_cfg.setdefault("seed", int(cfg.seed))
        if "_target_" in sampler_cfg and getattr(
            locate("sampler._target_", sampler_cfg["_target_"]), "needs_goal", False
        ):
            sampler_cfg.setdefault("goal", goal)  # a model must know which way is better
        sampler = construct("sampler", sampler_cfg, space=space)
        if not isinstance(sampler, Sampler):
            raise ConfigError("sampler._target_", f"{sampler_cfg['_target_']} is not a hpt Sampler")
        policy = (
            construct("policy", policy_cfg) if policy_cfg.get("_target_") else NoTerminationPolicy()
        )
        if not isinstance(policy, TerminationPolicy):
            raise ConfigError(
                "policy._target_",
                f"{policy_cfg['_target_']} is not a hpt TerminationPolicy; subclass "
                "hpt.policies.TerminationPolicy",
            )
        res = cfg.resources
        if sampler.size is None and res.max_total_runs is None and res.max_duration_minutes is None:
            raise ConfigError(
                "resources.max_total_runs",
                f"{type(sampler).__name__} over this space never runs out of configurations; "
                "set resources.max_total_runs=N (or resources.max_duration_minutes)",
            )
        _positive("resources.max_total_runs", res.max_total_runs, integer=True)
        _positive("resources.max_concurrent_runs", res.max_concurrent_runs, integer=True)
        _positive("resources.max_duration_minutes", res.max_duration_minutes, integer=False)
        _positive("resources.trial_timeout_minutes", res.trial_timeout_minutes, integer=False)
        _positive("resources.max_retries", res.max_retries, integer=True, allow_zero=True)
        _positive("resources.max_failed_runs", res.max_failed_runs, integer=True)
        _positive("resources.threads_per_trial", res.threads_per_trial, integer=True)
        compute = _plain(cfg.compute) or {}
        if "_target_" not in compute:
            raise ConfigError("compute", "has no _target_; use compute=local or compute=spark")
        launcher_class = locate("compute._target_", compute["_target_"])
        preflight = getattr(launcher_class, "preflight", None)
        if callable(preflight):
            preflight({k: v for k, v in compute.items() if k != "_target_"})
        from hpt.tracking import check_tracking

        check_tracking(cfg)
        n_folds = kind.n_folds(cfg)
        limits = Limits(
            max_total_runs=res.max_total_runs,
            max_duration_minutes=res.max_duration_minutes,
            trial_timeout_minutes=res.trial_timeout_minutes,
            max_retries=int(res.max_retries),
            max_failed_runs=res.max_failed_runs,
            error_score_raise=n_folds is not None and str(cfg.cv.error_score) == "raise",
            stop_at_score=res.stop_at_score,
        )
        return cls(
            cfg=cfg,
            kind=kind,
            space=space,
            sampler=sampler,
            policy=policy,
            interval_unit=interval_unit,
            report_every=int(report_every),
            metric=metric,
            goal=goal,
            estimator=estimator,
            limits=limits,
            capacity=res.max_concurrent_runs,
        )

    # -- parts -------------------------------------------------------------------------------
    @property
    def trainer_kind(self) -> str:
        return self.kind.name

    @property
    def n_folds(self) -> int | None:
        return self.kind.n_folds(self.cfg)

    def planned_trials(self) -> int | None:
        sizes = [s for s in (self.sampler.size, self.limits.max_total_runs) if s is not None]
        return min(sizes) if sizes else None

    def plan(self, capacity: int | None = None) -> list[str]:
        """Human-readable plan lines: trials, fits and the limits that will end the sweep."""
        trials = self.planned_trials()
        lines = [f"search space: {len(self.space.names)} dimension(s)"]
        lines += [f"  {line}" for line in self.space.describe()]
        sampler_name = type(self.sampler).__name__
        size = self.sampler.size
        lines.append(
            f"sampler: {sampler_name} ({'unbounded' if size is None else f'{size} configurations'})"
        )
        if trials is None:
            lines.append("trials: unbounded (set resources.max_total_runs or max_duration_minutes)")
        else:
            fits = (
                f", fits: {trials * self.n_folds} ({trials} x {self.n_folds} folds)"
                if self.n_folds
                else ""
            )
            lines.append(f"trials: {trials}{fits}")
            shared = _shared_plan_line(self, capacity or self.capacity)
            if shared:
                lines.append(shared)
        lines.append(f"metric: {self.metric} ({self.goal})")
        lines.append(f"policy: {type(self.policy).__name__} (interval unit: {self.interval_unit})")
        capacity = capacity or self.capacity
        if capacity is not None and trials is not None and capacity > trials:
            lines.append(
                f"concurrency: capped at {trials} (max_concurrent_runs={capacity} > trials)"
            )
        elif capacity is not None:
            lines.append(f"concurrency: {capacity}")
        ends = []
        if self.limits.max_total_runs is not None:
            ends.append(f"max_total_runs={self.limits.max_total_runs}")
        if self.limits.max_duration_minutes is not None:
            ends.append(f"max_duration_minutes={self.limits.max_duration_minutes}")
        if size is not None:
            ends.append("space exhausted")
        lines.append(f"ends at: {' or '.join(ends) if ends else 'never (no limit set)'}")
        return lines

    def result_config(self) -> dict[str, Any]:
        """The part of the config that determines results (compared on resume)."""
        from hpt.secrets import redact_config

        full = redact_config(self.cfg)
        return {k: full.get(k) for k in RESULT_KEYS}


def _shared_plan_line(exp: Experiment, capacity: int | None) -> str | None:
    """``"16 configurations, 40 fits instead of 80: n_estimators nested"`` when rounds nest."""
    from hpt.trainers._shared import plan_line

    return plan_line(exp, capacity)
