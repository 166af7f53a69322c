"""Search spaces written with HyperDrive's parameter expressions.

A search space maps hyperparameter names to distributions. In YAML each dimension is one of:

* a list -- ``[300, 400]`` is ``choice(300, 400)`` (scikit-learn's ``param_grid`` habit);
* an expression string -- ``choice(3, 4)``, ``choice(range(1, 5))``, ``randint(10)``,
  ``uniform(0.05, 0.1)``, ``loguniform(-6, -1)``, ``normal(10, 3)``, ``lognormal(0, 1)``,
  ``quniform(1, 9, 1)``, ``qloguniform(0, 4, 1)``, ``qnormal(10, 3, 1)``, ``qlognormal(0, 1, 1)``;
* a mapping -- ``{distribution: uniform, low: 0.05, high: 0.1}`` (the same names and arguments);
* any other scalar -- a fixed value (``objective: multi:softprob``).

**Log-scale bounds.** hpt follows HyperDrive: ``loguniform(low, high)`` draws
``exp(uniform(low, high))``, so ``low``/``high`` are natural-log exponents. Optuna and Ray take the
bounds in linear space; write that as ``loguniform(1e-4, 0.1, bounds=linear)``. When both readings
are valid (``0 < low``), the bare form is ambiguous and rejected with a message that shows both
spellings; ``bounds=log`` keeps HyperDrive's reading explicitly. The same holds for
``qloguniform``.

Quantized distributions return ``round(x / q) * q``; when ``q`` is an integer the value is an
``int`` (so ``max_depth: quniform(2, 10, 1)`` gives ``3``, not ``3.0``).
"""

from __future__ import annotations

import ast
import functools
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpt.distributions import (
    _SIGNATURES,
    DISTRIBUTIONS,
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
    Uniform,
)
from hpt.errors import ConfigError

__all__ = [
    "DISTRIBUTIONS",
    "Choice",
    "Distribution",
    "LogNormal",
    "LogUniform",
    "Normal",
    "QLogNormal",
    "QLogUniform",
    "QNormal",
    "QUniform",
    "RandInt",
    "SearchSpace",
    "Uniform",
    "parse_dimension",
]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _literal(node: ast.expr, key: str, text: str) -> Any:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        args = [_literal(a, key, text) for a in node.args]
        if not args or not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            raise ConfigError(key, f"range(...) takes integers, got {text!r}; e.g. range(1, 5)")
        return list(range(*args))
    if isinstance(node, ast.Name):  # bare words such as bounds=linear
        return node.id
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError):
        raise ConfigError(
            key, f"cannot read {ast.unparse(node)!r} in {text!r}; arguments must be literals"
        ) from None


#: ``word(...)``: a value of this shape is read as a distribution expression, never as a string.
_LOOKS_LIKE_CALL = re.compile(r"^[A-Za-z_]\w*\s*\(.*\)$", re.DOTALL)


def _parse_expression(key: str, text: str) -> tuple[str, list[Any], dict[str, Any]] | None:
    """Split ``name(args, kw=value)``; ``None`` when ``text`` is not a call at all."""
    stripped = text.strip()
    if not stripped.endswith(")") or "(" not in stripped:
        return None
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as err:
        if _LOOKS_LIKE_CALL.match(stripped):
            # ``else(0, 1)`` or ``uniform(1,, 2)`` was meant as a distribution: running it as a
            # fixed string would only fail later, inside the model.
            raise ConfigError(
                key,
                f"cannot read {text!r} as a distribution ({err.msg}); write name(literal, ...), "
                f"e.g. uniform(0.05, 0.1), with one of {', '.join(DISTRIBUTIONS)}",
            ) from None
        return None
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        return None
    args = [_literal(a, key, text) for a in call.args]
    kwargs = {kw.arg or "": _literal(kw.value, key, text) for kw in call.keywords}
    return call.func.id, args, kwargs


def _log_bounds(
    key: str, name: str, low: float, high: float, bounds: Any, text: str
) -> tuple[float, float]:
    """Return log-space bounds, resolving HyperDrive (log) vs Optuna/Ray (linear) conventions."""
    if bounds == "linear":
        if low <= 0 or high <= 0:
            raise ConfigError(
                key,
                f"{text}: linear bounds of a log distribution must be > 0, got low={low}, "
                f"high={high}; use positive bounds or write the exponents with bounds=log",
            )
        return math.log(low), math.log(high)
    if bounds == "log":
        return low, high
    if bounds is not None:
        raise ConfigError(key, f"{text}: bounds must be 'log' or 'linear', got {bounds!r}")
    if low > 0:
        # Both readings are valid here, and they differ wildly: refuse to guess.
        return_hint = (
            f"{name}({low!r}, {high!r}) is ambiguous: hpt reads loguniform bounds as natural-log "
            f"exponents (HyperDrive), giving values in [{math.exp(low):.4g}, {math.exp(high):.4g}]; "
            f"for values in [{low!r}, {high!r}] write {name}({low!r}, {high!r}, bounds=linear), "
            f"to keep the exponent reading write {name}({low!r}, {high!r}, bounds=log)"
        )
        raise ConfigError(key, return_hint)
    return low, high


def _build(key: str, name: str, args: list[Any], kwargs: dict[str, Any], text: str) -> Distribution:
    if name not in _SIGNATURES:
        raise ConfigError(
            key,
            f"unknown distribution {name!r} in {text!r}; use one of {', '.join(DISTRIBUTIONS)}",
        )
    params, takes_bounds = _SIGNATURES[name]
    bounds = kwargs.pop("bounds", None) if takes_bounds else None
    if name == "choice":
        if kwargs:
            raise ConfigError(key, f"choice takes values only, got keywords {sorted(kwargs)}")
        values: list[Any] = []
        for a in args:
            # choice(range(1, 5)) and choice([1, 2]) both mean "these values".
            values.extend(a if isinstance(a, list | tuple) else [a])
        if not values:
            raise ConfigError(key, f"{text!r} is empty; list at least one value, e.g. choice(3, 4)")
        return Choice(tuple(values))
    # Positional then keyword arguments, checked against the signature.
    unknown = set(kwargs) - set(params)
    if unknown:
        raise ConfigError(
            key, f"{name} takes ({', '.join(params)}), got unknown argument(s) {sorted(unknown)}"
        )
    if len(args) > len(params):
        raise ConfigError(key, f"{name} takes ({', '.join(params)}), got {len(args)} arguments")
    values_by_name = dict(zip(params, args, strict=False)) | kwargs
    missing = [p for p in params if p not in values_by_name]
    if missing:
        raise ConfigError(
            key, f"{text!r} is missing {', '.join(missing)}; write {name}({', '.join(params)})"
        )
    for p in params:
        if not _is_number(values_by_name[p]):
            raise ConfigError(
                key, f"{name}: {p} must be a number, got {values_by_name[p]!r} in {text!r}"
            )
    v = values_by_name
    if name == "randint":
        if not isinstance(v["upper"], int) or v["upper"] < 1:
            raise ConfigError(
                key, f"randint(upper) needs an integer upper >= 1, got {v['upper']!r}"
            )
        return RandInt(v["upper"])
    if "low" in v and v["low"] > v["high"]:
        raise ConfigError(
            key,
            f"{name}: low <= high must hold, got low={v['low']!r}, high={v['high']!r}; swap them",
        )
    if "sigma" in v and v["sigma"] <= 0:
        raise ConfigError(key, f"{name}: sigma must be > 0, got {v['sigma']!r}")
    if "q" in v and v["q"] <= 0:
        raise ConfigError(key, f"{name}: q must be > 0, got {v['q']!r}; e.g. q=1 for integers")
    if name == "uniform":
        return Uniform(float(v["low"]), float(v["high"]))
    if name == "loguniform":
        low, high = _log_bounds(key, name, v["low"], v["high"], bounds, text)
        written = (v["low"], v["high"]) if bounds == "linear" else None
        return LogUniform(float(low), float(high), written)
    if name == "normal":
        return Normal(float(v["mu"]), float(v["sigma"]))
    if name == "lognormal":
        return LogNormal(float(v["mu"]), float(v["sigma"]))
    if name == "quniform":
        return QUniform(float(v["low"]), float(v["high"]), v["q"])
    if name == "qloguniform":
        low, high = _log_bounds(key, name, v["low"], v["high"], bounds, text)
        written = (v["low"], v["high"]) if bounds == "linear" else None
        return QLogUniform(float(low), float(high), v["q"], written)
    if name == "qnormal":
        return QNormal(float(v["mu"]), float(v["sigma"]), v["q"])
    return QLogNormal(float(v["mu"]), float(v["sigma"]), v["q"])


def parse_dimension(key: str, spec: Any) -> Distribution:
    """Parse one dimension's YAML value (see the module docstring) into a distribution.

    ``key`` is the full config path used in error messages, e.g. ``search_space.max_depth``.
    """
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, list | tuple):
        if not spec:
            raise ConfigError(key, "empty list; list at least one value, e.g. [3, 4]")
        return Choice(tuple(spec))
    if isinstance(spec, Mapping):
        spec = dict(spec)
        name = spec.pop("distribution", None)
        if name is None:
            raise ConfigError(
                key,
                f"a mapping needs a 'distribution' key, got {sorted(spec)}; "
                "e.g. {distribution: uniform, low: 0.05, high: 0.1}",
            )
        values = spec.pop("values", None)
        text = f"{name}({', '.join(f'{k}={v!r}' for k, v in spec.items())})"
        args = [values] if name == "choice" and values is not None else []
        return _build(key, str(name), args, spec, text)
    if isinstance(spec, str):
        parsed = _parse_expression(key, spec)
        if parsed is not None:
            name, args, kwargs = parsed
            return _build(key, name, args, kwargs, spec.strip())
    return Choice((spec,))


@dataclass(frozen=True)
class SearchSpace:
    """An immutable mapping of hyperparameter names (sorted) to distributions."""

    dimensions: tuple[tuple[str, Distribution], ...]

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], prefix: str = "search_space") -> SearchSpace:
        """Parse a ``{name: dimension}`` mapping; raises :class:`ConfigError` naming the key."""
        if not spec:
            raise ConfigError(prefix, "the search space is empty; add at least one dimension")
        dims = {str(k): parse_dimension(f"{prefix}.{k}", v) for k, v in spec.items()}
        return cls(tuple(sorted(dims.items())))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.dimensions]

    def __getitem__(self, name: str) -> Distribution:
        return dict(self.dimensions)[name]

    @property
    def is_discrete(self) -> bool:
        return all(d.is_discrete for _, d in self.dimensions)

    @functools.cached_property
    def grid_size(self) -> int | None:
        """Number of configurations when every dimension is discrete, else ``None``."""
        if not self.is_discrete:
            return None
        return math.prod(d.n_values for _, d in self.dimensions)

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every configuration in scikit-learn's ``ParameterGrid`` order (sorted keys, last fastest)."""
        values = [d.values() for _, d in self.dimensions]
        for combo in itertools.product(*values):
            yield dict(zip(self.names, combo, strict=True))

    def grid_point(self, index: int) -> dict[str, Any]:
        """The ``index``-th configuration of :meth:`grid` without enumerating the ones before."""
        point: dict[str, Any] = {}
        for name, dist in reversed(self.dimensions):
            options = dist.values()
            index, offset = divmod(index, len(options))
            point[name] = options[offset]
        return {name: point[name] for name in self.names}

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {name: d.sample(rng) for name, d in self.dimensions}

    def to_config(self) -> dict[str, str]:
        """Canonical ``{name: expression}``; equal spaces give equal dicts (used to detect edits)."""
        return {name: d.expression() for name, d in self.dimensions}

    def describe(self) -> Sequence[str]:
        return [f"{name}: {d}" for name, d in self.dimensions]
