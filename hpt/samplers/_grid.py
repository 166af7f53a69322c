from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hpt.errors import ConfigError
from hpt.samplers._base import Sampler
from hpt.space import SearchSpace
from hpt.trial import TrialRecord


class GridSampler(Sampler):
    """Every configuration of a discrete space, in scikit-learn's ``ParameterGrid`` order.

    Only ``choice``, ``randint`` and fixed values are allowed: a continuous dimension has no grid.
    """

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        for name, dist in space.dimensions:
            if not dist.is_discrete:
                raise ConfigError(
                    f"search_space.{name}",
                    f"grid sampling needs discrete dimensions, got {dist}; "
                    "use choice(...) (e.g. choice(0.01, 0.1)) or sampler=random",
                )
        super().__init__(space, seed)

    @property
    def size(self) -> int:
        size = self.space.grid_size
        assert size is not None  # guaranteed by the constructor's check
        return size

    def suggest(self, number: int, history: Sequence[TrialRecord]) -> dict[str, Any] | None:
        if number >= self.size:
            return None
        return self.space.grid_point(number)
