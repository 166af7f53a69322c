"""The distributions of a search space (HyperDrive's parameter expressions); see :mod:`hpt.space`
for how they are written and parsed."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np


def _fmt(value: Any) -> str:
    return repr(value)


class Distribution(ABC):
    """One dimension of a search space. Immutable; ``sample`` draws one native Python value."""

    kind: ClassVar[str]

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value (a native Python scalar, never a numpy type)."""

    @property
    def is_discrete(self) -> bool:
        """Whether the dimension has a finite set of values that grid search can enumerate."""
        return False

    def values(self) -> list[Any]:
        """All values of a discrete dimension, in order. Only valid when ``is_discrete``."""
        raise TypeError(f"{self} is not discrete")

    @property
    def n_values(self) -> int:
        """How many values a discrete dimension has (without listing them, where possible)."""
        return len(self.values())

    @abstractmethod
    def expression(self) -> str:
        """The canonical expression string, e.g. ``uniform(0.05, 0.1)``; parses back equal."""

    def __str__(self) -> str:
        return self.expression()


@dataclass(frozen=True)
class Choice(Distribution):
    """``choice(v1, v2, ...)``: one of the listed values, uniformly."""

    options: tuple[Any, ...]
    kind: ClassVar[str] = "choice"

    def sample(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]

    @property
    def is_discrete(self) -> bool:
        return True

    def values(self) -> list[Any]:
        return list(self.options)

    def expression(self) -> str:
        return f"choice({', '.join(_fmt(v) for v in self.options)})"


@dataclass(frozen=True)
class RandInt(Distribution):
    """``randint(upper)``: an integer in ``[0, upper)``, uniformly (HyperDrive's definition)."""

    upper: int
    kind: ClassVar[str] = "randint"

    def sample(self, rng: np.random.Generator) -> Any:
        return int(rng.integers(self.upper))

    @property
    def is_discrete(self) -> bool:
        return True

    def values(self) -> list[Any]:
        return list(range(self.upper))

    @property
    def n_values(self) -> int:
        return self.upper

    def expression(self) -> str:
        return f"randint({self.upper})"


@dataclass(frozen=True)
class Uniform(Distribution):
    """``uniform(low, high)``: a float uniformly in ``[low, high]``."""

    low: float
    high: float
    kind: ClassVar[str] = "uniform"

    def sample(self, rng: np.random.Generator) -> Any:
        return float(rng.uniform(self.low, self.high))

    def expression(self) -> str:
        return f"uniform({_fmt(self.low)}, {_fmt(self.high)})"


@dataclass(frozen=True)
class LogUniform(Distribution):
    """``loguniform(low, high)``: ``exp(uniform(low, high))``; ``low``/``high`` are log-space."""

    low: float
    high: float
    linear: tuple[float, float] | None = None  # the bounds as written with bounds=linear
    kind: ClassVar[str] = "loguniform"

    def sample(self, rng: np.random.Generator) -> Any:
        return float(math.exp(rng.uniform(self.low, self.high)))

    def expression(self) -> str:
        if self.linear is not None:
            return f"loguniform({_fmt(self.linear[0])}, {_fmt(self.linear[1])}, bounds=linear)"
        return f"loguniform({_fmt(self.low)}, {_fmt(self.high)}, bounds=log)"


@dataclass(frozen=True)
class Normal(Distribution):
    """``normal(mu, sigma)``: a float from N(mu, sigma^2)."""

    mu: float
    sigma: float
    kind: ClassVar[str] = "normal"

    def sample(self, rng: np.random.Generator) -> Any:
        return float(rng.normal(self.mu, self.sigma))

    def expression(self) -> str:
        return f"normal({_fmt(self.mu)}, {_fmt(self.sigma)})"


@dataclass(frozen=True)
class LogNormal(Distribution):
    """``lognormal(mu, sigma)``: ``exp(normal(mu, sigma))``."""

    mu: float
    sigma: float
    kind: ClassVar[str] = "lognormal"

    def sample(self, rng: np.random.Generator) -> Any:
        return float(math.exp(rng.normal(self.mu, self.sigma)))

    def expression(self) -> str:
        return f"lognormal({_fmt(self.mu)}, {_fmt(self.sigma)})"


def _quantize(x: float, q: float) -> Any:
    value = round(x / q) * q
    return int(value) if isinstance(q, int) else float(value)


@dataclass(frozen=True)
class QUniform(Distribution):
    """``quniform(low, high, q)``: ``round(uniform(low, high) / q) * q``."""

    low: float
    high: float
    q: float
    kind: ClassVar[str] = "quniform"

    def sample(self, rng: np.random.Generator) -> Any:
        return _quantize(float(rng.uniform(self.low, self.high)), self.q)

    def expression(self) -> str:
        return f"quniform({_fmt(self.low)}, {_fmt(self.high)}, {_fmt(self.q)})"


@dataclass(frozen=True)
class QLogUniform(Distribution):
    """``qloguniform(low, high, q)``: ``round(exp(uniform(low, high)) / q) * q`` (log bounds)."""

    low: float
    high: float
    q: float
    linear: tuple[float, float] | None = None  # the bounds as written with bounds=linear
    kind: ClassVar[str] = "qloguniform"

    def sample(self, rng: np.random.Generator) -> Any:
        return _quantize(math.exp(rng.uniform(self.low, self.high)), self.q)

    def expression(self) -> str:
        low, high, bounds = (
            (*self.linear, "linear") if self.linear else (self.low, self.high, "log")
        )
        return f"qloguniform({_fmt(low)}, {_fmt(high)}, {_fmt(self.q)}, bounds={bounds})"


@dataclass(frozen=True)
class QNormal(Distribution):
    """``qnormal(mu, sigma, q)``: ``round(normal(mu, sigma) / q) * q``."""

    mu: float
    sigma: float
    q: float
    kind: ClassVar[str] = "qnormal"

    def sample(self, rng: np.random.Generator) -> Any:
        return _quantize(float(rng.normal(self.mu, self.sigma)), self.q)

    def expression(self) -> str:
        return f"qnormal({_fmt(self.mu)}, {_fmt(self.sigma)}, {_fmt(self.q)})"


@dataclass(frozen=True)
class QLogNormal(Distribution):
    """``qlognormal(mu, sigma, q)``: ``round(exp(normal(mu, sigma)) / q) * q``."""

    mu: float
    sigma: float
    q: float
    kind: ClassVar[str] = "qlognormal"

    def sample(self, rng: np.random.Generator) -> Any:
        return _quantize(math.exp(rng.normal(self.mu, self.sigma)), self.q)

    def expression(self) -> str:
        return f"qlognormal({_fmt(self.mu)}, {_fmt(self.sigma)}, {_fmt(self.q)})"


# name -> (positional parameter names, accepts a ``bounds`` keyword)
_SIGNATURES: dict[str, tuple[tuple[str, ...], bool]] = {
    "choice": ((), False),
    "randint": (("upper",), False),
    "uniform": (("low", "high"), False),
    "loguniform": (("low", "high"), True),
    "normal": (("mu", "sigma"), False),
    "lognormal": (("mu", "sigma"), False),
    "quniform": (("low", "high", "q"), False),
    "qloguniform": (("low", "high", "q"), True),
    "qnormal": (("mu", "sigma", "q"), False),
    "qlognormal": (("mu", "sigma", "q"), False),
}
DISTRIBUTIONS: tuple[str, ...] = tuple(_SIGNATURES)
