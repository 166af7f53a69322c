"""The null policy: every trial runs to completion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set

from hpt.policies._base import StopReason, TerminationPolicy, _is_maximize

__all__ = ["NoTerminationPolicy"]


class NoTerminationPolicy(TerminationPolicy):
    """Never stops a trial (HyperDrive's ``NoTerminationPolicy``, the default).

    A null object, so the sweep loop can always call a policy instead of testing for ``None``.
    It takes no parameters; it still rejects an unknown ``goal`` so that a typo is caught even
    while early termination is off.

    >>> NoTerminationPolicy().decide({"a": [0.1], "b": [0.9]}, goal="maximize", running={"a"})
    set()
    """

    def __init__(self) -> None:
        super().__init__()

    def explain(
        self,
        history: Mapping[str, Sequence[float]],
        *,
        goal: str,
        running: Set[str],
    ) -> dict[str, StopReason]:
        _is_maximize(goal)  # validation only: the same inputs fail the same way for every policy
        return {}

    def _params(self) -> dict[str, object]:
        # The inherited evaluation_interval/delay_evaluation are fixed defaults, not arguments.
        return {}
