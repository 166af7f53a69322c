"""Bandit policy: stop trials that fall too far behind the best trial so far."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set

from hpt.policies._base import (
    StopReason,
    TerminationPolicy,
    _best,
    _check_positive,
    _fmt,
    _is_better,
    _is_maximize,
    _sanitized,
)

__all__ = ["BanditPolicy"]

_FACTOR_FIX = "pass a positive ratio such as 0.1"
_AMOUNT_FIX = "pass a positive distance in metric units such as 0.2"


class BanditPolicy(TerminationPolicy):
    """HyperDrive's ``BanditPolicy``: a slack allowed behind the best trial.

    Exactly one of ``slack_factor`` (a ratio) or ``slack_amount`` (a distance in metric units)
    is given, and it must be > 0.

    **Rule.** A running trial evaluated at its latest interval ``n`` is stopped when its best
    value over its intervals ``1..n`` is strictly worse than the threshold. ``B`` is the best
    value that any trial (running or finished, including this one) reported at an interval
    ``<= n``, so a trial is never judged against what others reached only after more training.

    * ``slack_amount = a``: threshold ``B - a`` (maximize), ``B + a`` (minimize).
    * ``slack_factor = s``: HyperDrive's ``B / (1 + s)`` (maximize) and ``B * (1 + s)``
      (minimize). Those formulas assume a positive metric; for a negative ``B`` (e.g.
      ``neg_log_loss``) they would move the threshold past ``B`` and stop the best trial, so
      the factor is applied to the magnitude: ``B - |B| * s / (1 + s)`` (maximize) and
      ``B + |B| * s`` (minimize). Both equal HyperDrive's formulas when ``B >= 0`` and the
      threshold is never better than ``B``, so the best trial is never stopped.

    Seed example: the best accuracy so far is 0.8. With ``slack_factor=0.2`` the threshold is
    ``0.8 / 1.2 = 0.6667``; with ``slack_amount=0.2`` it is ``0.8 - 0.2 = 0.6``.

    >>> history = {"best": [0.8], "ok": [0.62], "bad": [0.55]}
    >>> sorted(BanditPolicy(slack_factor=0.2).decide(
    ...     history, goal="maximize", running={"best", "ok", "bad"}))
    ['bad', 'ok']
    >>> sorted(BanditPolicy(slack_amount=0.2).decide(
    ...     history, goal="maximize", running={"best", "ok", "bad"}))
    ['bad']
    """

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

    def threshold(self, best: float, *, goal: str) -> float:
        """The cut-off for a best-so-far value ``best`` (``B`` in the class docstring).

        >>> round(BanditPolicy(slack_factor=0.2).threshold(0.8, goal="maximize"), 4)
        0.6667
        >>> round(BanditPolicy(slack_factor=0.2).threshold(-0.5, goal="maximize"), 4)
        -0.5833
        """
        maximize = _is_maximize(goal)
        if self.slack_amount is not None:
            return best - self.slack_amount if maximize else best + self.slack_amount
        assert self.slack_factor is not None  # the constructor guarantees exactly one is set
        s = self.slack_factor
        # For B >= 0 use HyperDrive's formulas literally, so thresholds match it to the last bit;
        # the magnitude form is the same number (up to rounding) and only matters when B < 0.
        if maximize:
            return best / (1 + s) if best >= 0 else best - abs(best) * s / (1 + s)
        return best * (1 + s) if best >= 0 else best + abs(best) * s

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
        best_upto: dict[int, float] = {}  # B per interval, shared by trials at the same n
        for tid, n in self._due_trials(history, running):
            if n not in best_upto:
                # Never empty: the evaluated trial itself has n >= 1 values.
                best_upto[n] = _best(
                    (v for values in history.values() for v in values[:n]), maximize
                )
            threshold = self.threshold(best_upto[n], goal=goal)
            own_best = _best(history[tid][:n], maximize)
            if _is_better(threshold, own_best, maximize):
                reasons[tid] = StopReason(
                    interval=n, value=own_best, threshold=threshold, rule="bandit"
                )
        return reasons

    def _params(self) -> dict[str, object]:
        slack = (
            {"slack_factor": self.slack_factor}
            if self.slack_factor is not None
            else {"slack_amount": self.slack_amount}
        )
        return {**slack, **super()._params()}
