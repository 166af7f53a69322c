"""Median stopping: stop trials whose best is worse than the median of running averages."""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from hpt.policies._base import Cutoff, Snapshot, StopReason, TerminationPolicy

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
        median = snapshot.once(_median_of_running_averages, interval)
        own_best = snapshot.best_upto(trial_id, interval)
        return snapshot.stop_if_worse(own_best, median, interval=interval, rule=self.rule)


def _median_of_running_averages(snapshot: Snapshot, n: int) -> Cutoff:
    """The median, over every trial that reported, of its mean over intervals ``1..n``."""
    means = [_mean_upto(snapshot, tid, n) for tid, values in snapshot.history.items() if values]
    return _median(means)


def _median(means: Sequence[Cutoff]) -> Cutoff:
    """The median of a non-empty list: the middle value, or the mean of the two middle ones."""
    ordered = sorted(means)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


# Decimal addition with room for every digit: a sum of floats' decimals is never rounded (the
# Inexact trap would say so), and it runs in C, far faster than adding Fractions.
_EXACT = decimal.Context(
    prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.Inexact]
)


def _mean_upto(snapshot: Snapshot, trial_id: str, n: int) -> Cutoff:
    """The mean of the trial's first ``n`` values (all if fewer), exact when they are finite.

    Values are read as the decimals they print as. In floats the mean of ``[0.8, 0.8, 0.8]`` is
    ``0.8000000000000002``, which would make a trial's best worse than its own average, and stop
    it, on a rounding error; and the mean of ``[0.1, 0.2]`` taken exactly on the binary floats
    is a hair above ``0.15``. Summed as decimals, the mean, the median and the comparison are
    the ones a person computes by hand, and negating every value negates them exactly.

    >>> snapshot = Snapshot({"a": [0.8, 0.8, 0.8], "b": [0.1, 0.2]}, set(), maximize=True)
    >>> _mean_upto(snapshot, "a", 3), _mean_upto(snapshot, "b", 5)
    (Fraction(4, 5), Fraction(3, 20))
    """
    prefix = snapshot.once(_prefix_sums, trial_id)
    count = min(n, len(prefix))
    total, positive, negative = prefix[count - 1]
    if not positive and not negative:
        return Fraction(total) / count
    # Some value is infinite (NaN was already replaced): the mean is that infinity, or
    # undefined when both signs occur, which is read as the worst value, like a NaN report.
    if positive and negative:
        return -math.inf if snapshot.maximize else math.inf
    return math.inf if positive else -math.inf


def _prefix_sums(snapshot: Snapshot, trial_id: str) -> list[tuple[Decimal, int, int]]:
    """For each prefix of the trial's values: the exact decimal sum of its finite values and
    how many are ``+inf`` and ``-inf``."""
    out: list[tuple[Decimal, int, int]] = []
    total, positive, negative = Decimal(0), 0, 0
    for value in snapshot.history[trial_id]:
        if math.isfinite(value):
            total = _EXACT.add(total, Decimal(repr(float(value))))
        elif value > 0:
            positive += 1
        else:
            negative += 1
        out.append((total, positive, negative))
    return out
