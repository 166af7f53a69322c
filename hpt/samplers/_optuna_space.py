"""hpt's distributions as Optuna distributions: a coordinate per dimension, and the way back.

Optuna knows bounded floats and integers (optionally log-scaled) and categoricals. Each hpt
dimension is given an *internal* Optuna distribution plus two maps, ``to_native`` (internal value
-> the value a trial receives) and ``to_internal`` (a value from the journal -> internal value, or
``None`` when the value lies outside the dimension):

* ``choice``: numeric options (3 or more, no bools) become an ordinal integer index over the sorted
  options, so a model sees that ``max_depth`` 4 lies between 3 and 5; other options become a
  categorical over their positions (options may be any JSON value).
* ``randint(upper)``: the integers ``0 .. upper-1``.
* ``uniform``/``loguniform``: the same interval (``loguniform``'s natural-log exponents become
  linear bounds ``exp(low) .. exp(high)`` on a log scale).
* ``normal``/``lognormal``: unbounded, so the internal coordinate is the normal CDF ``u`` in
  ``[TAIL, 1 - TAIL]`` and the value is ``mu + sigma * ppf(u)`` (``exp`` of it for lognormal).
  A uniform ``u`` is exactly the prior, and values beyond ``ppf(TAIL)`` standard deviations are
  never proposed by the model (random start-up draws use the untruncated distribution).
* quantized ones: the integer multiplier ``k`` of ``q`` over the lattice the distribution can
  produce (``round(low / q) .. round(high / q)``, log-scaled for the log families), so every
  proposal is a lattice point and no two proposals collapse onto one value after rounding. The
  normal families truncate the lattice at the same ``TAIL`` quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hpt.space import (
    Choice,
    Distribution,
    LogNormal,
    LogUniform,
    Normal,
    QLogNormal,
    QLogUniform,
    QNormal,
    QUniform,
    RandInt,
    SearchSpace,
    Uniform,
)

TAIL = 1e-5  # normal-family truncation: ppf(1e-5) is 4.26 standard deviations
_REL = 1e-9  # tolerance when matching journal floats against bounds and lattices


@dataclass(frozen=True)
class Dimension:
    """One searched dimension in Optuna's terms."""

    name: str
    internal: Any  # an optuna.distributions.BaseDistribution
    to_native: Callable[[Any], Any]
    to_internal: Callable[[Any], Any]  # None when the value is outside the dimension
    categorical: bool = False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _within(x: float, low: float, high: float) -> bool:
    slack = _REL * max(1.0, abs(low), abs(high))
    return low - slack <= x <= high + slack


def _lattice_value(k: int, q: float) -> Any:
    value = k * q
    return int(value) if isinstance(q, int) else float(value)


def _on_lattice(value: Any, q: float, kmin: int, kmax: int, clip: bool) -> int | None:
    x = _number(value)
    if x is None:
        return None
    k = round(x / q)
    if abs(x / q - k) > 1e-6:
        return None
    if clip:
        return min(max(k, kmin), kmax)
    return k if kmin <= k <= kmax else None


def _int_dist(low: int, high: int, log: bool) -> tuple[Any, int]:
    """An IntDistribution over ``low..high``; log scale needs ``low >= 1``: shift and return it."""
    import optuna

    shift = 1 - low if log and low < 1 else 0
    return optuna.distributions.IntDistribution(low + shift, high + shift, log=log), shift


def _lattice(name: str, q: float, kmin: int, kmax: int, log: bool, clip: bool) -> Dimension:
    dist, shift = _int_dist(kmin, kmax, log)
    return Dimension(
        name,
        dist,
        to_native=lambda j: _lattice_value(int(j) - shift, q),
        to_internal=lambda v: (
            None if (k := _on_lattice(v, q, kmin, kmax, clip)) is None else k + shift
        ),
    )


def _choice(name: str, dist: Choice) -> Dimension:
    import optuna

    options = dist.options
    numeric = [_number(o) for o in options]
    ordinal = len(options) >= 3 and all(n is not None for n in numeric)
    if ordinal and len(set(numeric)) == len(options):
        order = sorted(range(len(options)), key=lambda i: numeric[i])  # type: ignore[arg-type,return-value]
        rank = {i: r for r, i in enumerate(order)}

        def ordinal_internal(value: Any) -> int | None:
            for i, option in enumerate(options):
                if type(option) is type(value) and option == value:
                    return rank[i]
            return None

        return Dimension(
            name,
            optuna.distributions.IntDistribution(0, len(options) - 1),
            to_native=lambda r: options[order[int(r)]],
            to_internal=ordinal_internal,
        )

    def index_of(value: Any) -> int | None:
        for i, option in enumerate(options):
            if type(option) is type(value) and option == value:
                return i
        return None

    return Dimension(
        name,
        optuna.distributions.CategoricalDistribution(tuple(range(len(options)))),
        to_native=lambda i: options[int(i)],
        to_internal=index_of,
        categorical=True,
    )


def _cdf_dimension(name: str, mu: float, sigma: float, log: bool) -> Dimension:
    import optuna
    from scipy.stats import norm

    def to_native(u: Any) -> float:
        z = mu + sigma * float(norm.ppf(float(u)))
        return math.exp(z) if log else z

    def to_internal(value: Any) -> float | None:
        x = _number(value)
        if x is None or (log and x <= 0):
            return None
        z = (math.log(x) if log else x) - mu
        return min(max(float(norm.cdf(z / sigma)), TAIL), 1 - TAIL)

    internal = optuna.distributions.FloatDistribution(TAIL, 1 - TAIL)
    return Dimension(name, internal, to_native, to_internal)


def _quantile_range(mu: float, sigma: float) -> tuple[float, float]:
    from scipy.stats import norm

    z = float(norm.ppf(1 - TAIL))
    return mu - z * sigma, mu + z * sigma


def dimension(name: str, dist: Distribution) -> Dimension | None:
    """The Optuna view of one hpt dimension; ``None`` for a fixed value (nothing to search)."""
    import optuna

    if isinstance(dist, Choice):
        return None if len(dist.options) == 1 else _choice(name, dist)
    if isinstance(dist, RandInt):
        if dist.upper == 1:
            return None
        return Dimension(
            name,
            optuna.distributions.IntDistribution(0, dist.upper - 1),
            to_native=int,
            to_internal=lambda v: (
                v
                if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < dist.upper
                else None
            ),
        )
    if isinstance(dist, Uniform | LogUniform):
        log = isinstance(dist, LogUniform)
        low, high = (math.exp(dist.low), math.exp(dist.high)) if log else (dist.low, dist.high)
        if low == high:
            return None

        def to_internal(value: Any) -> float | None:
            x = _number(value)
            return None if x is None or not _within(x, low, high) else min(max(x, low), high)

        return Dimension(
            name,
            optuna.distributions.FloatDistribution(low, high, log=log),
            to_native=lambda x: min(max(float(x), low), high),
            to_internal=to_internal,
        )
    if isinstance(dist, Normal | LogNormal):
        return _cdf_dimension(name, dist.mu, dist.sigma, isinstance(dist, LogNormal))
    if isinstance(dist, QUniform | QLogUniform):
        log = isinstance(dist, QLogUniform)
        low, high = (math.exp(dist.low), math.exp(dist.high)) if log else (dist.low, dist.high)
        kmin, kmax = round(low / dist.q), round(high / dist.q)
        if kmin == kmax:
            return None
        return _lattice(name, dist.q, kmin, kmax, log=log, clip=False)
    if isinstance(dist, QNormal | QLogNormal):
        log = isinstance(dist, QLogNormal)
        low, high = _quantile_range(dist.mu, dist.sigma)
        if log:
            low, high = math.exp(low), math.exp(high)
        kmin, kmax = round(low / dist.q), round(high / dist.q)
        if kmin == kmax:
            return None
        # Any lattice point is in the support; the model's box is the truncated lattice.
        return _lattice(name, dist.q, kmin, kmax, log=log, clip=True)
    raise TypeError(f"no Optuna mapping for {type(dist).__name__} ({dist})")


@dataclass(frozen=True)
class OptunaSpace:
    """A whole search space in Optuna's terms: searched dimensions plus the fixed values."""

    dimensions: tuple[Dimension, ...]
    fixed: Mapping[str, Any]
    names: tuple[str, ...]  # every name of the hpt space, sorted

    @classmethod
    def from_space(cls, space: SearchSpace) -> OptunaSpace:
        dims: list[Dimension] = []
        fixed: dict[str, Any] = {}
        for name, dist in space.dimensions:
            dim = dimension(name, dist)
            if dim is None:
                fixed[name] = _fixed_value(dist)
            else:
                dims.append(dim)
        return cls(tuple(dims), fixed, tuple(space.names))

    @property
    def distributions(self) -> dict[str, Any]:
        return {d.name: d.internal for d in self.dimensions}

    @property
    def all_numeric(self) -> bool:
        """No unordered categorical dimension (what a GP models best)."""
        return not any(d.categorical for d in self.dimensions)

    def to_native(self, internal: Mapping[str, Any]) -> dict[str, Any]:
        params = dict(self.fixed)
        for d in self.dimensions:
            params[d.name] = d.to_native(internal[d.name])
        return {name: params[name] for name in self.names}

    def to_internal(self, params: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """Internal values of a trial's params, or ``(None, why)`` when they are outside."""
        for name, value in self.fixed.items():
            if name not in params:
                return None, f"missing dimension {name}"
            if not _same(params[name], value):
                return None, f"{name} is not the fixed value {value!r}"
        internal: dict[str, Any] = {}
        for d in self.dimensions:
            if d.name not in params:
                return None, f"missing dimension {d.name}"
            x = d.to_internal(params[d.name])
            if x is None:
                return None, f"{d.name} outside the space"
            internal[d.name] = x
        return internal, None


def _fixed_value(dist: Distribution) -> Any:
    if isinstance(dist, Choice):
        return dist.options[0]
    if isinstance(dist, RandInt):
        return 0
    if isinstance(dist, Uniform):
        return dist.low
    if isinstance(dist, LogUniform):
        return math.exp(dist.low)
    if isinstance(dist, QUniform | QLogUniform):
        low = math.exp(dist.low) if isinstance(dist, QLogUniform) else dist.low
        return _lattice_value(round(low / dist.q), dist.q)
    if isinstance(dist, QNormal):
        return _lattice_value(round(dist.mu / dist.q), dist.q)
    if isinstance(dist, QLogNormal):
        return _lattice_value(round(math.exp(dist.mu) / dist.q), dist.q)
    raise TypeError(f"{dist} has no single value")


def _same(a: Any, b: Any) -> bool:
    if _number(a) is not None and _number(b) is not None:
        return math.isclose(float(a), float(b), rel_tol=_REL, abs_tol=_REL)
    return bool(type(a) is type(b) and a == b)
