"""Bandit policy: stop trials that fall too far behind the best trial so far."""

from __future__ import annotations

from fractions import Fraction

from hpt.policies._base import (
    Cutoff,
    Snapshot,
    StopReason,
    TerminationPolicy,
    _check_positive,
    _decimal,
    _fmt,
    _is_maximize,
    as_written,
)

__all__ = ["BanditPolicy"]

_FACTOR_FIX = "pass a positive ratio such as 0.1"
_AMOUNT_FIX = "pass a positive distance in metric units such as 0.2"


class BanditPolicy(TerminationPolicy):
    """HyperDrive's ``BanditPolicy``: a slack allowed behind the best trial.

    Exactly one of ``slack_factor`` (a ratio) or ``slack_amount`` (a distance in metric units)
    is given, and it must be > 0.

    **Rule.** A running trial evaluated at its latest interval ``n`` is stopped when its best
    value over its intervals ``1..n`` is strictly less good than the threshold ("less than" in
    the seed's wording: a trial exactly at the threshold survives). ``B`` is the best value that
    any trial (running or finished, including this one) reported at an interval ``<= n``, so a
    trial is never judged against what others reached only after more training.

    * ``slack_amount = a``: threshold ``B - a`` (maximize), ``B + a`` (minimize).
    * ``slack_factor = s``: HyperDrive's ``B / (1 + s)`` (maximize) and ``B * (1 + s)``
      (minimize). Those formulas assume a positive metric; for a negative ``B`` (e.g.
      ``neg_log_loss``) they would move the threshold past ``B`` and stop the best trial, so
      the factor is applied to the magnitude: ``B - |B| * s / (1 + s)`` (maximize) and
      ``B + |B| * s`` (minimize). Both equal HyperDrive's formulas when ``B >= 0`` and the
      threshold is never better than ``B``, so the best trial is never stopped.

    ``B``, ``a`` and ``s`` are read as the decimals they print as and the threshold is computed
    and compared exactly (see :mod:`hpt.policies._base`): with ``slack_amount=0.2`` and ``B =
    0.8`` the threshold is exactly ``0.6``, and a trial at ``0.6`` survives.

    Seed example: the best accuracy so far is 0.8. With ``slack_factor=0.2`` the threshold is
    ``0.8 / 1.2 = 2/3 = 0.6667``; with ``slack_amount=0.2`` it is ``0.8 - 0.2 = 0.6``.

    >>> history = {"best": [0.8], "ok": [0.62], "bad": [0.55], "edge": [0.6]}
    >>> running = set(history)
    >>> sorted(BanditPolicy(slack_factor=0.2).decide(history, goal="maximize", running=running))
    ['bad', 'edge', 'ok']
    >>> sorted(BanditPolicy(slack_amount=0.2).decide(history, goal="maximize", running=running))
    ['bad']
    """

    rule = "bandit"

    def __init__(
        self,
        *,
        slack_factor: float | None = None,
        slack_amount: float | None = None,
        evaluation_interval: int = 1,
        delay_evaluation: int = 0,
    ) -> None:
        super().__init__(evaluation_interval=evaluation_interval, delay_evaluation=delay_evaluation)
        if slack_factor is None and slack_amount is None:
            raise ValueError(
                "BanditPolicy needs exactly one of slack_factor or slack_amount, got neither; "
                "pass e.g. slack_factor=0.1 (a ratio) or slack_amount=0.2 (metric units)"
            )
        if slack_factor is not None and slack_amount is not None:
            raise ValueError(
                "BanditPolicy needs exactly one of slack_factor or slack_amount, got both "
                f"(slack_factor={_fmt(slack_factor)}, slack_amount={_fmt(slack_amount)}); "
                "drop one of them"
            )
        self.slack_factor: float | None = None
        self.slack_amount: float | None = None
        if slack_factor is not None:
            self.slack_factor = _check_positive("slack_factor", slack_factor, fix=_FACTOR_FIX)
        if slack_amount is not None:
            self.slack_amount = _check_positive("slack_amount", slack_amount, fix=_AMOUNT_FIX)
        # The slack as the decimal the user wrote; finite and > 0, so always a Fraction.
        slack = self.slack_factor if self.slack_factor is not None else self.slack_amount
        assert slack is not None  # exactly one is set, checked above
        self._slack: Fraction = _decimal(slack)

    def threshold(self, best: float, *, goal: str) -> float:
        """The cut-off for a best-so-far value ``best`` (``B`` in the class docstring).

        Computed exactly and rounded to the nearest float (the comparison itself uses the exact
        value).

        >>> BanditPolicy(slack_amount=0.2).threshold(0.8, goal="maximize")
        0.6
        >>> round(BanditPolicy(slack_factor=0.2).threshold(0.8, goal="maximize"), 4)
        0.6667
        >>> round(BanditPolicy(slack_factor=0.2).threshold(-0.5, goal="maximize"), 4)
        -0.5833
        """
        return float(self._exact_threshold(best, _is_maximize(goal)))

    def _exact_threshold(self, best: float, maximize: bool) -> Cutoff:
        b = as_written(best)
        if not isinstance(b, Fraction):
            # An infinite B is its own threshold. Maximizing, B = +inf leaves only other +inf
            # trials standing and B = -inf stops nobody; minimizing mirrors that. (In floats,
            # minimizing with B = -inf gave -inf + inf = nan, which stopped nobody.)
            return b
        if self.slack_amount is not None:
            return b - self._slack if maximize else b + self._slack
        s = self._slack
        if maximize:
            return b / (1 + s) if b >= 0 else b - abs(b) * s / (1 + s)
        return b * (1 + s) if b >= 0 else b + abs(b) * s

    def _threshold_at(self, snapshot: Snapshot, n: int) -> Cutoff:
        # Never empty: the evaluated trial itself has n >= 1 values. The best is found on the
        # floats, whose order equals that of the decimals, and only it is converted.
        best = snapshot.best(
            snapshot.best_upto(tid, n) for tid, values in snapshot.history.items() if values
        )
        return self._exact_threshold(best, snapshot.maximize)

    def judge(self, trial_id: str, interval: int, snapshot: Snapshot) -> StopReason | None:
        threshold = snapshot.once(self._threshold_at, interval)
        own_best = snapshot.best_upto(trial_id, interval)
        return snapshot.stop_if_worse(own_best, threshold, interval=interval, rule=self.rule)

    def _params(self) -> dict[str, object]:
        slack = (
            {"slack_factor": self.slack_factor}
            if self.slack_factor is not None
            else {"slack_amount": self.slack_amount}
        )
        return {**slack, **super()._params()}
