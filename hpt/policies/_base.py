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

**Exact arithmetic.** Each reported value and each parameter is read as the decimal it prints as
(its shortest round-trip ``repr``: ``0.6`` is 3/5, not the binary float nearest to it), and
every threshold is computed from those decimals in exact rationals and compared exactly. So
``BanditPolicy(slack_amount=0.2)`` with a best of ``0.8`` puts the cut-off at exactly ``0.6`` and
a trial at ``0.6`` survives, where float arithmetic (``0.8 - 0.2 == 0.6000000000000001``) would
stop it. Distinct floats print as distinct decimals in the same order, so rules that only rank
values (truncation, ASHA) decide as they would on the floats. :class:`StopReason` reports the
exact cut-off rounded to the nearest float, for display.

**NaN.** A diverged trial may report NaN, which compares false with everything and would make
``max``/``sorted`` depend on order. Every policy reads a NaN as the worst possible value (``-inf``
when maximizing, ``+inf`` when minimizing), so a trial whose value at ``n`` is NaN ranks last,
and a NaN never becomes anyone's best. Infinite values are used as they are.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar, TypeVar, cast

__all__ = ["GOALS", "Cutoff", "Snapshot", "StopReason", "TerminationPolicy", "as_written"]

#: The accepted values of ``goal`` (HyperDrive's PrimaryMetricGoal, lower-cased).
GOALS = ("maximize", "minimize")

#: A cut-off, compared exactly: a :class:`~fractions.Fraction` computed from decimals (bandit's
#: threshold, a median), or a float used as it is: a reported value (truncation, ASHA), an
#: infinity, or NaN where none is defined (which stops nothing).
Cutoff = Fraction | float

_T = TypeVar("_T")
_K = TypeVar("_K", bound=Hashable)


def as_written(value: float) -> Cutoff:
    """``value`` as the decimal it prints as, exactly; infinities and NaN are returned as floats.

    ``repr`` gives the shortest decimal that reads back as the same float, i.e. what a user
    typed (``0.2``) or what a scorer meant (``3 / 5`` prints as ``0.6``). The mapping keeps the
    order of floats, so comparing two converted values agrees with comparing the floats.

    >>> as_written(0.8) - as_written(0.2) == as_written(0.6)
    True
    >>> 0.8 - 0.2 == 0.6
    False
    """
    number = float(value)
    return _decimal(number) if math.isfinite(number) else number


def _decimal(value: float) -> Fraction:
    """A finite ``value`` as the decimal it prints as (see :func:`as_written`)."""
    # float() first: numpy scalars repr as ``np.float64(...)``. Via Decimal, which parses the
    # string faster than Fraction's own parser does.
    return Fraction(Decimal(repr(float(value))))


@dataclass(frozen=True)
class StopReason:
    """Why a trial is stopped, for logs and reports.

    ``interval`` is the trial's latest interval ``n`` (when it was judged), ``value`` the trial's
    value that was compared (its best over ``1..n`` for bandit and median, its value at ``n`` for
    truncation and ASHA), ``threshold`` the cut-off that ``value`` is strictly worse than
    (computed exactly, reported as the nearest float; ``None`` for a rule without a single
    cut-off), and ``rule`` the policy's name (``"bandit"``, ``"median"``, ``"truncation"``,
    ``"asha"``).

    >>> StopReason(interval=3, value=0.5, threshold=0.6667, rule="bandit")
    StopReason(interval=3, value=0.5, threshold=0.6667, rule='bandit')
    """

    interval: int
    value: float
    threshold: float | None
    rule: str


class Snapshot:
    """The inputs of one :meth:`TerminationPolicy.explain` call, as
    :meth:`~TerminationPolicy.judge` sees them.

    ``history`` is the caller's history with every NaN replaced by the worst value for the goal
    (a copy; the caller's mapping is never modified), ``running`` the ids still running and
    ``maximize`` the goal. :meth:`once` shares a computation between the trials judged in this
    call (e.g. a cut-off per interval), so a policy that compares with "every trial at interval
    ``n``" costs one pass per interval, not one per trial.
    """

    __slots__ = ("_memo", "history", "maximize", "running")

    def __init__(
        self, history: Mapping[str, Sequence[float]], running: Set[str], maximize: bool
    ) -> None:
        self.history: Mapping[str, Sequence[float]] = history
        self.running: Set[str] = running
        self.maximize: bool = maximize
        self._memo: dict[tuple[Hashable, Hashable], object] = {}

    def once(self, compute: Callable[[Snapshot, _K], _T], key: _K) -> _T:
        """``compute(self, key)``, computed at most once per ``(compute, key)`` in this call.

        Pass a method or a module-level function as ``compute`` (a lambda made anew for each
        trial would never hit the cache).
        """
        memo_key = (compute, key)
        if memo_key not in self._memo:
            self._memo[memo_key] = compute(self, key)
        return cast(_T, self._memo[memo_key])

    def best(self, values: Iterable[float]) -> float:
        """The best of a non-empty collection of values."""
        return max(values) if self.maximize else min(values)

    def best_upto(self, trial_id: str, n: int) -> float:
        """The best of trial ``trial_id``'s first ``n`` values (all of them if it has fewer);
        it must have reported at least one."""
        running_best = self.once(_running_best, trial_id)
        return running_best[min(n, len(running_best)) - 1]

    def kth_best(self, scores: Sequence[float], k: int) -> float:
        """The ``k``-th best score (1-based, ties counted separately), ``1 <= k <= len(scores)``.

        A value is strictly worse than this cut-off exactly when at least ``k`` scores are
        strictly better than it, so rank rules ("stopped if at least k members are strictly
        better") become one comparison with a threshold that :class:`StopReason` can report.

        >>> Snapshot({}, set(), maximize=True).kth_best([0.9, 0.5, 0.7, 0.7], 3)
        0.7
        """
        return sorted(scores, reverse=self.maximize)[k - 1]

    def is_worse(self, value: float, cutoff: Cutoff) -> bool:
        """Whether ``value`` is strictly worse than ``cutoff``, compared exactly as decimals.

        A float ``cutoff`` (a reported value, as truncation and ASHA use, or an infinity) is
        compared as a float: :func:`as_written` keeps the order of floats, so the answer is the
        same and nothing needs converting.
        """
        if isinstance(cutoff, float):
            return value < cutoff if self.maximize else value > cutoff
        exact = as_written(value)
        return exact < cutoff if self.maximize else exact > cutoff

    def stop_if_worse(
        self, value: float, cutoff: Cutoff, *, interval: int, rule: str
    ) -> StopReason | None:
        """A :class:`StopReason` when ``value`` is strictly worse than ``cutoff`` (see
        :meth:`is_worse`), else ``None``; the reason's threshold is ``cutoff`` as a float."""
        if not self.is_worse(value, cutoff):
            return None
        return StopReason(interval=interval, value=value, threshold=float(cutoff), rule=rule)


def _running_best(snapshot: Snapshot, trial_id: str) -> list[float]:
    """``[best of values[:1], best of values[:2], ...]`` for one trial."""
    pick = max if snapshot.maximize else min
    out: list[float] = []
    for value in snapshot.history[trial_id]:
        out.append(pick(out[-1], value) if out else value)
    return out


class TerminationPolicy:
    """Base class of the early-termination policies; the sweep accepts instances of it only.

    :meth:`explain` is a template: it checks ``goal``, replaces NaN (see the module docs), picks
    the running trials due for evaluation under ``evaluation_interval`` / ``delay_evaluation``
    and asks :meth:`judge` about each one, at its latest interval. A subclass implements
    :meth:`judge` and sets :attr:`rule`; :meth:`decide` is always ``set(explain(...))`` so the
    two can never disagree. A rule that cannot decide one trial at a time may override
    :meth:`explain` instead, keeping its contract (``hpt.testing.policies.PolicyContract``
    checks it).

    The constructor validates the parameters shared by every policy and raises
    :class:`ValueError` with a one-line message naming the parameter, the value and the fix.

    A policy of one's own, stopping trials whose latest value is below a fixed floor:

    >>> class StopBelow(TerminationPolicy):
    ...     rule = "floor"
    ...
    ...     def __init__(self, floor: float, **schedule: int) -> None:
    ...         super().__init__(**schedule)
    ...         self.floor = floor
    ...
    ...     def judge(self, trial_id, interval, snapshot):
    ...         latest = snapshot.history[trial_id][interval - 1]
    ...         return snapshot.stop_if_worse(latest, self.floor, interval=interval, rule=self.rule)
    >>> StopBelow(0.5).explain({"a": [0.4], "b": [0.5]}, goal="maximize", running={"a", "b"})
    {'a': StopReason(interval=1, value=0.4, threshold=0.5, rule='floor')}

    >>> from hpt.policies import MedianStoppingPolicy
    >>> MedianStoppingPolicy(evaluation_interval=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: evaluation_interval must be >= 1, got 0; pass a positive number of intervals ...
    """

    #: The name a :class:`StopReason` carries (``"bandit"``, ``"median"``, ...).
    rule: ClassVar[str] = "custom"

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

    def explain(
        self,
        history: Mapping[str, Sequence[float]],
        *,
        goal: str,
        running: Set[str],
    ) -> dict[str, StopReason]:
        """For each running trial to stop now, the :class:`StopReason`, in trial-id order.

        Same inputs as :meth:`decide`.
        """
        maximize = _is_maximize(goal)
        snapshot = Snapshot(_sanitized(history, maximize), running, maximize)
        reasons: dict[str, StopReason] = {}
        for tid, n in self._due_trials(snapshot.history, running):
            reason = self.judge(tid, n, snapshot)
            if reason is not None:
                reasons[tid] = reason
        return reasons

    def judge(self, trial_id: str, interval: int, snapshot: Snapshot) -> StopReason | None:
        """Why running trial ``trial_id``, due at its latest ``interval``, is stopped, or ``None``.

        Called by :meth:`explain` only, with ``1 <= interval == len(snapshot.history[trial_id])``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement judge(trial_id, interval, snapshot) "
            "(or override explain)"
        )

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


# --- parameter validation: one family, one message shape ---------------------------------------
# Every check raises ValueError("<name> must be <constraint>, got <value>; <fix>"), one line.


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


def _invalid(name: str, constraint: str, value: object, fix: str) -> ValueError:
    return ValueError(f"{name} must be {constraint}, got {_fmt(value)}; {fix}")


def _check_int(name: str, value: object, *, low: int, high: int | None = None, fix: str) -> int:
    """``value`` as an ``int`` in ``[low, high]``, or a one-line :class:`ValueError`."""
    # bool is an int subclass, but ``delay_evaluation=True`` is a mistake, not the number 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _invalid(name, "an integer", value, fix)
    number = int(value)
    if number < low or (high is not None and number > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise _invalid(name, bound, number, fix)
    return number


def _check_positive(name: str, value: object, *, fix: str) -> float:
    """``value`` as a finite ``float`` > 0, or a one-line :class:`ValueError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _invalid(name, "a number", value, fix)
    number = float(value)
    if not number > 0:  # written this way so that NaN is rejected too
        raise _invalid(name, "> 0", value, fix)
    if number == math.inf:
        raise _invalid(name, "finite", value, fix)
    return number


def _check_bool(name: str, value: object, *, fix: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (not ``0``/``1``/``"yes"``), else a ValueError."""
    if not isinstance(value, bool):
        raise _invalid(name, "True or False", value, fix)
    return value
