"""The null policy: every trial runs to completion."""

from __future__ import annotations

from hpt.policies._base import Snapshot, StopReason, TerminationPolicy

__all__ = ["NoTerminationPolicy"]


class NoTerminationPolicy(TerminationPolicy):
    """Never stops a trial (HyperDrive's ``NoTerminationPolicy``, the default).

    A null object, so the sweep loop can always call a policy instead of testing for ``None``.
    It takes no parameters; it still rejects an unknown ``goal`` so that a typo is caught even
    while early termination is off.

    >>> NoTerminationPolicy().decide({"a": [0.1], "b": [0.9]}, goal="maximize", running={"a"})
    set()
    """

    rule = "none"

    def __init__(self) -> None:
        super().__init__()

    def judge(self, trial_id: str, interval: int, snapshot: Snapshot) -> StopReason | None:
        # explain() has validated the goal already: the same inputs fail the same way for every
        # policy, so a typo is caught even while early termination is off.
        return None

    def _params(self) -> dict[str, object]:
        # The inherited evaluation_interval/delay_evaluation are fixed defaults, not arguments.
        return {}
