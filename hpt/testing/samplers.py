"""The contract every sampler honours, as a pytest suite to subclass.

A sampler proves conformance with one subclass that overrides the ``make_sampler`` fixture, a
factory ``(space, seed) -> Sampler``::

    # tests/test_my_sampler.py
    import pytest

    from hpt.testing.samplers import SamplerContract
    from my_project.samplers import SobolSampler


    class TestSobolSampler(SamplerContract):
        @pytest.fixture
        def make_sampler(self):
            return SobolSampler  # or lambda space, seed: SobolSampler(space, seed, scramble=True)

The checks:

* the factory makes a :class:`~hpt.samplers.Sampler`; every proposal names exactly the space's
  dimensions, with a value each dimension can produce;
* the same space and seed give the same proposals (in this process and in another one, when
  the factory can be pickled: a class or a module-level function);
* on a finite space whose ``size`` the sampler reports, it proposes that many distinct
  configurations and then ``None``;
* with ``history_independent = True`` (the default; grid, random), the proposal for trial ``n``
  does not depend on the history nor on the order of asking, so a resumed sweep continues
  exactly where it stopped;
* with ``continuous = True`` (the default), the sampler accepts continuous dimensions, reports
  ``size`` ``None`` for them, and different seeds give different proposals.
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

try:
    import pytest
except ImportError as exc:  # pragma: no cover - the suite runs under pytest
    raise ImportError("hpt.testing.samplers is a pytest suite; pip install pytest") from exc

from hpt.samplers import Sampler
from hpt.space import LogUniform, SearchSpace, Uniform
from hpt.trial import TrialRecord, TrialStatus

__all__ = ["FINITE", "MIXED", "SamplerContract", "SamplerFactory"]

SamplerFactory = Callable[[SearchSpace, int], Sampler]

#: A finite space of 3 * 4 * 2 = 24 configurations.
FINITE: dict[str, Any] = {"a": [1, 2, 3], "b": "randint(4)", "c": ["x", "y"]}
#: A space with continuous dimensions (log-uniform, uniform) and discrete ones.
MIXED: dict[str, Any] = {
    "lr": "loguniform(-5, -1)",
    "depth": "randint(8)",
    "sub": "uniform(0.5, 1.0)",
    "obj": "binary",
}

# Run in a fresh interpreter: unpickle (factory, space config, seed, count) from stdin, print
# the proposals' repr.
_CHILD = (
    "import pickle, sys\n"
    "from hpt.space import SearchSpace\n"
    "factory, spec, seed, count = pickle.loads(sys.stdin.buffer.read())\n"
    "sampler = factory(SearchSpace.from_config(spec), seed)\n"
    "print(repr([sampler.suggest(n, []) for n in range(count)]))\n"
)


def record(number: int, params: Mapping[str, Any]) -> TrialRecord:
    """A completed trial with a score that depends on its parameters only, for the history."""
    score = (sum(ord(ch) for ch in repr(sorted(params.items()))) % 97) / 97
    return TrialRecord(
        trial_id=f"{number:04d}",
        number=number,
        params=dict(params),
        status=TrialStatus.COMPLETED,
        values=(score,),
        value=score,
    )


def propose_all(sampler: Sampler, limit: int) -> list[dict[str, Any]]:
    """Proposals for trials 0, 1, ... in order, each seeing the earlier ones as completed
    trials, until ``None`` or ``limit`` proposals."""
    history: list[TrialRecord] = []
    out: list[dict[str, Any]] = []
    for number in range(limit):
        params = sampler.suggest(number, history)
        if params is None:
            break
        out.append(params)
        history.append(record(number, params))
    return out


def check_in_space(space: SearchSpace, params: Mapping[str, Any]) -> None:
    """Assert that ``params`` names exactly the space's dimensions, each with a valid value."""
    assert sorted(params) == space.names, f"{params} does not name exactly {space.names}"
    for name, dist in space.dimensions:
        value = params[name]
        if dist.is_discrete:
            assert value in dist.values(), f"{name}={value!r} is not one of {dist}"
            continue
        assert isinstance(value, float | int) and math.isfinite(value), f"{name}={value!r}"
        if isinstance(dist, Uniform):
            assert dist.low <= value <= dist.high, f"{name}={value} is outside {dist}"
        if isinstance(dist, LogUniform):
            low, high = math.exp(dist.low), math.exp(dist.high)
            assert low * (1 - 1e-12) <= value <= high * (1 + 1e-12), f"{name}={value}: {dist}"


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


class SamplerContract:
    """Subclass and override the ``make_sampler`` fixture (see the module docstring)."""

    #: Trial ``n``'s proposal depends on ``(seed, n)`` only, not on the history.
    history_independent: ClassVar[bool] = True
    #: The sampler accepts continuous dimensions (a grid does not).
    continuous: ClassVar[bool] = True
    #: Proposals drawn on the continuous space per check.
    draws: ClassVar[int] = 30

    @pytest.fixture
    def make_sampler(self) -> SamplerFactory:
        """A factory ``(space, seed) -> Sampler`` for the sampler under test."""
        raise NotImplementedError(
            f"{type(self).__name__} must override the `make_sampler` fixture to return a "
            "factory (space, seed) -> Sampler"
        )

    def _spaces(self) -> list[dict[str, Any]]:
        return [FINITE, MIXED] if self.continuous else [FINITE]

    def test_makes_a_sampler_that_proposes_inside_the_space(
        self, make_sampler: SamplerFactory
    ) -> None:
        for spec in self._spaces():
            space = SearchSpace.from_config(spec)
            sampler = make_sampler(space, 0)
            assert isinstance(sampler, Sampler)
            proposals = propose_all(sampler, self.draws)
            assert proposals, f"{type(sampler).__name__} proposed nothing on {spec}"
            for params in proposals:
                check_in_space(space, params)

    def test_same_seed_same_proposals(self, make_sampler: SamplerFactory) -> None:
        for spec in self._spaces():
            space = SearchSpace.from_config(spec)
            first = propose_all(make_sampler(space, 3), self.draws)
            assert first == propose_all(make_sampler(space, 3), self.draws)

    def test_finite_space_is_exhausted_without_repeats(self, make_sampler: SamplerFactory) -> None:
        space = SearchSpace.from_config(FINITE)
        sampler = make_sampler(space, 3)
        if sampler.size is None:
            pytest.skip("the sampler reports no size on a finite space")
        assert sampler.size == space.grid_size == 24
        proposals = propose_all(sampler, 100)
        assert len(proposals) == 24, "a finite space must be proposed in full, then None"
        assert len({_key(p) for p in proposals}) == 24, "a configuration was proposed twice"
        history = [record(n, p) for n, p in enumerate(proposals)]
        assert sampler.suggest(24, history) is None

    def test_proposal_depends_on_seed_and_number_only(self, make_sampler: SamplerFactory) -> None:
        if not self.history_independent:
            pytest.skip("history_independent = False: the sampler learns from the history")
        for spec in self._spaces():
            space = SearchSpace.from_config(spec)
            sampler = make_sampler(space, 5)
            in_order = propose_all(sampler, self.draws)
            count = len(in_order)
            # Asked backwards, with no history at all: the same answers.
            backwards = [sampler.suggest(n, []) for n in reversed(range(count))]
            assert backwards == list(reversed(in_order))
            # A fresh sampler asked for one number only agrees too.
            assert make_sampler(space, 5).suggest(count - 1, []) == in_order[-1]

    def test_continuous_space(self, make_sampler: SamplerFactory) -> None:
        if not self.continuous:
            pytest.skip("continuous = False: the sampler takes discrete dimensions only")
        space = SearchSpace.from_config(MIXED)
        one = make_sampler(space, 0)
        assert one.size is None
        other = make_sampler(space, 1)
        assert propose_all(one, self.draws) != propose_all(other, self.draws)

    def test_identical_in_another_process(self, make_sampler: SamplerFactory) -> None:
        try:
            payload = pickle.dumps((make_sampler, self._spaces()[-1], 7, 5))
        except (pickle.PicklingError, AttributeError, TypeError):
            pytest.skip("the factory cannot be pickled; return a class or a module-level function")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        child = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=payload,
            capture_output=True,
            env=env,
            check=False,
            timeout=120,
        )
        assert child.returncode == 0, child.stderr.decode(errors="replace")
        here = make_sampler(SearchSpace.from_config(self._spaces()[-1]), 7)
        assert child.stdout.decode().strip() == repr([here.suggest(n, []) for n in range(5)])
