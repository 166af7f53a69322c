from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hpt.samplers._base import Sampler
from hpt.space import SearchSpace
from hpt.trial import TrialRecord

# Up to this many configurations a finite space is sampled as a seeded permutation of its grid:
# no repeats, and trial n's configuration depends on (seed, n) only.
_PERMUTE_LIMIT = 2_000_000


class RandomSampler(Sampler):
    """Independent random draws from every distribution, seeded per trial number.

    Trial ``n`` draws from ``numpy.random.default_rng([seed, n])``, so its configuration does not
    depend on which trials finished first. On a finite (all-discrete) space no configuration repeats:
    trials walk a seeded permutation of the grid and the sampler is exhausted after the last one.
    """

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        super().__init__(space, seed)
        self._permutation: np.ndarray | None = None
        self._keys: dict[int, tuple[tuple[str, Any], ...]] = {}  # trial number -> its params
        grid_size = space.grid_size
        if grid_size is not None and grid_size <= _PERMUTE_LIMIT:
            self._permutation = np.random.default_rng([self.seed, 2**31 - 1]).permutation(grid_size)

    @property
    def size(self) -> int | None:
        return self.space.grid_size

    def suggest(self, number: int, history: Sequence[TrialRecord]) -> dict[str, Any] | None:
        if self._permutation is not None:
            if number >= len(self._permutation):
                return None
            return self.space.grid_point(int(self._permutation[number]))
        size = self.space.grid_size
        if size is not None:
            # A huge finite space: redraw on collision with an earlier proposal (deterministic,
            # because proposals are made in trial-number order).
            for record in history:  # a cache of what was proposed, derived from the history alone
                if record.number not in self._keys:
                    self._keys[record.number] = tuple(sorted(record.params.items()))
            seen = {key for n, key in self._keys.items() if n < number}
            if len(seen) >= size:
                return None
            rng = np.random.default_rng([self.seed, number])
            while True:
                params = self.space.sample(rng)
                if tuple(sorted(params.items())) not in seen:
                    return params
        return self.space.sample(np.random.default_rng([self.seed, number]))
