"""Cost-frugal proposals: keep each AutoML iteration's expected cost within what the budget allows.

Under a time budget, one unlucky draw (500 extra trees on 12 classes, 1000 LightGBM rounds at a
learning rate of 0.01) can take a quarter of the whole budget and still score worse than a small
model. So, like FLAML's cost-frugal search, an ensemble grows only as fast as it is measured:

* **Growth.** A family's size (``n_estimators``, or ``max_iter`` for scikit-learn's boosting) may
  be at most :data:`GROWTH` times the largest size of that family that has completed (its
  warm-start default while none has).
* **Allowance.** Given ``allowance`` (worker-seconds one iteration may take: a share of the
  experiment's budget, or the iteration timeout), a family's measured seconds per unit of work
  (size x the fraction of features each tree reads) caps the size so that the expected cost fits.
  A family without a size whose cheapest completed iteration took longer than the allowance (an
  RBF SVM on many rows) is not proposed again.

Costs come from the journal's fold times, so the same history always gives the same caps (a
resumed sweep proposes exactly what it would have).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpt.automl.space import DEFAULTS, lowest
from hpt.trial import TrialRecord, TrialStatus

#: family -> the parameter its cost grows with
SIZE_PARAMS = {
    "lightgbm": "n_estimators",
    "xgboost": "n_estimators",
    "random_forest": "n_estimators",
    "extra_trees": "n_estimators",
    "gradient_boosting": "max_iter",
}
GROWTH = 2.0
#: share of the experiment's worker-seconds one iteration may be expected to take
TRIAL_SHARE = 0.2


def allowance_seconds(
    budget_minutes: float | None, workers: int | None, iteration_timeout_minutes: float | None
) -> float | None:
    """Worker-seconds one iteration may take: :data:`TRIAL_SHARE` of the budget's worker-seconds
    (one worker when the count is not set), and at most 80 % of the iteration timeout; ``None``
    when neither is set."""
    limits = []
    if budget_minutes:
        limits.append(budget_minutes * 60.0 * max(1, workers or 1) * TRIAL_SHARE)
    if iteration_timeout_minutes:
        limits.append(iteration_timeout_minutes * 60.0 * 0.8)
    return min(limits) if limits else None


#: boosting family -> (the parameter that sets a tree's size, whether it counts leaves)
TREE_SIZE_PARAMS = {
    "xgboost": ("max_depth", False),
    "lightgbm": ("num_leaves", True),
    "gradient_boosting": ("max_leaf_nodes", True),
}


def _tree_levels(params: Mapping[str, Any]) -> float:
    """Levels of one boosted tree: histogram boosting passes over the rows once per level, so a
    tree's cost grows with its depth (a depth-10 XGBoost tree costs about 2.5 depth-4 trees),
    not with its leaf count. 1 for the forests, whose depth the data sets."""
    param, leaves = TREE_SIZE_PARAMS.get(str(params["model"]), ("", False))
    value = params.get(param)
    if not isinstance(value, int | float) or value <= 1:
        return 1.0
    return max(1.0, math.log2(float(value))) if leaves else float(value)


def _work_units(params: Mapping[str, Any]) -> float:
    """Relative work of an iteration of a sized family: size x fraction of features read x the
    levels of each boosted tree."""
    family = str(params["model"])
    size = float(params[SIZE_PARAMS[family]])
    fraction = params.get("max_features", params.get("colsample_bytree", 1.0))
    fraction = float(fraction if isinstance(fraction, int | float) else 1.0)
    return size * fraction * _tree_levels(params)


@dataclass
class _Family:
    rates: list[float] = field(default_factory=list)  # seconds per work unit
    cheapest: float = math.inf  # seconds of its cheapest measured iteration
    largest: int = 0  # largest completed size


class CostModel:
    """What the trials before one proposal measured (see the module docstring)."""

    def __init__(self, history: Sequence[TrialRecord], allowance: float | None) -> None:
        self.allowance = allowance
        self.families: dict[str, _Family] = {}
        finished = [r for r in history if r.status is TrialStatus.COMPLETED and r.folds]
        n_folds = max((len(r.folds) for r in finished), default=0)
        for record in history:
            if record.status not in (TrialStatus.COMPLETED, TrialStatus.TERMINATED):
                continue
            if not record.folds or n_folds == 0:
                continue
            done = sum(f.fit_time + f.score_time for f in record.folds)
            seconds = done * n_folds / len(record.folds)  # a stopped trial, extrapolated
            family = str(record.params.get("model"))
            entry = self.families.setdefault(family, _Family())
            entry.cheapest = min(entry.cheapest, seconds)
            size_key = SIZE_PARAMS.get(family)
            if size_key is None or size_key not in record.params:
                continue
            entry.rates.append(seconds / max(_work_units(record.params), 1e-9))
            if record.status is TrialStatus.COMPLETED:
                entry.largest = max(entry.largest, int(record.params[size_key]))

    def affordable(self, params: Mapping[str, Any]) -> bool:
        """False for a family without a size whose cheapest iteration exceeded the allowance."""
        family = str(params.get("model"))
        entry = self.families.get(family)
        if self.allowance is None or family in SIZE_PARAMS or entry is None:
            return True
        return entry.cheapest <= self.allowance

    def frugal(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with its size capped by growth and by the allowance (a new dict)."""
        family = str(params.get("model"))
        size_key = SIZE_PARAMS.get(family)
        if size_key is None or size_key not in params:
            return params
        entry = self.families.get(family, _Family())
        default = int(DEFAULTS[family][size_key])
        cap = max(default, GROWTH * entry.largest) if entry.largest else float(default)
        if self.allowance is not None and entry.rates:
            rate = sum(entry.rates) / len(entry.rates)
            per_size = rate * _work_units(params) / float(params[size_key])
            cap = min(cap, self.allowance / max(per_size, 1e-9))
        cap = max(cap, lowest(family, size_key))
        out = dict(params)
        out[size_key] = min(int(params[size_key]), int(cap))
        return out
