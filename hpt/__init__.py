"""hpt: declarative, distributed hyperparameter tuning.

>>> import hpt
>>> result = hpt.tune({"dataset": {"kind": "sklearn", "name": "iris"}, ...})  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpt._metrics_log import log
from hpt.errors import ConfigError, HptError, SweepAborted

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hpt.api import TuneResult


def tune(cfg: Any, run_dir: Any = None) -> TuneResult:
    """Run a sweep; see :func:`hpt.api.tune`."""
    from hpt.api import tune as _tune

    return _tune(cfg, run_dir)


def resume(run_dir: Any, **kwargs: Any) -> TuneResult | None:
    """Continue an interrupted sweep; see :func:`hpt.api.resume`."""
    from hpt.api import resume as _resume

    return _resume(run_dir, **kwargs)


__all__ = ["ConfigError", "HptError", "SweepAborted", "__version__", "log", "resume", "tune"]
