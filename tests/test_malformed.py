"""A few hundred generated malformed configs: each gives one line and creates nothing."""

from __future__ import annotations

import io
import os
import string
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpt import cli
from hpt.space import DISTRIBUTIONS

identifiers = st.text(string.ascii_lowercase + "_", min_size=3, max_size=12).filter(
    lambda s: s not in DISTRIBUTIONS and s not in ("range",)
)
numbers = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e3)


def _space(expr: str, *extra: str) -> list[str]:
    return [
        "sampler=random",
        "resources.max_total_runs=3",
        f"search_space.learning_rate='{expr}'",
        *extra,
    ]


@st.composite
def malformed(draw: st.DrawFn) -> list[str]:
    kind = draw(st.integers(0, 15))
    if kind == 0:  # unknown distribution
        return _space(f"{draw(identifiers)}({draw(numbers)}, {draw(numbers)})")
    if kind == 1:  # low > high
        a, b = sorted(draw(st.lists(numbers, min_size=2, max_size=2, unique=True)))
        name = draw(st.sampled_from(["uniform", "quniform"]))
        q = ", 1" if name == "quniform" else ""
        return _space(f"{name}({b}, {a}{q})")
    if kind == 2:  # q <= 0
        name = draw(st.sampled_from(["quniform", "qnormal", "qlognormal"]))
        return _space(f"{name}(1, 2, {-draw(st.floats(0, 100))})")
    if kind == 3:  # sigma <= 0
        name = draw(st.sampled_from(["normal", "lognormal", "qnormal"]))
        q = ", 1" if name == "qnormal" else ""
        return _space(f"{name}({draw(numbers)}, {-draw(st.floats(0, 100))}{q})")
    if kind == 4:  # non-positive linear bounds
        return _space(f"loguniform({-draw(st.floats(0, 10))}, {draw(positive)}, bounds=linear)")
    if kind == 5:  # ambiguous log bounds
        a, b = sorted(draw(st.lists(positive, min_size=2, max_size=2, unique=True)))
        return _space(f"loguniform({a}, {b})")
    if kind == 6:  # bad randint
        return _space(f"randint({draw(st.sampled_from([0, -1, -5, 2.5, 'x']))!r})")
    if kind == 7:  # grid over a continuous dimension
        return [f"search_space.learning_rate='uniform(0.01, {draw(positive) + 0.02})'"]
    if kind == 8:  # non-positive resources
        key = draw(
            st.sampled_from(
                ["max_concurrent_runs", "max_total_runs", "max_failed_runs", "threads_per_trial"]
            )
        )
        return [f"resources.{key}={draw(st.integers(-100, 0))}"]
    if kind == 9:  # wrong type
        key = draw(st.sampled_from(["max_concurrent_runs", "max_total_runs", "max_retries"]))
        return [f"resources.{key}={draw(identifiers)}"]
    if kind == 10:  # unknown group option
        group = draw(
            st.sampled_from(["sampler", "policy", "model", "compute", "dataset", "metric", "cv"])
        )
        return [f"{group}={draw(identifiers)}"]
    if kind == 11:  # unknown key
        group = draw(st.sampled_from(["resources", "cv", "metric", "dataset", "trainer"]))
        return [f"{group}.{draw(identifiers)}_x=1"]
    if kind == 12:  # unknown scorer
        return [f"metric.primary_metric={draw(identifiers)}_score"]
    if kind == 13:  # model target that does not import
        return [f"model._target_={draw(identifiers)}.{draw(identifiers).capitalize()}"]
    if kind == 14:  # too few folds
        return [f"cv.n_splits={draw(st.integers(-5, 1))}"]
    return _space("choice()")  # empty choice


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("malformed")


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(overrides=malformed())
def test_malformed_config_gives_one_line(
    overrides: list[str], scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(argv: list[str]) -> int:
        raise AssertionError(f"a malformed config reached the run: {overrides}")

    monkeypatch.setattr(cli, "_run_hydra", must_not_run)
    monkeypatch.delenv("HPT_DEBUG", raising=False)
    err, out = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(scratch)
    try:
        with redirect_stderr(err), redirect_stdout(out):
            code = cli.main(overrides)
    finally:
        os.chdir(cwd)
    lines = err.getvalue().strip().splitlines()
    assert code == 2, (overrides, err.getvalue())
    assert len(lines) == 1 and lines[0].startswith("hpt: error: "), (overrides, err.getvalue())
    # The header, not the bare word: the one-line error names the user's value, and Hypothesis
    # draws values from this file's own literals (it generated `model._target_=___.Traceback`).
    assert "Traceback (most recent call last)" not in err.getvalue()
    assert not (scratch / "outputs").exists()
