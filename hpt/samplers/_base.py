from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from hpt.space import SearchSpace
from hpt.trial import TrialRecord


class Sampler(ABC):
    """Proposes configurations. Strategy only: a sampler never runs or schedules anything.

    Contract:

    * ``suggest(number, history)`` returns the parameters of trial ``number`` (0, 1, 2, ... in
      order) or ``None`` when the space is exhausted. ``history`` holds every earlier trial, running
      or finished, so adaptive samplers can learn from it.
    * Samplers that do not learn (grid, random) return the same answer for the same ``number``
      whatever the history, so results never depend on which trial finished first, and a resumed
      sweep continues exactly where it stopped.
    * ``size`` is the number of distinct configurations it can propose, or ``None`` if unbounded.
    * ``exhausted(number, history)`` tells cheaply whether ``suggest`` would return ``None``
      (``hpt resume`` asks it; a model-based ``suggest`` is expensive to probe).
    """

    needs_goal: ClassVar[bool] = False  # True: the experiment passes ``goal=metric.goal``

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        self.space = space
        self.seed = int(seed)

    @abstractmethod
    def suggest(self, number: int, history: Sequence[TrialRecord]) -> dict[str, Any] | None:
        """Parameters for trial ``number``, or ``None`` when there is nothing left to try."""

    @property
    def size(self) -> int | None:
        return None

    def exhausted(self, number: int, history: Sequence[TrialRecord]) -> bool:
        """Whether nothing is left to propose for trial ``number``. Must not train or fit anything.

        The default holds for samplers that propose ``size`` distinct configurations, one per
        trial number; override it when ``suggest`` can run out earlier.
        """
        size = self.size
        return size is not None and number >= size
