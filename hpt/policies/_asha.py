"""ASHA: asynchronous successive halving, stopping variant (Ray Tune, Syne Tune)."""

from __future__ import annotations

from hpt.policies._base import Snapshot, StopReason, TerminationPolicy, _check_int

__all__ = ["AshaPolicy"]


class AshaPolicy(TerminationPolicy):
    """Asynchronous successive halving in its *stopping* form, as in Ray Tune's
    ``AsyncHyperBandScheduler`` and Syne Tune's ``ASHA(type="stopping")``.

    Parameters: ``max_interval`` (the number of intervals a full trial reports; required),
    ``reduction_factor`` (int >= 2, default 3), ``grace_period`` (the first rung, int >= 1,
    default 1), and the common ``evaluation_interval`` / ``delay_evaluation``.

    **Rungs.** ``grace_period * reduction_factor ** i`` for ``i = 0, 1, ...`` that are strictly
    below ``max_interval``: a trial that reached ``max_interval`` has spent its budget, and
    stopping it would save nothing. ``grace_period=1, reduction_factor=3, max_interval=81``
    gives rungs 1, 3, 9, 27.

    **Rule.** A running trial is judged when its latest interval ``n`` is a rung (and is due
    under ``evaluation_interval`` / ``delay_evaluation``). The trials that have reached that
    rung are every trial (running or finished, including this one) with ``>= n`` values, each
    scored by its value at interval ``n``. With ``N`` of them, the top ``1/reduction_factor``
    is the ``ceil(N / reduction_factor)`` best; the trial is stopped when at least that many
    are strictly better than it, i.e. its value is strictly worse than the
    ``ceil(N / reduction_factor)``-th best score (the reported threshold). Rounding up keeps the
    best trial at every rung (a lone trial is never stopped) and ties never stop a trial. The
    counts are integers and the rule only ranks reported values, so it is exact: a value equal
    to the cut-off survives.

    Unlike Ray Tune, which compares with the trials that reached the rung *before* this one, the
    comparison uses every trial that has reached the rung by now: the policy is a pure function
    of the history, so the decision does not depend on the order reports arrived in.

    >>> policy = AshaPolicy(max_interval=9, reduction_factor=3)
    >>> policy.rungs
    (1, 3)
    >>> history = {"a": [0.9, 0.9, 0.95], "b": [0.8, 0.85, 0.9], "c": [0.7, 0.75, 0.7]}
    >>> sorted(policy.decide(history, goal="maximize", running={"b", "c"}))
    ['b', 'c']
    """

    rule = "asha"

    def __init__(
        self,
        *,
        max_interval: int,
        reduction_factor: int = 3,
        grace_period: int = 1,
        evaluation_interval: int = 1,
        delay_evaluation: int = 0,
    ) -> None:
        super().__init__(evaluation_interval=evaluation_interval, delay_evaluation=delay_evaluation)
        self.reduction_factor: int = _check_int(
            "reduction_factor",
            reduction_factor,
            low=2,
            fix="pass an integer such as 3 (keep the top third at each rung)",
        )
        self.grace_period: int = _check_int(
            "grace_period",
            grace_period,
            low=1,
            fix="pass the first interval at which trials are compared, such as 1",
        )
        max_fix = "pass the number of intervals a full trial reports, such as 100"
        self.max_interval: int = _check_int("max_interval", max_interval, low=2, fix=max_fix)
        if self.max_interval <= self.grace_period:
            raise ValueError(
                f"max_interval must be > grace_period ({self.grace_period}), "
                f"got {self.max_interval}; {max_fix}, or lower grace_period"
            )
        rungs: list[int] = []
        rung = self.grace_period
        while rung < self.max_interval:
            rungs.append(rung)
            rung *= self.reduction_factor
        self.rungs: tuple[int, ...] = tuple(rungs)
        self._rung_set: frozenset[int] = frozenset(rungs)
        # Catch a schedule that can never stop anything (e.g. rungs 1, 3, 9 with
        # evaluation_interval=2) here, rather than as a sweep that silently never prunes.
        if not any(self._due(r) for r in self.rungs):
            raise ValueError(
                f"no rung of {self.rungs} is evaluated with evaluation_interval="
                f"{self.evaluation_interval} and delay_evaluation={self.delay_evaluation}; "
                "pick a grace_period that is a multiple of evaluation_interval and at least "
                "delay_evaluation, or keep the defaults evaluation_interval=1, delay_evaluation=0"
            )

    def judge(self, trial_id: str, interval: int, snapshot: Snapshot) -> StopReason | None:
        if interval not in self._rung_set:
            return None
        cutoff = snapshot.once(self._cutoff_at, interval)
        value = snapshot.history[trial_id][interval - 1]
        return snapshot.stop_if_worse(value, cutoff, interval=interval, rule=self.rule)

    def _cutoff_at(self, snapshot: Snapshot, n: int) -> float:
        """The ``ceil(N / reduction_factor)``-th best score at rung ``n``."""
        scores = [values[n - 1] for values in snapshot.history.values() if len(values) >= n]
        # The evaluated trial is among the scores, so 1 <= keep <= len(scores).
        keep = -(-len(scores) // self.reduction_factor)  # ceil, in exact integers
        return snapshot.kth_best(scores, keep)

    def _params(self) -> dict[str, object]:
        return {
            "max_interval": self.max_interval,
            "reduction_factor": self.reduction_factor,
            "grace_period": self.grace_period,
            **super()._params(),
        }
