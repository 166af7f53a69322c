"""Search-space expressions: HyperDrive semantics, parsing, and errors that say the fix."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hpt.errors import ConfigError
from hpt.space import (
    Choice,
    LogNormal,
    LogUniform,
    Normal,
    QLogUniform,
    QUniform,
    RandInt,
    SearchSpace,
    Uniform,
    parse_dimension,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ([3, 4], Choice((3, 4))),
        ("choice(16, 32, 64)", Choice((16, 32, 64))),
        ("choice(range(1, 5))", Choice((1, 2, 3, 4))),
        ("choice('gini', 'entropy')", Choice(("gini", "entropy"))),
        ("randint(10)", RandInt(10)),
        ("uniform(0.05, 0.1)", Uniform(0.05, 0.1)),
        ("loguniform(-6, -1)", LogUniform(-6.0, -1.0)),
        ("normal(10, 3)", Normal(10.0, 3.0)),
        ("lognormal(0, 1)", LogNormal(0.0, 1.0)),
        ("quniform(1, 9, 1)", QUniform(1.0, 9.0, 1)),
        ({"distribution": "uniform", "low": 0.05, "high": 0.1}, Uniform(0.05, 0.1)),
        ({"distribution": "choice", "values": [1, 2]}, Choice((1, 2))),
        ("multi:softprob", Choice(("multi:softprob",))),
        (0.1, Choice((0.1,))),
    ],
)
def test_parse(spec: object, expected: object) -> None:
    assert parse_dimension("search_space.x", spec) == expected


def test_expressions_round_trip() -> None:
    for text in [
        "choice(1, 2)",
        "randint(5)",
        "uniform(0.0, 1.0)",
        "loguniform(-3.0, 0.0, bounds=log)",
        "loguniform(0.001, 1, bounds=linear)",
        "normal(0.0, 1.0)",
        "lognormal(0.0, 1.0)",
        "quniform(0.0, 10.0, 2)",
        "qloguniform(0.0, 3.0, 1, bounds=log)",
        "qnormal(5.0, 2.0, 1)",
        "qlognormal(1.0, 0.5, 1)",
    ]:
        dist = parse_dimension("k", text)
        assert parse_dimension("k", dist.expression()) == dist, text


def test_log_conventions() -> None:
    hyperdrive = parse_dimension("k", "loguniform(-6.907755, -2.302585)")
    linear = parse_dimension("k", "loguniform(0.001, 0.1, bounds=linear)")
    assert isinstance(linear, LogUniform)
    assert linear.low == pytest.approx(hyperdrive.low) and linear.high == pytest.approx(
        hyperdrive.high
    )  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    values = [linear.sample(rng) for _ in range(2000)]
    assert min(values) >= 0.001 and max(values) <= 0.1
    # log-uniform: about half the draws below the geometric mean
    assert 0.45 < np.mean(np.array(values) < math.sqrt(0.001 * 0.1)) < 0.55
    with pytest.raises(ConfigError, match=r"ambiguous.*bounds=linear"):
        parse_dimension("k", "loguniform(0.001, 0.1)")
    explicit = parse_dimension("k", "loguniform(1, 2, bounds=log)")
    assert math.exp(1) <= explicit.sample(rng) <= math.exp(2)


def test_quantized_values() -> None:
    rng = np.random.default_rng(1)
    q_int = QUniform(1.0, 9.0, 1)
    values = [q_int.sample(rng) for _ in range(200)]
    assert all(isinstance(v, int) and 1 <= v <= 9 for v in values)
    q_float = QUniform(0.0, 1.0, 0.25)
    assert {q_float.sample(rng) for _ in range(200)} <= {0.0, 0.25, 0.5, 0.75, 1.0}
    qlog = QLogUniform(0.0, math.log(100), 10)
    assert all(v % 10 == 0 for v in (qlog.sample(rng) for _ in range(100)))


def test_randint_is_zero_based_and_exclusive() -> None:
    rng = np.random.default_rng(2)
    assert {RandInt(3).sample(rng) for _ in range(200)} == {0, 1, 2}
    assert RandInt(3).values() == [0, 1, 2]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("uniform(2, 1)", "low <= high"),
        ("quniform(1, 2, 0)", "q must be > 0"),
        ("normal(0, 0)", "sigma must be > 0"),
        ("loguniform(-1, 1, bounds=linear)", "must be > 0"),
        ("choice()", "is empty"),
        ([], "empty list"),
        ("randint(0)", "upper >= 1"),
        ("gaussian(0, 1)", "unknown distribution 'gaussian'"),
        ("uniform(1)", "missing high"),
        ("uniform(1, 2, 3)", "got 3 arguments"),
        ("uniform(low=1, hi=2)", "unknown argument"),
        ("uniform('a', 2)", "low must be a number"),
        ({"low": 1}, "needs a 'distribution' key"),
        ("loguniform(-1, 1, bounds=sideways)", "bounds must be 'log' or 'linear'"),
        # Calls that are not Python syntax were once kept as fixed strings (found by the fuzz
        # test in tests/test_malformed.py): a keyword as the name, a missing argument.
        ("else(0.0, 0.0)", "cannot read 'else(0.0, 0.0)' as a distribution"),
        ("uniform(1,, 2)", "cannot read 'uniform(1,, 2)' as a distribution"),
    ],
)
def test_errors_name_the_key_and_the_fix(spec: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dimension("search_space.lr", spec)
    assert str(info.value).startswith("search_space.lr: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_grid_order_matches_parameter_grid() -> None:
    from sklearn.model_selection import ParameterGrid

    grid = {
        "n_estimators": [300, 400],
        "max_depth": [3, 4],
        "subsample": [0.5, 0.7],
        "objective": ["x"],
    }
    space = SearchSpace.from_config(grid)
    assert list(space.grid()) == list(ParameterGrid(grid))
    assert [space.grid_point(i) for i in range(space.grid_size or 0)] == list(ParameterGrid(grid))
