"""Samplers: grid order, seeded random draws, determinism across processes, no repeats."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hpt.errors import ConfigError
from hpt.samplers import GridSampler, RandomSampler, Sampler
from hpt.space import SearchSpace

MIXED = {
    "lr": "loguniform(-5, -1)",
    "depth": "randint(8)",
    "sub": "uniform(0.5, 1.0)",
    "obj": "binary",
}
FINITE = {"a": [1, 2, 3], "b": "randint(4)", "c": ["x", "y"]}


def _all(sampler: Sampler, limit: int = 1000) -> list[dict]:
    out = []
    for n in range(limit):
        params = sampler.suggest(n, [])
        if params is None:
            break
        out.append(params)
    return out


@pytest.mark.parametrize("cls", [GridSampler, RandomSampler])
def test_contract_same_number_same_answer_and_exhaustion(cls: type[Sampler]) -> None:
    space = SearchSpace.from_config(FINITE)
    a, b = cls(space, seed=3), cls(space, seed=3)
    first = _all(a)
    assert first == _all(b)
    assert len(first) == 24 and len({tuple(sorted(p.items())) for p in first}) == 24
    assert a.suggest(24, []) is None
    # the answer for trial n does not depend on the order of asking
    assert [a.suggest(n, []) for n in reversed(range(24))] == list(reversed(first))


def test_grid_rejects_continuous_dimensions() -> None:
    with pytest.raises(
        ConfigError, match=r"search_space\.lr: grid sampling needs discrete dimensions"
    ):
        GridSampler(SearchSpace.from_config(MIXED))


def test_random_on_continuous_space_is_seeded_per_trial() -> None:
    space = SearchSpace.from_config(MIXED)
    one = RandomSampler(space, seed=0)
    draws = [one.suggest(n, []) for n in range(50)]
    assert draws == [RandomSampler(space, seed=0).suggest(n, []) for n in range(50)]
    assert draws != [RandomSampler(space, seed=1).suggest(n, []) for n in range(50)]
    assert all(
        0.5 <= d["sub"] <= 1.0 and 0 <= d["depth"] < 8 and d["obj"] == "binary" for d in draws if d
    )
    assert one.size is None


def test_random_is_identical_in_another_process() -> None:
    code = (
        "from hpt.samplers import RandomSampler; from hpt.space import SearchSpace;"
        f"s=RandomSampler(SearchSpace.from_config({MIXED!r}), seed=7);"
        "print([s.suggest(n, []) for n in range(5)])"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    here = RandomSampler(SearchSpace.from_config(MIXED), seed=7)
    assert other.strip() == str([here.suggest(n, []) for n in range(5)])
