"""Truncation selection: stop the lowest-ranked percentage of trials, compared at equal age."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set

from hpt.policies._base import Snapshot, StopReason, TerminationPolicy, _check_bool, _check_int

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
    ``k`` is computed in integers and the rule only ranks reported values, so it is exact: a
    value equal to the cut-off survives.

    Example, 20%: five trials at interval 2 with values 0.9, 0.8, 0.7, 0.6, 0.5 give ``N = 5``,
    ``k = 1``; the 0.5 trial has 4 = N - k better members and is stopped, the 0.6 trial has 3.

    >>> history = {"a": [0.1, 0.9], "b": [0.1, 0.8], "c": [0.1, 0.7], "d": [0.1, 0.6],
    ...            "e": [0.1, 0.5]}
    >>> policy = TruncationSelectionPolicy(truncation_percentage=20)
    >>> policy.decide(history, goal="maximize", running=set(history))
    {'e'}
    """

    rule = "truncation"

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
        self.exclude_finished_jobs: bool = _check_bool(
            "exclude_finished_jobs", exclude_finished_jobs, fix="pass a boolean"
        )

    def judge(self, trial_id: str, interval: int, snapshot: Snapshot) -> StopReason | None:
        cutoff = snapshot.once(self._cutoff_at, interval)
        value = snapshot.history[trial_id][interval - 1]
        return snapshot.stop_if_worse(value, cutoff, interval=interval, rule=self.rule)

    def _cutoff_at(self, snapshot: Snapshot, n: int) -> float:
        """The ``(N - k)``-th best score of the population at interval ``n``."""
        scores = self._population(snapshot.history, snapshot.running, n)
        # The evaluated trial itself has >= n values, so N >= 1 and, as percentage <= 99,
        # k <= N - 1: N - k >= 1 is a valid rank. Integers, so the percentile cut is exact.
        size = len(scores)
        k = size * self.truncation_percentage // 100
        return snapshot.kth_best(scores, size - k)

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
