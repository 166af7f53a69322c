"""hpt's AutoML against FLAML: the same time budget, 5-fold CV and metric, on the same data.

    .venv/bin/python benchmarks/bench_automl.py                       # 60 s and 180 s, ~30 min
    .venv/bin/python benchmarks/bench_automl.py --budgets 60 --datasets mc12   # one row pair
    .venv/bin/python benchmarks/bench_automl.py --split-seeds 0 1 2   # three splits, then means

For each dataset a seeded stratified 80/20 split is made; both systems search on the 80 % with
5-fold CV under the same primary metric and the same wall-clock budget, then refit their best
pipeline on the whole 80 % (outside the budget, for both), and the refit model is scored on the
held-out 20 %: weighted one-vs-rest ROC AUC and log loss for classification, R^2 and RMSE /
range for regression. Both use the machine's 2 cores: FLAML one trial at a time with
``n_jobs=2``, hpt two single-threaded trials at once (``max_concurrent_iterations=2``).

Datasets (FLAML saturates scikit-learn's bundled sets, so none of them is used):

* ``mc12``: ``make_classification(5000, 40, n_informative=15, n_classes=12, random_state=0)``;
* ``friedman``: ``make_friedman1(5000, n_features=30, noise=3.0, random_state=0)`` (25 pure-noise
  features; R^2 of the true function is about 0.73);
* ``talkingdata``: the generated TalkingData sample (``hpt.data.talkingdata``, n_devices 20000,
  the small feature sets: sparse brand/model one-hot and event-time fractions), 12 classes.

One split's 20 % is small (1,000-1,600 rows): configurations whose CV scores are level can differ
by 0.01 test AUC on it, so ``--split-seeds`` repeats every row on other seeded splits and ends
with the means per dataset, budget and system, and how many splits hpt won.

The machine is shared: the two systems run interleaved (alternating which goes first per
dataset) in the same process, so both see the same background load as closely as possible.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DATASETS = ("mc12", "friedman", "talkingdata")
CLASSIFICATION = {"mc12", "talkingdata"}


def positive_seconds(text: str) -> float:
    """``--budgets``' type: a time budget in seconds, > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0; use e.g. 60")
    return value


def load(name: str) -> tuple[Any, np.ndarray]:
    from sklearn import datasets

    if name == "mc12":
        X, y = datasets.make_classification(
            5000, 40, n_informative=15, n_classes=12, random_state=0
        )
        return X, np.asarray(y)
    if name == "friedman":
        X, y = datasets.make_friedman1(5000, n_features=30, noise=3.0, random_state=0)
        return X, np.asarray(y)
    from omegaconf import OmegaConf

    from hpt.config import DatasetConfig
    from hpt.data import load_dataset

    data = load_dataset(
        OmegaConf.structured(DatasetConfig(kind="talkingdata", n_devices=20000, seed=0)),
        OmegaConf.create({"sets": ["brand_model", "weekday", "hour", "weekday_hour"]}),
    )
    return data.X, data.y


def test_scores(
    model: Any, X: Any, y: np.ndarray, classify: bool, y_range: float
) -> dict[str, float]:
    from hpt.automl.metrics import auc_weighted, log_loss, nrmse, r2

    if classify:
        classes = np.unique(y)
        proba = np.asarray(model.predict_proba(X))
        return {
            "AUC_weighted": auc_weighted(y, proba, classes),
            "log_loss": log_loss(y, proba, classes),
        }
    pred = np.asarray(model.predict(X), dtype=float)
    return {"r2_score": r2(y, pred, y_range), "nrmse": nrmse(y, pred, y_range)}


def run_hpt(X: Any, y: np.ndarray, classify: bool, budget: float, work: Path) -> dict[str, Any]:
    import scipy.sparse as sp

    import hpt

    work.mkdir(parents=True, exist_ok=True)
    if sp.issparse(X):
        sp.save_npz(work / "X.npz", sp.csr_matrix(X))
        loader = "scipy.sparse.load_npz(HERE / 'X.npz')"
    else:
        np.save(work / "X.npy", X)
        loader = "np.load(HERE / 'X.npy')"
    np.save(work / "y.npy", y)
    (work / "get_data.py").write_text(
        "from pathlib import Path\nimport numpy as np\nimport scipy.sparse\n"
        f"HERE = Path({str(work)!r})\n\ndef get_data():\n"
        f"    return {{'X': {loader}, 'y': np.load(HERE / 'y.npy')}}\n"
    )
    started = time.perf_counter()
    result = hpt.tune(
        {
            "dataset": {"kind": "script", "script": str(work / "get_data.py")},
            "features": {"sets": None},
            "trainer": {"kind": "automl"},
            "automl": {
                "task": "classification" if classify else "regression",
                "primary_metric": "AUC_weighted" if classify else "r2_score",
                "experiment_timeout_minutes": budget / 60,
                "n_cross_validations": 5,
                "max_concurrent_iterations": 2,
            },
        },
        work / "run",
    )
    wall = time.perf_counter() - started
    trials = result.state.ordered()
    # With a VotingEnsemble refit (hpt.automl.ensemble) the model is the ensemble: report its
    # cross-validated score and members, not the best single pipeline's.
    summary_file = work / "run" / "best_pipeline.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    ensemble = summary.get("ensemble")
    return {
        "model": result.best_estimator_,
        "cv_best": ensemble["score"] if ensemble else result.best_score_,
        "best": summary["pipeline"] if ensemble else str(result.best_params_),
        "trials": len(trials),
        "completed": sum(t.status.value == "completed" for t in trials),
        "wall": wall,
    }


def print_iterations(run_dir: Path) -> None:
    """One line per iteration from the journal: number, status, seconds of fold work, value,
    parameters."""
    from hpt.journal import read_journal
    from hpt.state import SweepState

    state = SweepState.replay(read_journal(run_dir))
    for t in state.ordered():
        work = sum(f.fit_time + f.score_time for f in t.folds.values())
        value = "" if t.value is None else f"{t.value:.4f}"
        params = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in t.params.items()}
        print(
            f"    {t.number:>3} {t.status.value:<10}{work:>7.1f}s {value:>7} {params}", flush=True
        )


def run_flaml(X: Any, y: np.ndarray, classify: bool, budget: float) -> dict[str, Any]:
    import importlib

    # flaml ships no type hints: reach it as Any rather than silence each use.
    flaml: Any = importlib.import_module("flaml")
    automl = flaml.AutoML()
    started = time.perf_counter()
    automl.fit(
        X,
        y,
        task="classification" if classify else "regression",
        metric="roc_auc_ovr_weighted" if classify else "r2",
        time_budget=budget,
        eval_method="cv",
        n_splits=5,
        n_jobs=2,
        seed=0,
        verbose=0,
    )
    wall = time.perf_counter() - started
    return {
        "model": automl,
        "cv_best": 1.0 - float(automl.best_loss),
        "best": f"{automl.best_estimator} {automl.best_config}",
        "trials": len(automl.config_history),
        "completed": len(automl.config_history),
        "wall": wall,
    }


def run_row(
    system: str,
    name: str,
    budget: float,
    split_seed: int,
    classify: bool,
    X_tr: Any,
    X_te: Any,
    y_tr: np.ndarray,
    y_te: np.ndarray,
    y_range: float,
    tmp: Path,
    trials: bool,
) -> dict[str, Any]:
    """Run one system on one split and print its row."""
    if system == "hpt":
        work = tmp / f"{name}-{budget:g}-split{split_seed}"
        out = run_hpt(X_tr, y_tr, classify, budget, work)
        if trials:
            print_iterations(work / "run")
    else:
        out = run_flaml(X_tr, y_tr, classify, budget)
    model = out.pop("model")
    if model is None:  # nothing completed within the budget
        names = ["AUC_weighted", "log_loss"] if classify else ["r2_score", "nrmse"]
        scores = dict.fromkeys(names, float("nan"))
    else:
        scores = test_scores(model, X_te, y_te, classify, y_range)
    first, second = list(scores.values())
    print(
        f"{name:<12}{budget:>7g}{split_seed:>6}  {system:<6}"
        f"{out['cv_best'] or float('nan'):>9.4f}{first:>9.4f}{second:>9.4f}"
        f"{out['completed']:>5}/{out['trials']:<3}{out['wall']:>8.0f}  {out['best'][:90]}",
        flush=True,
    )
    return {
        "dataset": name,
        "budget": budget,
        "split_seed": split_seed,
        "system": system,
        **scores,
        **out,
    }


def print_summary(rows: list[dict[str, Any]]) -> None:
    """Means over the splits per dataset, budget and system, and hpt's wins out of the splits."""
    print(
        "\n# means over the splits (test, test 2, cv best); hpt - FLAML; splits hpt won", flush=True
    )
    keys = sorted({(r["dataset"], r["budget"]) for r in rows}, key=lambda k: (k[1], k[0]))
    for dataset, budget in keys:
        mine = [r for r in rows if (r["dataset"], r["budget"]) == (dataset, budget)]
        metric = "AUC_weighted" if dataset in CLASSIFICATION else "r2_score"
        second = "log_loss" if dataset in CLASSIFICATION else "nrmse"
        means = {}
        for system in ("hpt", "flaml"):
            got = [r for r in mine if r["system"] == system]
            if got:
                means[system] = [
                    float(np.mean([r[k] for r in got])) for k in (metric, second, "cv_best")
                ]
                print(
                    f"{dataset:<12}{budget:>7g}  {system:<6}{len(got):>3} splits"
                    + "".join(f"{v:>9.4f}" for v in means[system]),
                    flush=True,
                )
        if len(means) == 2:
            by_split = {
                seed: {r["system"]: r[metric] for r in mine if r["split_seed"] == seed}
                for seed in {r["split_seed"] for r in mine}
            }
            wins = sum(
                v.get("hpt", -math.inf) >= v.get("flaml", math.inf) for v in by_split.values()
            )
            # The standard error of the paired per-split difference: one split's test rows move
            # a score by more than the systems differ, so a mean alone says little.
            paired = [v["hpt"] - v["flaml"] for v in by_split.values() if len(v) == 2]
            se = (
                f" (+- {float(np.std(paired, ddof=1)) / math.sqrt(len(paired)):.4f})"
                if len(paired) > 1
                else ""
            )
            print(
                f"{dataset:<12}{budget:>7g}  hpt - FLAML: {metric} "
                f"{means['hpt'][0] - means['flaml'][0]:+.4f}{se}, {second} "
                f"{means['hpt'][1] - means['flaml'][1]:+.4f}; hpt won {wins}/{len(by_split)}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=positive_seconds, nargs="+", default=[60, 180])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument(
        "--systems",
        nargs="+",
        default=["hpt", "flaml"],
        choices=["hpt", "flaml"],
        help="run only these (one system alone is for trying changes, not for the table)",
    )
    parser.add_argument(
        "--split-seeds",
        type=int,
        nargs="+",
        default=[0],
        help="seeds of the 80/20 splits; with more than one, a summary of the means follows",
    )
    parser.add_argument("--out", type=Path, default=None, help="append JSON lines here")
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep hpt's run dirs here (default: a temp dir)"
    )
    parser.add_argument(
        "--trials", action="store_true", help="print each hpt iteration (family, size, seconds)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("flaml").setLevel(logging.WARNING)
    from importlib.metadata import version

    import sklearn
    from sklearn.model_selection import train_test_split

    print(
        f"# machine: {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}, "
        f"scikit-learn {sklearn.__version__}, flaml {version('flaml')}",
        flush=True,
    )
    data = {}
    for name in args.datasets:
        X, y = load(name)
        data[name] = (name in CLASSIFICATION, X, y)
        print(
            f"# {name}: X {X.shape}, "
            f"{f'{len(np.unique(y))} classes' if name in CLASSIFICATION else 'regression'}",
            flush=True,
        )
    header = f"{'dataset':<12}{'budget':>7}{'split':>6}  {'system':<6}{'cv best':>9}{'test':>9}{'test 2':>9}{'done/all':>9}{'wall s':>8}  best"
    print(header, flush=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-automl-") as scratch:
        tmp = str(args.keep or scratch)
        for budget in args.budgets:
            for split_seed in args.split_seeds:
                for i, (name, (classify, X, y)) in enumerate(data.items()):
                    X_tr, X_te, y_tr, y_te = train_test_split(
                        X,
                        y,
                        test_size=0.2,
                        random_state=split_seed,
                        stratify=y if classify else None,
                    )
                    y_range = float(np.ptp(np.asarray(y_tr, dtype=float)))
                    order = ["hpt", "flaml"] if (i + split_seed) % 2 == 0 else ["flaml", "hpt"]
                    for system in [s for s in order if s in args.systems]:
                        row = run_row(
                            system,
                            name,
                            budget,
                            split_seed,
                            classify,
                            X_tr,
                            X_te,
                            y_tr,
                            y_te,
                            y_range,
                            Path(tmp),
                            args.trials,
                        )
                        rows.append(row)
                        if args.out is not None:
                            with args.out.open("a") as handle:
                                finite = {
                                    k: v
                                    for k, v in row.items()
                                    if not isinstance(v, float) or math.isfinite(v)
                                }
                                handle.write(json.dumps(finite) + "\n")
    if len(args.split_seeds) > 1:
        print_summary(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
