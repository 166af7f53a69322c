"""sampler=bayesian: support of every distribution, determinism, warm start, concurrency, resume."""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from hpt.errors import ConfigError
from hpt.journal import JOURNAL_NAME, Journal, read_journal
from hpt.samplers import BayesianSampler, GridSampler, RandomSampler, Sampler
from hpt.space import (
    Choice,
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
from hpt.trial import TrialRecord, TrialStatus, trial_id

pytest.importorskip("optuna")

EVERY_DISTRIBUTION = {
    "c_str": "choice('a', 'b', 'c')",
    "c_num": "choice(1, 10, 100, 1000)",
    "fixed": "multi:softprob",
    "ri": "randint(5)",
    "u": "uniform(-1, 2)",
    "lu": "loguniform(-4.6, 0)",
    "n": "normal(3, 2)",
    "ln": "lognormal(0, 0.5)",
    "qu": "quniform(1, 9, 2)",
    "qlu": "qloguniform(0, 3, 1)",
    "qlu_f": "qloguniform(0.01, 1, 0.05, bounds=linear)",
    "qn": "qnormal(5, 3, 1)",
    "qln": "qlognormal(1, 0.7, 0.5)",
}


def _on_lattice(value: float, q: float) -> bool:
    return math.isclose(value / q, round(value / q), abs_tol=1e-6)


def _in_support(dist: Any, value: Any) -> bool:
    """Whether ``value`` can come out of ``dist`` (the definitions in hpt/space.py)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(dist, Choice):
        return any(type(o) is type(value) and o == value for o in dist.options)
    if isinstance(dist, RandInt):
        return type(value) is int and 0 <= value < dist.upper
    if not number or not math.isfinite(value):
        return False
    if isinstance(dist, Uniform):
        return dist.low <= value <= dist.high
    if isinstance(dist, LogUniform):
        return math.exp(dist.low) * (1 - 1e-12) <= value <= math.exp(dist.high) * (1 + 1e-12)
    if isinstance(dist, Normal):
        return type(value) is float
    if isinstance(dist, LogNormal):
        return value > 0
    integral = isinstance(dist.q, int)
    if integral and type(value) is not int:
        return False
    if not _on_lattice(value, dist.q):
        return False
    if isinstance(dist, QUniform | QLogUniform):
        low, high = (
            (math.exp(dist.low), math.exp(dist.high))
            if isinstance(dist, QLogUniform)
            else (dist.low, dist.high)
        )
        return round(low / dist.q) * dist.q - 1e-9 <= value <= round(high / dist.q) * dist.q + 1e-9
    if isinstance(dist, QLogNormal):
        return value >= 0
    return isinstance(dist, QNormal)


def _objective(params: dict[str, Any]) -> float:
    """A smooth score over the whole mixed space, best near u=1.5, n=4, qn=6."""
    score = (
        -((params["u"] - 1.5) ** 2) - 0.1 * (params["n"] - 4) ** 2 - 0.05 * (params["qn"] - 6) ** 2
    )
    return score + (0.3 if params.get("c_str") == "b" else 0.0) + 0.01 * params["ri"]


def _record(
    number: int,
    params: dict[str, Any],
    value: float | None,
    status: TrialStatus = TrialStatus.COMPLETED,
    values: Sequence[float] = (),
) -> TrialRecord:
    return TrialRecord(trial_id(number), number, params, status, tuple(values), value=value)


def _drive(
    sampler: BayesianSampler,
    objective: Callable[[dict[str, Any]], float],
    trials: int,
    workers: int = 1,
) -> list[TrialRecord]:
    """hpt's loop in miniature: keep ``workers`` trials in flight, finish the oldest first."""
    history: list[TrialRecord] = []
    in_flight: list[int] = []
    for number in range(trials):
        while len(in_flight) >= workers:
            done = in_flight.pop(0)
            record = history[done]
            history[done] = _record(done, dict(record.params), objective(dict(record.params)))
        params = sampler.suggest(number, history)
        assert params is not None
        history.append(_record(number, params, None, TrialStatus.RUNNING))
        in_flight.append(number)
    for done in in_flight:
        record = history[done]
        history[done] = _record(done, dict(record.params), objective(dict(record.params)))
    return history


@pytest.mark.parametrize("algorithm", ["tpe", "gp"])
def test_every_distribution_is_sampled_within_its_support(algorithm: str) -> None:
    # Both engines propose through the same adapter, which maps any point of an internal box into
    # the support; the GP (seconds a proposal on many dimensions) gets one of each kind of box:
    # a CDF (normal), a log interval, a log lattice and a truncated normal lattice.
    gp_keys = ("u", "ri", "n", "lu", "qlu", "qn")
    config = {k: v for k, v in EVERY_DISTRIBUTION.items() if algorithm == "tpe" or k in gp_keys}
    space = SearchSpace.from_config(config)
    trials, startup = (14, 4) if algorithm == "tpe" else (6, 3)
    sampler = BayesianSampler(
        space, seed=3, goal="maximize", algorithm=algorithm, n_startup_trials=startup
    )
    history = _drive(sampler, _objective, trials=trials, workers=2)
    for record in history:
        for name, dist in space.dimensions:
            value = record.params[name]
            assert _in_support(dist, value), (algorithm, name, dist, value)
    # The model-based proposals (after the start-up trials) differ from random search's draws.
    randoms = [RandomSampler(space, seed=3).suggest(n, []) for n in range(trials)]
    assert [r.params for r in history[5:]] != randoms[5:]


def test_auto_picks_gp_for_small_numeric_spaces_and_tpe_otherwise() -> None:
    numeric = SearchSpace.from_config({"x": "uniform(0, 1)", "k": "quniform(1, 9, 1)"})
    mixed = SearchSpace.from_config({"x": "uniform(0, 1)", "kind": "choice('a', 'b')"})
    assert BayesianSampler(numeric).algorithm == "gp"
    assert BayesianSampler(mixed).algorithm == "tpe"


@pytest.mark.parametrize("algorithm", ["tpe", "gp"])
def test_same_seed_and_history_give_the_same_proposals(algorithm: str) -> None:
    space = SearchSpace.from_config(
        {"u": "uniform(-1, 2)", "qn": "qnormal(5, 3, 1)", "n": "normal(3, 2)"}
    )

    def run(seed: int) -> list[dict[str, Any]]:
        sampler = BayesianSampler(
            space, seed=seed, goal="maximize", algorithm=algorithm, n_startup_trials=3
        )
        objective = lambda p: -((p["u"] - 1.5) ** 2) - 0.1 * (p["qn"] - 6) ** 2  # noqa: E731
        return [dict(r.params) for r in _drive(sampler, objective, trials=6, workers=2)]

    first = run(0)
    assert run(0) == first
    if algorithm == "tpe":  # the seed matters (checked once: the GP is the slow engine)
        assert run(1) != first


def test_a_proposal_is_identical_in_another_process() -> None:
    code = (
        "import random\n"
        "from hpt.samplers import BayesianSampler\n"
        "from hpt.space import SearchSpace\n"
        "from hpt.trial import TrialRecord, TrialStatus\n"
        "space = SearchSpace.from_config({'u': 'uniform(0, 1)', 'q': 'qnormal(5, 2, 1)'})\n"
        "rng = random.Random(0)\n"
        "history = [TrialRecord(str(n), n, {'q': n, 'u': rng.random()}, TrialStatus.COMPLETED,"
        " value=rng.random()) for n in range(6)]\n"
        "sampler = BayesianSampler(space, seed=4, algorithm='tpe', n_startup_trials=3)\n"
        "print(sampler.suggest(6, history))\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    here: dict[str, Any] = {}
    exec(code.replace("print(", "result = ("), here)  # the same lines in this process
    assert other.strip() == str(here["result"])


@pytest.mark.parametrize("cls", [GridSampler, RandomSampler, BayesianSampler])
def test_exhausted_agrees_with_suggest(cls: type[Sampler]) -> None:
    space = SearchSpace.from_config({"a": [1, 2, 3], "b": "randint(2)"})
    sampler = cls(space, seed=0)
    history: list[TrialRecord] = []
    for number in range(7):
        params = sampler.suggest(number, history)
        assert sampler.exhausted(number, history) is (params is None)
        if params is not None:
            history.append(_record(number, params, float(number)))
    assert len(history) == 6


def test_proposal_depends_on_what_finished_not_on_the_order_of_history() -> None:
    space = SearchSpace.from_config({"u": "uniform(0, 1)", "k": "choice('a', 'b', 'c')"})
    sampler = BayesianSampler(space, seed=0, goal="minimize", n_startup_trials=3)
    rng = random.Random(0)
    history = [_record(n, {"k": "abc"[n % 3], "u": rng.random()}, rng.random()) for n in range(8)]
    history.append(_record(8, {"k": "a", "u": 0.5}, None, TrialStatus.RUNNING))
    expected = sampler.suggest(9, history)
    shuffled = history[:]
    random.Random(1).shuffle(shuffled)
    assert (
        BayesianSampler(space, seed=0, goal="minimize", n_startup_trials=3).suggest(9, shuffled)
        == expected
    )


@pytest.mark.parametrize(
    ("algorithm", "workers", "config"),
    [
        ("tpe", 8, {"a": "randint(4)", "b": "quniform(1, 4, 1)", "c": "choice('x', 'y', 'z')"}),
        ("gp", 4, {"a": "quniform(0, 5, 1)", "b": "randint(6)"}),
        ("tpe", 6, {"u": "uniform(0, 1)", "q": "qloguniform(0, 3, 1)"}),
    ],
)
def test_no_duplicate_proposals_with_trials_in_flight(
    algorithm: str, workers: int, config: dict[str, str]
) -> None:
    space = SearchSpace.from_config(config)
    sampler = BayesianSampler(
        space, seed=1, goal="maximize", algorithm=algorithm, n_startup_trials=4
    )

    def objective(params: dict[str, Any]) -> float:
        # A sharp optimum a model would propose again and again without its pending points.
        return -(
            sum((float(v) if not isinstance(v, str) else 0.0) - 2 for v in params.values()) ** 2
        )

    history = _drive(sampler, objective, trials=16 if algorithm == "gp" else 24, workers=workers)
    keys = [json.dumps(dict(r.params), sort_keys=True) for r in history]
    assert len(set(keys)) == len(keys)


def test_a_finite_space_is_exhausted_after_every_configuration() -> None:
    space = SearchSpace.from_config({"a": "randint(3)", "b": "choice('x', 'y')"})
    sampler = BayesianSampler(space, seed=0, goal="maximize", n_startup_trials=2)
    history = _drive(sampler, lambda p: float(p["a"]), trials=6, workers=2)
    assert len({json.dumps(dict(r.params), sort_keys=True) for r in history}) == 6
    assert sampler.exhausted(6, history)
    assert sampler.suggest(6, history) is None
    assert not sampler.exhausted(5, history[:5])


def test_terminated_trials_inform_the_model() -> None:
    space = SearchSpace.from_config({"u": "uniform(0, 1)", "k": "choice('a', 'b')"})
    # Only early-stopped trials, with interval values: enough to leave the random start-up.
    history = [
        _record(n, {"k": "ab"[n % 2], "u": n / 10}, None, TrialStatus.TERMINATED, [n / 10, n / 9])
        for n in range(6)
    ]
    sampler = BayesianSampler(space, seed=0, goal="maximize", n_startup_trials=6)
    random_draw = BayesianSampler(space, seed=0, goal="maximize", n_startup_trials=99)
    assert sampler.suggest(6, history) != random_draw.suggest(6, history)
    # Failed trials without a value teach nothing: still the random start-up.
    failed = [_record(n, dict(r.params), None, TrialStatus.FAILED) for n, r in enumerate(history)]
    assert sampler.suggest(6, failed) == random_draw.suggest(6, failed)


def _write_parent(run_dir: Path, trials: list[tuple[dict[str, Any], float]], goal: str) -> None:
    journal = Journal(run_dir)
    journal.append("sweep_created", max_total_runs=len(trials), config={"metric": {"goal": goal}})
    for number, (params, value) in enumerate(trials):
        tid = trial_id(number)
        journal.append("proposed", trial_id=tid, number=number, params=params)
        journal.append("started", trial_id=tid, attempt=1)
        journal.append("completed", trial_id=tid, attempt=1, value=value)
    journal.close()


def test_warm_start_uses_earlier_results_and_drops_what_is_outside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(0)
    trials = []
    for _ in range(20):
        x = rng.uniform(0, 1)
        trials.append(({"x": x, "depth": rng.choice([2, 3, 4])}, -((x - 0.8) ** 2)))
    trials.append(({"x": 1.7, "depth": 3}, 0.0))  # outside the new space: dropped
    trials.append(({"x": 0.5}, 0.0))  # lacks a dimension: dropped
    _write_parent(tmp_path / "parent", trials, "maximize")
    space = SearchSpace.from_config({"x": "uniform(0, 1)", "depth": "choice(2, 3, 4)"})
    with caplog.at_level(logging.INFO, logger="hpt"):
        sampler = BayesianSampler(
            space,
            seed=0,
            goal="maximize",
            algorithm="tpe",
            n_startup_trials=5,
            warm_start_from=[str(tmp_path / "parent")],
        )
    assert len(sampler.warm_start) == 20
    note = caplog.text
    assert "20 trial(s)" in note and "2 dropped" in note
    assert "x outside the space (1)" in note and "missing dimension depth (1)" in note
    # With 20 prior observations the very first trials are already near the optimum x=0.8.
    history = _drive(sampler, lambda p: -((p["x"] - 0.8) ** 2), trials=5)
    cold = _drive(
        BayesianSampler(space, seed=0, goal="maximize", algorithm="tpe", n_startup_trials=5),
        lambda p: -((p["x"] - 0.8) ** 2),
        trials=5,
    )
    distance = lambda h: sum(abs(r.params["x"] - 0.8) for r in h) / len(h)  # noqa: E731
    assert distance(history) < 0.15 < distance(cold)


def test_warm_start_errors_name_the_key_and_path(tmp_path: Path) -> None:
    space = SearchSpace.from_config({"x": "uniform(0, 1)"})
    with pytest.raises(ConfigError, match=r"sampler\.warm_start_from.*nowhere.*does not exist"):
        BayesianSampler(space, warm_start_from=[str(tmp_path / "nowhere")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=f"empty.*has no {JOURNAL_NAME}"):
        BayesianSampler(space, warm_start_from=[str(tmp_path / "empty")])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"algorithm": "smac"}, r"sampler\.algorithm.*'smac'.*tpe"),
        ({"n_startup_trials": 0}, r"sampler\.n_startup_trials.*>= 1"),
        ({"goal": "up"}, r"sampler\.goal.*maximize or minimize"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BayesianSampler(SearchSpace.from_config({"x": "uniform(0, 1)"}), **options)


# -- end to end: hpt.tune with local workers, then a resume from a cut journal -------------------
def _tree_config() -> dict[str, Any]:
    return {
        "dataset": {"kind": "sklearn", "name": "iris"},
        "features": {"sets": None},
        "model": {"_target_": "sklearn.tree.DecisionTreeClassifier", "random_state": 0},
        "search_space": {
            "max_depth": "quniform(1, 10, 1)",
            "min_samples_leaf": "quniform(1, 20, 1)",
            "min_impurity_decrease": "uniform(0, 0.05)",
            "criterion": ["gini", "entropy"],
        },
        "sampler": {"_target_": "hpt.samplers.BayesianSampler", "n_startup_trials": 4},
        "metric": {"primary_metric": "accuracy", "goal": "maximize"},
        "cv": {"n_splits": 3},
        "resources": {"max_total_runs": 12, "max_concurrent_runs": 2},
        "seed": 5,
    }


def _proposals(run_dir: Path) -> dict[int, dict[str, Any]]:
    return {
        int(e["number"]): e["params"] for e in read_journal(run_dir) if e["event"] == "proposed"
    }


@pytest.mark.slow
def test_a_resumed_sweep_proposes_what_the_uninterrupted_one_did(tmp_path: Path) -> None:
    import hpt

    result = hpt.tune(_tree_config(), run_dir=tmp_path / "full")
    full = Path(result.run_dir)
    proposals = _proposals(full)
    assert len(proposals) == 12
    assert len({json.dumps(p, sort_keys=True) for p in proposals.values()}) == 12
    # Cut the journal just before trial 9 was proposed (past the start-up: the model proposes it),
    # as if the driver had died there, and resume.
    events = read_journal(full)
    cut = next(i for i, e in enumerate(events) if e["event"] == "proposed" and e["number"] == 9)
    resumed = tmp_path / "resumed"
    shutil.copytree(full, resumed)
    with open(resumed / JOURNAL_NAME, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(e) + "\n" for e in events[:cut])
    hpt.resume(resumed)
    again = _proposals(resumed)
    assert again[9] == proposals[9]
    assert sorted(again) == list(range(12))


def test_the_experiment_passes_metric_goal_to_the_sampler() -> None:
    from hpt.experiment import Experiment

    script = Path(__file__).resolve().parent / "scripts" / "curve.py"
    cfg = {
        "trainer": {"kind": "script", "script": str(script)},
        "search_space": {"x": "uniform(0, 1)"},
        "sampler": {"_target_": "hpt.samplers.BayesianSampler", "algorithm": "tpe"},
        "metric": {"primary_metric": "loss", "goal": "minimize"},
        "resources": {"max_total_runs": 4},
        "refit": False,
    }
    sampler = Experiment.from_config(cfg).sampler
    assert isinstance(sampler, BayesianSampler) and sampler.goal == "minimize"
