"""Samplers: the shipped contract (hpt.testing.samplers) for each built-in, plus what is
particular to one of them."""

from __future__ import annotations

import pytest

from hpt.errors import ConfigError
from hpt.samplers import GridSampler, RandomSampler
from hpt.space import SearchSpace
from hpt.testing.samplers import FINITE, MIXED, SamplerContract, SamplerFactory


class TestGridSampler(SamplerContract):
    continuous = False

    @pytest.fixture
    def make_sampler(self) -> SamplerFactory:
        return GridSampler


class TestRandomSampler(SamplerContract):
    @pytest.fixture
    def make_sampler(self) -> SamplerFactory:
        return RandomSampler


def test_grid_is_scikit_learns_parameter_grid_order() -> None:
    space = SearchSpace.from_config(FINITE)
    sampler = GridSampler(space)
    assert [sampler.suggest(n, []) for n in range(space.grid_size or 0)] == list(space.grid())
    # The seed plays no part in a grid.
    assert GridSampler(space, seed=9).suggest(5, []) == sampler.suggest(5, [])


def test_grid_rejects_continuous_dimensions() -> None:
    with pytest.raises(
        ConfigError, match=r"search_space\.lr: grid sampling needs discrete dimensions"
    ):
        GridSampler(SearchSpace.from_config(MIXED))


def test_random_on_continuous_space_is_seeded_per_trial() -> None:
    space = SearchSpace.from_config(MIXED)
    draws = [RandomSampler(space, seed=0).suggest(n, []) for n in range(50)]
    assert all(
        d is not None and 0.5 <= d["sub"] <= 1.0 and 0 <= d["depth"] < 8 and d["obj"] == "binary"
        for d in draws
    )
    # A permutation of the grid, not the grid order, on a finite space.
    finite = SearchSpace.from_config(FINITE)
    shuffled = [RandomSampler(finite, seed=0).suggest(n, []) for n in range(24)]
    assert shuffled != list(finite.grid())
