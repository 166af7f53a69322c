"""Truncation selection: stop the lowest-ranked percentage of trials, compared at equal age."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set

from hpt.policies._base import (
    StopReason,
    TerminationPolicy,
    _check_int,
    _is_better,
    _is_maximize,
    _kth_best,
    _sanitized,
)

__all__ = ["TruncationSelectionPolicy"]


class TruncationSelectionPolicy(TerminationPolicy):
    """HyperDrive's ``TruncationSelectionPolicy``: cancel the worst X% at each interval.

    ``truncation_percentage`` is an int in 1..99; ``exclude_finished_jobs`` (default ``False``)
    leaves finished trials that are shorter than ``n`` out of the population.

    **Rule.** For a running trial evaluated at its latest interval ``n``, the population is

    * every trial (running or finished, including this one) that has reported at interval ``n``
      (has ``>= n`` values), scored by its value **at** interval ``n`` -- never by a later one,
      so a young trial is not ranked against what older trials reached with more training;
    * plus, unless ``exclude_finished_jobs``, every finished trial with fewer than ``n`` values,
      scored by its last value (it will never report at ``n``, and its final result is the best
      evidence of how it compares). Running trials with fewer than ``n`` values are left out:
      they are judged when they reach ``n``.

    With ``N`` members and ``k = floor(N * truncation_percentage / 100)``, the trial is stopped
    when at least ``N - k`` members are strictly better than it. Equivalently its value is
    strictly worse than the ``(N - k)``-th best score, which :class:`StopReason` reports as the
    threshold. Ties never stop a trial, and since ``k < N`` the best trial is never stopped.

    Example, 20%: five trials at interval 2 with values 0.9, 0.8, 0.7, 0.6, 0.5 give ``N = 5``,
    ``k = 1``; the 0.5 trial has 4 = N - k better members and is stopped, the 0.6 trial has 3.

    >>> history = {"a": [0.1, 0.9], "b": [0.1, 0.8], "c": [0.1, 0.7], "d": [0.1, 0.6],
    ...            "e": [0.1, 0.5]}
    >>> policy = TruncationSelectionPolicy(truncation_percentage=20)
    >>> policy.decide(history, goal="maximize", running=set(history))
    {'e'}
    """

    def __init__(
        self,
        *,
        truncation_percentage: int,
        exclude_finished_jobs: bool = False,
        evaluation_interval: int = 1,
        delay_evaluation: int = 0,
    ) -> None:
        super().__init__(evaluation_interval=evaluation_interval, delay_evaluation=delay_evaluation)
        self.truncation_percentage: int = _check_int(
            "truncation_percentage",
            truncation_percentage,
            low=1,
            high=99,
            fix="pass a whole percentage such as 20 (stop the worst 20% at each interval)",
        )
        if not isinstance(exclude_finished_jobs, bool):
            raise ValueError(
                f"exclude_finished_jobs must be True or False, got {exclude_finished_jobs!r}; "
                "pass a boolean"
            )
        self.exclude_finished_jobs: bool = exclude_finished_jobs

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
        cutoff_at: dict[int, float] = {}  # shared by trials evaluated at the same n
        for tid, n in self._due_trials(history, running):
            if n not in cutoff_at:
                scores = self._population(history, running, n)
                # The evaluated trial itself has >= n values, so size >= 1 and, as
                # percentage <= 99, k <= size - 1: needed >= 1 is a valid rank.
                size = len(scores)
                k = size * self.truncation_percentage // 100  # exact integer floor
                cutoff_at[n] = _kth_best(scores, size - k, maximize)
            value = history[tid][n - 1]
            if _is_better(cutoff_at[n], value, maximize):
                reasons[tid] = StopReason(
                    interval=n, value=value, threshold=cutoff_at[n], rule="truncation"
                )
        return reasons

    def _population(
        self, history: Mapping[str, Sequence[float]], running: Set[str], n: int
    ) -> list[float]:
        """The scores compared at interval ``n`` (see the class docstring)."""
        scores = [values[n - 1] for values in history.values() if len(values) >= n]
        if not self.exclude_finished_jobs:
            scores += [
                values[-1]
                for tid, values in history.items()
                if tid not in running and 0 < len(values) < n
            ]
        return scores

    def _params(self) -> dict[str, object]:
        return {
            "truncation_percentage": self.truncation_percentage,
            "exclude_finished_jobs": self.exclude_finished_jobs,
            **super()._params(),
        }
