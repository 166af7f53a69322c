"""Local moves: a pipeline near the best one of its family.

With a handful of iterations per family, TPE's model of a family's own hyperparameters rests on a
few points and proposes mostly far from the family's best. FLAML's CFO does the opposite and
searches each learner locally, outwards from its cheapest configuration. hpt does both: once the
family of the next iteration is chosen (:mod:`hpt.automl.families`), the proposal is a
:func:`neighbour` of that family's best completed iteration while the family has fewer than three
iterations, and after that a share :data:`LOCAL_SHARE` of the time; the others are TPE's over the
family's own trials.

A neighbour keeps the family, keeps each categorical choice (but for a change with probability
:data:`SWITCH`), and moves each numeric hyperparameter by a normal step of :data:`STEP` in the
unit interval of its range (log-scaled where the space is), clipped to the range. The caller makes
it cost-frugal like any proposal. The random generator is seeded from ``(seed, number)``, so the
same history gives the same neighbour (resume proposes exactly).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hpt.automl.space import Ask
from hpt.trial import TrialRecord, TrialStatus

LOCAL_SHARE = 0.5
STEP = 0.15
SWITCH = 0.15


def scored(history: Sequence[TrialRecord]) -> list[TrialRecord]:
    """The completed trials of ``history`` with a finite value (the ones a search learns from)."""
    return [
        r
        for r in history
        if r.status is TrialStatus.COMPLETED and r.value is not None and math.isfinite(r.value)
    ]


def incumbent(history: Sequence[TrialRecord], goal: str) -> TrialRecord | None:
    """The best completed trial of ``history`` (the earliest among equals), or ``None``."""
    sign = 1.0 if goal == "maximize" else -1.0
    done = scored(history)
    if not done:
        return None
    return max(done, key=lambda r: (sign * float(r.value or 0.0), -r.number))


def _unit(value: float, low: float, high: float, log: bool) -> float:
    if high <= low:
        return 0.0
    if log:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def _from_unit(u: float, low: float, high: float, log: bool) -> float:
    if log:
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)


def neighbour(
    params: dict[str, Any],
    define: Callable[[Ask], dict[str, Any]],
    rng: np.random.Generator,
    step: float = STEP,
) -> dict[str, Any]:
    """A pipeline near ``params`` (see the module docstring), asked through ``define``."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    def source(name: str, scoped: str, d: Any) -> Any:
        current = params.get(name)
        if isinstance(d, CategoricalDistribution):
            choices = list(d.choices)
            if name == "model" and current in choices:
                return current
            if current in choices and rng.random() >= SWITCH:
                return current
            return choices[int(rng.integers(len(choices)))]
        low, high, log = float(d.low), float(d.high), bool(d.log)
        if isinstance(current, bool) or not isinstance(current, int | float):
            u = float(rng.random())  # a hyperparameter the incumbent lacks: anywhere
        else:
            u = _unit(min(max(float(current), low), high), low, high, log)
            u = min(1.0, max(0.0, u + float(rng.normal(0.0, step))))
        value = _from_unit(u, low, high, log)
        if isinstance(d, IntDistribution):
            return int(min(max(round(value), d.low), d.high))
        return min(max(value, low), high)

    return define(Ask(source))
