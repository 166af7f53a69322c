"""Median stopping: stop trials whose best is worse than the median of running averages."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from hpt.policies._base import Cutoff, Snapshot, StopReason, TerminationPolicy, _decimal

__all__ = ["MedianStoppingPolicy"]


class MedianStoppingPolicy(TerminationPolicy):
    """HyperDrive's ``MedianStoppingPolicy``.

    **Rule.** For a running trial evaluated at its latest interval ``n``: every trial that has
    reported at least one value (running or finished) contributes the mean of its values over
    intervals ``1..n`` (all of its values if it has fewer than ``n``). The trial is stopped when
    its best value over ``1..n`` is strictly worse than the median of those means (for an even
    count, the mean of the two middle ones). Values are read as the decimals they print as and
    means, median and comparison are computed exactly (rationals), so a rounding error never
    stops a trial: a best exactly at the median survives; the reported threshold is the median
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

    rule = "median"

    def __init__(self, *, evaluation_interval: int = 1, delay_evaluation: int = 0) -> None:
        super().__init__(evaluation_interval=evaluation_interval, delay_evaluation=delay_evaluation)

    def judge(self, trial_id: str, interval: int, snapshot: Snapshot) -> StopReason | None:
        median = snapshot.per_interval(interval, _median_of_running_averages)
        own_best = snapshot.best(snapshot.history[trial_id][:interval])
        return snapshot.stop_if_worse(own_best, median, interval=interval, rule=self.rule)


def _median_of_running_averages(snapshot: Snapshot, n: int) -> Cutoff:
    """The median, over every trial that reported, of its mean over intervals ``1..n``."""
    means = [_mean(values[:n], snapshot.maximize) for values in snapshot.history.values() if values]
    return _median(means)


def _median(means: Sequence[Cutoff]) -> Cutoff:
    """The median of a non-empty list: the middle value, or the mean of the two middle ones."""
    ordered = sorted(means)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def _mean(values: Sequence[float], maximize: bool) -> Cutoff:
    """The mean of ``values`` (read as the decimals they print as), exact when all are finite.

    In floats the mean of ``[0.8, 0.8, 0.8]`` is ``0.8000000000000002``, which would make a
    trial's best worse than its own average, and stop it, on a rounding error; and the mean of
    ``[0.1, 0.2]`` taken exactly on the binary floats is a hair above ``0.15``. Summed as
    :class:`~fractions.Fraction` decimals, the mean, the median and the comparison are the ones
    a person computes by hand, and negating every value negates them exactly.

    >>> _mean([0.8, 0.8, 0.8], maximize=True)
    Fraction(4, 5)
    >>> _mean([0.1, 0.2], maximize=True)
    Fraction(3, 20)
    """
    if all(math.isfinite(v) for v in values):
        return sum(map(_decimal, values), Fraction(0)) / len(values)
    # Some value is infinite (NaN was already replaced): the mean is that infinity, or
    # undefined when both signs occur, which is read as the worst value, like a NaN report.
    infinities = {v for v in values if math.isinf(v)}
    if len(infinities) == 1:
        return infinities.pop()
    return -math.inf if maximize else math.inf
