"""sampler=bayesian against random search and against Optuna's own TPE and GP samplers.

    .venv/bin/python benchmarks/bench_bayesian.py                 # everything (~25 min, 2 cores)
    .venv/bin/python benchmarks/bench_bayesian.py --problems hartmann6 --seeds 2   # a quick look

Problems (each a cheap, deterministic objective):

* ``hartmann6``: the 6-dimensional Hartmann function on [0, 1]^6, minimized (optimum -3.32237);
* ``branin``: Branin on [-5, 10] x [0, 15], minimized (optimum 0.397887);
* ``xgboost``: ``XGBClassifier`` (n_jobs=1) on a generated binary problem (``make_classification``,
  600 rows, 20 features, 5% label noise), 6 hyperparameters of mixed types (log-float, float,
  quantized int, ordinal choice), scored by ``neg_log_loss`` on a fixed held-out half, maximized.

Methods: hpt's ``RandomSampler`` and ``BayesianSampler`` (defaults: ``algorithm=auto``,
``n_startup_trials=8``), and, as the peer, Optuna's ``TPESampler`` and ``GPSampler`` with their
defaults, driven through ``study.ask``/``study.tell`` on the same Optuna distributions hpt's
adapter maps the space to.

Concurrency is simulated exactly as hpt's sweep loop runs it: with ``w`` workers, ``w`` trials are
in flight; when one finishes (the oldest: equal trial durations) the next is proposed from a history
where the other ``w - 1`` are still running (hpt: ``TrialRecord`` with status running; Optuna: trials
asked but not told). Every objective is called in this process (the real XGBoost fit for
``xgboost``), so the numbers do not depend on the machine's load, only the wall time does.

Printed: the median (over seeds) of the best score after 10, 20, 30, 40 and 60 trials, at 1 and 4
workers, then the issue's targets checked on those medians.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import optuna  # noqa: E402

from hpt.samplers import BayesianSampler, RandomSampler, Sampler  # noqa: E402
from hpt.samplers._optuna_space import OptunaSpace  # noqa: E402
from hpt.space import SearchSpace  # noqa: E402
from hpt.trial import TrialRecord, TrialStatus, trial_id  # noqa: E402

CHECKPOINTS = (10, 20, 30, 40, 60)
METHODS = ("random", "bayesian", "optuna-tpe", "optuna-gp")

# -- problems ------------------------------------------------------------------------------------
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(params: dict[str, Any]) -> float:
    x = np.array([params[f"x{i}"] for i in range(6)])
    return -float(np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def branin(params: dict[str, Any]) -> float:
    x1, x2 = params["x1"], params["x2"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return float(
        (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10
    )


class XGBoostProblem:
    """A real XGBoost fit per call, scored on a fixed held-out half (deterministic)."""

    def __init__(self) -> None:
        from sklearn.datasets import make_classification

        X, y = make_classification(
            n_samples=600, n_features=20, n_informative=8, flip_y=0.05, random_state=0
        )
        self.X_train, self.X_valid = X[:300], X[300:]
        self.y_train, self.y_valid = y[:300], y[300:]

    def __call__(self, params: dict[str, Any]) -> float:
        from sklearn.metrics import log_loss
        from xgboost import XGBClassifier

        model = XGBClassifier(n_jobs=1, random_state=0, verbosity=0, **params)
        model.fit(self.X_train, self.y_train)
        return -float(log_loss(self.y_valid, model.predict_proba(self.X_valid)))


@dataclass
class Problem:
    name: str
    space: dict[str, Any]
    objective: Callable[[dict[str, Any]], float]
    goal: Literal["minimize", "maximize"]
    optimum: str


def problems() -> dict[str, Callable[[], Problem]]:
    return {
        "hartmann6": lambda: Problem(
            "hartmann6",
            {f"x{i}": "uniform(0, 1)" for i in range(6)},
            hartmann6,
            "minimize",
            "-3.32237",
        ),
        "branin": lambda: Problem(
            "branin",
            {"x1": "uniform(-5, 10)", "x2": "uniform(0, 15)"},
            branin,
            "minimize",
            "0.397887",
        ),
        "xgboost": lambda: Problem(
            "xgboost",
            {
                "learning_rate": "loguniform(-4.6, -0.7)",  # 0.01 .. 0.5 (HyperDrive exponents)
                "max_depth": "quniform(2, 10, 1)",
                "n_estimators": "choice(25, 50, 100, 150)",
                "subsample": "uniform(0.5, 1.0)",
                "min_child_weight": "loguniform(-2.3, 2.3)",  # 0.1 .. 10
                "reg_lambda": "loguniform(-4.6, 2.3)",  # 0.01 .. 10
            },
            XGBoostProblem(),
            "maximize",
            "unknown",
        ),
    }


# -- drivers -------------------------------------------------------------------------------------
def run_hpt(sampler: Sampler, problem: Problem, trials: int, workers: int) -> list[float]:
    """Values in trial-number order, proposed as hpt's loop would with ``workers`` in flight."""
    history: list[TrialRecord] = []
    values: list[float] = []
    in_flight: list[int] = []

    def finish(number: int) -> None:
        record = history[number]
        value = problem.objective(dict(record.params))
        history[number] = TrialRecord(
            record.trial_id, number, record.params, TrialStatus.COMPLETED, value=value
        )

    for number in range(trials):
        while len(in_flight) >= workers:
            finish(in_flight.pop(0))
        params = sampler.suggest(number, history)
        assert params is not None
        history.append(TrialRecord(trial_id(number), number, params, TrialStatus.RUNNING))
        in_flight.append(number)
    for number in in_flight:
        finish(number)
    for record in history:
        assert record.value is not None
        values.append(record.value)
    return values


def run_optuna(engine: Any, problem: Problem, trials: int, workers: int) -> list[float]:
    """The same schedule through Optuna's ask/tell: ``workers`` asked trials not yet told."""
    space = OptunaSpace.from_space(SearchSpace.from_config(problem.space))
    study = optuna.create_study(direction=problem.goal, sampler=engine)
    values: dict[int, float] = {}
    in_flight: list[Any] = []

    def finish(trial: Any) -> None:
        value = problem.objective(space.to_native(trial.params))
        study.tell(trial, value)
        values[trial.number] = value

    for _ in range(trials):
        while len(in_flight) >= workers:
            finish(in_flight.pop(0))
        in_flight.append(study.ask(fixed_distributions=space.distributions))
    for trial in in_flight:
        finish(trial)
    return [values[n] for n in range(trials)]


def run(method: str, problem: Problem, seed: int, trials: int, workers: int) -> list[float]:
    space = SearchSpace.from_config(problem.space)
    if method == "random":
        return run_hpt(RandomSampler(space, seed=seed), problem, trials, workers)
    if method == "bayesian":
        sampler = BayesianSampler(space, seed=seed, goal=problem.goal)
        return run_hpt(sampler, problem, trials, workers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine: optuna.samplers.BaseSampler
        if method == "optuna-tpe":
            engine = optuna.samplers.TPESampler(seed=seed)
        else:
            engine = optuna.samplers.GPSampler(seed=seed)
        return run_optuna(engine, problem, trials, workers)


def best_after(values: list[float], n: int, goal: str) -> float:
    head = values[:n]
    return min(head) if goal == "minimize" else max(head)


# -- report --------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(problems()), choices=list(problems()))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 4])
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("hpt").setLevel(logging.WARNING)
    trials = max(CHECKPOINTS)

    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: {' '.join(sys.argv)}")
    print(
        f"# machine: {os.cpu_count()} cores, {cpu_model()}, "
        f"Python {platform.python_version()}, optuna {optuna.__version__}"
    )
    print(f"# {args.seeds} seeds (0..{args.seeds - 1}), median best score after N trials")
    results: dict[tuple[str, str, int], list[float]] = {}  # (problem, method, workers) -> medians
    for name in args.problems:
        problem = problems()[name]()
        direction = "lower" if problem.goal == "minimize" else "higher"
        print(f"\n## {name} ({problem.goal}, {direction} is better, optimum {problem.optimum})")
        header = f"{'method':<12} {'workers':>7} " + " ".join(f"{f'@{n}':>9}" for n in CHECKPOINTS)
        print(f"{header} {'wall s':>8}")
        for method in args.methods:
            for workers in args.workers:
                started = time.perf_counter()
                runs = [run(method, problem, seed, trials, workers) for seed in range(args.seeds)]
                medians = [
                    float(np.median([best_after(v, n, problem.goal) for v in runs]))
                    for n in CHECKPOINTS
                ]
                results[(name, method, workers)] = medians
                cells = " ".join(f"{m:9.4f}" for m in medians)
                wall = time.perf_counter() - started
                print(f"{method:<12} {workers:>7} {cells} {wall:8.1f}", flush=True)
        check_targets(name, problem.goal, results, args.workers)


def check_targets(
    name: str, goal: str, results: dict[tuple[str, str, int], list[float]], workers: list[int]
) -> None:
    at = {n: i for i, n in enumerate(CHECKPOINTS)}
    sign = -1.0 if goal == "minimize" else 1.0  # gains are "higher is better"
    random1 = results.get((name, "random", 1))
    bayes1 = results.get((name, "bayesian", 1))
    if random1 is None or bayes1 is None:
        return
    ok = sign * bayes1[at[30]] >= sign * random1[at[60]]
    print(
        f"target: bayesian@30 {bayes1[at[30]]:.4f} at least random@60 {random1[at[60]]:.4f}: "
        f"{'met' if ok else 'MISSED'}"
    )
    if name == "hartmann6":
        ok = bayes1[at[30]] <= -3.0
        print(
            f"target: hartmann6 bayesian@30 {bayes1[at[30]]:.4f} <= -3.0: {'met' if ok else 'MISSED'}"
        )
    bayes4 = results.get((name, "bayesian", 4))
    if bayes4 is not None and 4 in workers:
        gain1 = sign * (bayes1[at[30]] - random1[at[30]])
        gain4 = sign * (bayes4[at[30]] - random1[at[30]])
        kept = gain4 / gain1 if gain1 > 0 else float("nan")
        print(
            f"target: gain over random@30 at 4 workers {gain4:.4f} keeps {kept:.0%} of the "
            f"1-worker gain {gain1:.4f} (>= 67%): {'met' if kept >= 2 / 3 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
