"""The contract every early-termination policy follows, and the helpers they share.

A policy is a pure function of the metric history: given every trial's primary-metric reports
(one value per *interval*, in order), the optimisation goal and the ids still running, it says
which running trials to stop now. It keeps no state between calls, reads no clock and does no
I/O, so a sweep can be replayed from its journal and reach the same decisions.

**When a trial is evaluated.** A running trial whose latest interval is ``n`` (``n`` = the number
of values it has reported) is evaluated when ``n >= 1``, ``n`` is a multiple of
``evaluation_interval`` and ``n >= delay_evaluation``. Each running trial is evaluated at its own
latest interval, so trials at different intervals are judged in the same call. A trial that has
reported nothing (or a running id missing from the history) has no value to judge and is never
stopped.

**"Better".** The larger value when the goal is ``"maximize"``, the smaller when it is
``"minimize"``. Every comparison that stops a trial is strict: a value equal to the cut-off
survives.

**NaN.** A diverged trial may report NaN, which compares false with everything and would make
``max``/``sorted`` depend on order. Every policy reads a NaN as the worst possible value (``-inf``
when maximizing, ``+inf`` when minimizing), so a trial whose value at ``n`` is NaN ranks last,
and a NaN never becomes anyone's best. Infinite values are used as they are.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass

__all__ = ["GOALS", "StopReason", "TerminationPolicy"]

#: The accepted values of ``goal`` (HyperDrive's PrimaryMetricGoal, lower-cased).
GOALS = ("maximize", "minimize")


@dataclass(frozen=True)
class StopReason:
    """Why a trial is stopped, for logs and reports.

    ``interval`` is the trial's latest interval ``n`` (when it was judged), ``value`` the trial's
    value that was compared (its best over ``1..n`` for bandit and median, its value at ``n`` for
    truncation and ASHA), ``threshold`` the cut-off that ``value`` is strictly worse than, and
    ``rule`` the policy's name (``"bandit"``, ``"median"``, ``"truncation"``, ``"asha"``).

    >>> StopReason(interval=3, value=0.5, threshold=0.6667, rule="bandit")
    StopReason(interval=3, value=0.5, threshold=0.6667, rule='bandit')
    """

    interval: int
    value: float
    threshold: float | None
    rule: str


class TerminationPolicy(ABC):
    """Base class of the early-termination policies.

    Subclasses implement :meth:`explain`; :meth:`decide` is always ``set(explain(...))`` so the
    two can never disagree. The constructor validates the parameters shared by every policy and
    raises :class:`ValueError` with a one-line message naming the parameter, the value and the
    fix.

    >>> from hpt.policies import MedianStoppingPolicy
    >>> MedianStoppingPolicy(evaluation_interval=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: evaluation_interval must be >= 1, got 0; pass a positive number of intervals ...
    """

    def __init__(self, *, evaluation_interval: int = 1, delay_evaluation: int = 0) -> None:
        self.evaluation_interval: int = _check_int(
            "evaluation_interval",
            evaluation_interval,
            low=1,
            fix="pass a positive number of intervals such as 1",
        )
        self.delay_evaluation: int = _check_int(
            "delay_evaluation",
            delay_evaluation,
            low=0,
            fix="pass 0 to evaluate from the first interval, or the number of intervals to wait",
        )

    def decide(
        self,
        history: Mapping[str, Sequence[float]],
        *,
        goal: str,
        running: Set[str],
    ) -> set[str]:
        """The ids in ``running`` to stop now.

        ``history`` maps every trial id (running or finished) to the primary-metric values it
        reported, in order; ``goal`` is ``"maximize"`` or ``"minimize"`` (anything else raises
        :class:`ValueError`). Finished trials take part in the comparisons but are never
        returned.
        """
        return set(self.explain(history, goal=goal, running=running))

    @abstractmethod
    def explain(
        self,
        history: Mapping[str, Sequence[float]],
        *,
        goal: str,
        running: Set[str],
    ) -> dict[str, StopReason]:
        """For each running trial to stop now, the :class:`StopReason`. Same inputs as
        :meth:`decide`."""

    def _due(self, n: int) -> bool:
        """Whether a trial whose latest interval is ``n`` is evaluated now."""
        # n == 0 is a multiple of every interval but there is no value to judge yet.
        return n >= 1 and n % self.evaluation_interval == 0 and n >= self.delay_evaluation

    def _due_trials(
        self, history: Mapping[str, Sequence[float]], running: Set[str]
    ) -> list[tuple[str, int]]:
        """``(trial id, latest interval)`` of every running trial evaluated now, sorted by id.

        Sorted so that the output (and the insertion order of :meth:`explain`'s dict) does not
        depend on set iteration order, which varies between processes; replay stays exact.
        """
        latest = ((tid, len(history.get(tid, ()))) for tid in sorted(running))
        return [(tid, n) for tid, n in latest if self._due(n)]

    def _params(self) -> dict[str, object]:
        """The constructor arguments, for ``repr`` and equality (subclasses add theirs first)."""
        return {
            "evaluation_interval": self.evaluation_interval,
            "delay_evaluation": self.delay_evaluation,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self._params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        # Same class and same arguments: a BanditPolicy never equals a subclass with equal params.
        if not isinstance(other, TerminationPolicy) or type(other) is not type(self):
            return NotImplemented
        return self._params() == other._params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self._params().items())))


# --- helpers shared by the concrete policies -------------------------------------------------


def _is_maximize(goal: str) -> bool:
    """``True`` for ``"maximize"``, ``False`` for ``"minimize"``; anything else is an error."""
    if goal not in GOALS:
        raise ValueError(
            f"goal must be 'maximize' or 'minimize', got {goal!r}; "
            "pass goal='maximize' (e.g. accuracy) or goal='minimize' (e.g. loss)"
        )
    return goal == "maximize"


def _sanitized(
    history: Mapping[str, Sequence[float]], maximize: bool
) -> Mapping[str, Sequence[float]]:
    """``history`` with every NaN replaced by the worst value for the goal (see module docs).

    Returns ``history`` itself when it has no NaN (the common case), never mutates it.
    """
    worst = -math.inf if maximize else math.inf
    if not any(math.isnan(v) for values in history.values() for v in values):
        return history
    return {tid: [worst if math.isnan(v) else v for v in values] for tid, values in history.items()}


def _is_better(a: float, b: float, maximize: bool) -> bool:
    """Whether ``a`` is strictly better than ``b``."""
    return a > b if maximize else a < b


def _best(values: Iterable[float], maximize: bool) -> float:
    """The best of a non-empty collection of values."""
    return max(values) if maximize else min(values)


def _kth_best(scores: Sequence[float], k: int, maximize: bool) -> float:
    """The ``k``-th best score (1-based, ties counted separately), ``1 <= k <= len(scores)``.

    A value is strictly worse than this cut-off exactly when at least ``k`` scores are strictly
    better than it, so rank-based rules ("stopped if at least k members are strictly better")
    become a single comparison with a threshold that :class:`StopReason` can report.

    >>> _kth_best([0.9, 0.5, 0.7, 0.7], 3, maximize=True)
    0.7
    """
    return sorted(scores, reverse=maximize)[k - 1]


def _fmt(value: object) -> str:
    """A parameter value as the user wrote it (``-1``, ``0.5``, ``'abc'``), for error messages."""
    if isinstance(value, bool):  # an int subclass, but the user wrote True/False
        return repr(value)
    # numpy scalars repr as ``np.float64(0.5)``; show the plain number instead.
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return repr(value)


def _check_int(name: str, value: object, *, low: int, high: int | None = None, fix: str) -> int:
    """``value`` as an ``int`` in ``[low, high]``, or a one-line :class:`ValueError`."""
    # bool is an int subclass, but ``delay_evaluation=True`` is a mistake, not the number 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {_fmt(value)}; {fix}")
    number = int(value)
    if number < low or (high is not None and number > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{name} must be {bound}, got {number}; {fix}")
    return number


def _check_positive(name: str, value: object, *, fix: str) -> float:
    """``value`` as a finite ``float`` > 0, or a one-line :class:`ValueError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {_fmt(value)}; {fix}")
    number = float(value)
    if not number > 0:  # written this way so that NaN is rejected too
        raise ValueError(f"{name} must be > 0, got {_fmt(value)}; {fix}")
    if number == float("inf"):
        raise ValueError(f"{name} must be finite, got {_fmt(value)}; {fix}")
    return number
