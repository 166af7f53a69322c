"""Median stopping: stop trials whose best is worse than the median of running averages."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set
from fractions import Fraction

from hpt.policies._base import (
    StopReason,
    TerminationPolicy,
    _best,
    _is_maximize,
    _sanitized,
)

__all__ = ["MedianStoppingPolicy"]


class MedianStoppingPolicy(TerminationPolicy):
    """HyperDrive's ``MedianStoppingPolicy``.

    **Rule.** For a running trial evaluated at its latest interval ``n``: every trial that has
    reported at least one value (running or finished) contributes the mean of its values over
    intervals ``1..n`` (all of its values if it has fewer than ``n``). The trial is stopped when
    its best value over ``1..n`` is strictly worse than the median of those means (for an even
    count, the mean of the two middle ones). Means, median and comparison are computed exactly
    (rationals), so a rounding error never stops a trial; the reported threshold is the median
    rounded to the nearest float.

    The evaluated trial's own mean is part of the median, as in HyperDrive's "median of the
    running averages across all training runs". Its best is never worse than its own mean, so a
    trial alone (or compared only with worse trials) is never stopped.

    Seed example, ``delay_evaluation=5``: at intervals 1-4 nothing is evaluated. At interval 5
    with running averages 0.70 (a), 0.60 (b) and 0.50 (c), the median is 0.60; c's best over
    1..5 is 0.55, worse than 0.60, so c is stopped; b's best 0.65 survives.

    >>> history = {
    ...     "a": [0.6, 0.7, 0.7, 0.75, 0.75],  # mean 0.70
    ...     "b": [0.55, 0.6, 0.6, 0.6, 0.65],  # mean 0.60, best 0.65
    ...     "c": [0.45, 0.5, 0.5, 0.55, 0.5],  # mean 0.50, best 0.55
    ... }
    >>> policy = MedianStoppingPolicy(delay_evaluation=5)
    >>> policy.decide(history, goal="maximize", running={"a", "b", "c"})
    {'c'}
    >>> policy.decide({k: v[:4] for k, v in history.items()}, goal="maximize", running={"c"})
    set()
    """

    def __init__(self, *, evaluation_interval: int = 1, delay_evaluation: int = 0) -> None:
        super().__init__(evaluation_interval=evaluation_interval, delay_evaluation=delay_evaluation)

    def explain(
        self,
        history: Mapping[str, Sequence[float]],
        *,
        goal: str,
        running: Set[str],
    ) -> dict[str, StopReason]:
        maximize = _is_maximize(goal)
        history = _sanitized(history, maximize)
        reasons: dict[str, StopReason] = {}
        median_at: dict[int, Fraction | float] = {}  # shared by trials evaluated at the same n
        for tid, n in self._due_trials(history, running):
            if n not in median_at:
                means = [_mean(values[:n], maximize) for values in history.values() if values]
                median_at[n] = _median(means)
            median = median_at[n]
            own_best = _best(history[tid][:n], maximize)
            # Compared exactly (Fraction against float): see _mean for why.
            if median > own_best if maximize else median < own_best:
                reasons[tid] = StopReason(
                    interval=n, value=own_best, threshold=float(median), rule="median"
                )
        return reasons


def _median(means: Sequence[Fraction | float]) -> Fraction | float:
    """The median of a non-empty list: the middle value, or the mean of the two middle ones."""
    ordered = sorted(means)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def _mean(values: Sequence[float], maximize: bool) -> Fraction | float:
    """The mean of ``values``, exact when they are all finite.

    In floats the mean of ``[0.8, 0.8, 0.8]`` is ``0.8000000000000002``, which would make a
    trial's best worse than its own average, and stop it, on a rounding error. A
    :class:`~fractions.Fraction` holds every float exactly, so the mean, the median and the
    comparison are the true ones, and negating every value negates them exactly.

    >>> _mean([0.8, 0.8, 0.8], maximize=True) == 0.8
    True
    """
    if all(math.isfinite(v) for v in values):
        return sum((Fraction(v) for v in values), Fraction(0)) / len(values)
    # Some value is infinite (NaN was already replaced): the mean is that infinity, or
    # undefined when both signs occur, which is read as the worst value, like a NaN report.
    infinities = {v for v in values if math.isinf(v)}
    if len(infinities) == 1:
        return infinities.pop()
    return -math.inf if maximize else math.inf
