"""Experiment tracking: ``tracking=mlflow`` logs each sweep to MLflow (``tracking=none``: off).

:func:`check_tracking` validates the ``tracking`` group before anything runs;
:func:`tracking_callbacks` gives the sweep callbacks for it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpt.callbacks import SweepCallback
from hpt.errors import ConfigError

if TYPE_CHECKING:
    from hpt.experiment import Experiment

KINDS = ("none", "mlflow")


def _tracking(cfg: Any) -> Any:
    return cfg.get("tracking") if hasattr(cfg, "get") else None


def check_tracking(cfg: Any) -> None:
    """Refuse an unknown ``tracking.kind`` or a missing MLflow before the sweep starts."""
    tracking = _tracking(cfg)
    kind = str(tracking.kind) if tracking is not None else "none"
    if kind not in KINDS:
        raise ConfigError("tracking.kind", f"must be none or mlflow, got {kind!r}")
    if kind == "mlflow" and importlib.util.find_spec("mlflow") is None:
        raise ConfigError(
            "tracking", "tracking=mlflow needs MLflow; install it with: pip install 'hpt[mlflow]'"
        )


def tracking_callbacks(exp: Experiment, run_dir: Path) -> list[SweepCallback]:
    """The callbacks ``exp``'s ``tracking`` group asks for (none by default)."""
    tracking = _tracking(exp.cfg)
    if tracking is None or str(tracking.kind) == "none":
        return []
    check_tracking(exp.cfg)
    from hpt.tracking._mlflow import MlflowTracker

    name = tracking.experiment_name or f"hpt-{exp.cfg.get('experiment') or exp.cfg.name}"
    return [
        MlflowTracker(
            run_dir,
            metric=exp.metric,
            tracking_uri=tracking.tracking_uri,
            experiment_name=str(name),
            log_model=bool(tracking.log_model),
        )
    ]
