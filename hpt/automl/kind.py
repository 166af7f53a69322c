"""``trainer.kind=automl``: AzureML-style automated ML as one more trainer kind.

:meth:`AutoMLKind.prepare` maps the ``automl`` section (AzureML's ``AutoMLConfig`` names) onto the
generic sweep: the metric and its goal, the sampler (:class:`~hpt.automl.AutoMLSampler` over the
conditional pipeline space), the folds and the resource limits. From there the sweep is an
ordinary one: journal, resume, policies, every compute target and the result files work unchanged.

=================================  ==========================================
``automl.``                         becomes
=================================  ==========================================
``primary_metric``                  ``metric.primary_metric`` (+ its goal)
``iterations``                      ``resources.max_total_runs``
``iteration_timeout_minutes``       ``resources.trial_timeout_minutes``
``experiment_timeout_minutes``      ``resources.max_duration_minutes``
``experiment_exit_score``           ``resources.stop_at_score``
``max_concurrent_iterations``       ``resources.max_concurrent_runs``
``n_cross_validations``             ``cv.n_splits`` (shuffled, stratified for classification)
``validation_size``                 one seeded hold-out split instead of folds
``task``, models, ``preprocess``    the sampler's space
=================================  ==========================================
"""

from __future__ import annotations

import copy
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from hpt.automl import data as script_data
from hpt.automl.costs import allowance_seconds
from hpt.automl.metrics import metric_for
from hpt.automl.space import resolve_models
from hpt.errors import ConfigError
from hpt.trainers.factory import KindCheck, TrainerKind

if TYPE_CHECKING:
    from hpt.automl.ensemble import Ensemble
    from hpt.callbacks import SweepCallback
    from hpt.experiment import Experiment
    from hpt.state import SweepState
    from hpt.trainers._base import Trainer

log = logging.getLogger("hpt")

#: share of ``experiment_timeout_minutes`` held back for refitting the VotingEnsemble's members
#: (at 60 s on benchmarks/bench_automl.py's 12-class set, fitting four 119-tree forests on all
#: 4,000 rows took 9 s on one core, under 5 s on two)
ENSEMBLE_RESERVE = 0.1

#: automl key -> resources key
RESOURCE_KEYS = {
    "iterations": "max_total_runs",
    "iteration_timeout_minutes": "trial_timeout_minutes",
    "experiment_timeout_minutes": "max_duration_minutes",
    "experiment_exit_score": "stop_at_score",
    "max_concurrent_iterations": "max_concurrent_runs",
}


def _number(key: str, value: Any, *, integer: bool, low: float, high: float | None = None) -> None:
    if value is None:
        return
    bad = isinstance(value, bool) or not isinstance(value, int | float)
    bad = bad or (integer and not isinstance(value, int)) or value < low
    bad = bad or (high is not None and value >= high) or (not integer and value <= low)
    if bad:
        kind = "an integer" if integer else "a number"
        bound = f">= {low:g}" if integer else f"> {low:g}" + (f" and < {high:g}" if high else "")
        raise ConfigError(f"automl.{key}", f"must be {kind} {bound}, got {value!r}")


class AutoMLKind(TrainerKind):
    """Pipelines (preprocessing + model family + its hyperparameters) scored by CV."""

    name = "automl"

    # -- config ------------------------------------------------------------------------------
    def prepare(self, cfg: DictConfig) -> DictConfig:
        import importlib.util

        if importlib.util.find_spec("optuna") is None:
            raise ConfigError(
                "trainer.kind", "automl searches with Optuna; pip install 'hpt[automl]' (optuna)"
            )
        a = cfg.automl
        task = str(a.task)
        metric = metric_for(task, a.primary_metric)
        allowed = None if a.allowed_models is None else [str(m) for m in a.allowed_models]
        blocked = None if a.blocked_models is None else [str(m) for m in a.blocked_models]
        models = resolve_models(task, allowed, blocked)
        _number("iterations", a.iterations, integer=True, low=1)
        _number("iteration_timeout_minutes", a.iteration_timeout_minutes, integer=False, low=0)
        _number("experiment_timeout_minutes", a.experiment_timeout_minutes, integer=False, low=0)
        _number("max_concurrent_iterations", a.max_concurrent_iterations, integer=True, low=1)
        _number("n_cross_validations", a.n_cross_validations, integer=True, low=2)
        _number("validation_size", a.validation_size, integer=False, low=0, high=1)
        if a.validation_size is None and a.n_cross_validations is None:
            raise ConfigError(
                "automl.n_cross_validations",
                "set it (e.g. 5) or automl.validation_size (e.g. 0.2)",
            )
        res = cfg.resources
        if (
            a.iterations is None
            and a.experiment_timeout_minutes is None
            and res.max_total_runs is None
            and res.max_duration_minutes is None
        ):
            raise ConfigError(
                "automl.iterations",
                "the pipeline space is unbounded; set automl.iterations=N or "
                "automl.experiment_timeout_minutes=M",
            )
        out = copy.deepcopy(cfg)
        out.metric.primary_metric = metric.name
        out.metric.goal = metric.goal
        out.model = {}
        # The flat view of the space (plan, cv_results' param_model column); the sampler asks
        # the conditional rest.
        out.search_space = {"model": models}
        for key, target in RESOURCE_KEYS.items():
            if a[key] is not None:
                out.resources[target] = a[key]
        if a.experiment_timeout_minutes is not None and bool(a.enable_voting_ensemble):
            # The experiment's time covers its VotingEnsemble's refit (as AzureML's ensemble
            # iterations count within it): the search ends that much earlier.
            out.resources.max_duration_minutes = float(a.experiment_timeout_minutes) * (
                1.0 - ENSEMBLE_RESERVE
            )
        out.sampler = {
            "_target_": "hpt.automl.AutoMLSampler",
            "seed": int(cfg.seed),
            "task": task,
            "models": models,
            "preprocess": bool(a.preprocess),
            "goal": metric.goal,
            "search": str(a.search),
            "allowance": allowance_seconds(
                out.resources.max_duration_minutes,
                out.resources.max_concurrent_runs,
                out.resources.trial_timeout_minutes,
            ),
        }
        if a.n_cross_validations is not None:
            out.cv.n_splits = int(a.n_cross_validations)
        out.cv.shuffle = True
        return out

    def check(self, parts: KindCheck) -> Any:
        cfg = parts.cfg
        if parts.interval_unit == "round":
            raise ConfigError(
                "policy.interval_unit",
                "automl reports per fold; use policy.interval_unit=fold",
            )
        if str(cfg.dataset.kind) == script_data.KIND:
            script_data.script_path(cfg.dataset)
        else:
            from hpt.data import check_dataset

            check_dataset(cfg.dataset, cfg.features)
        return None

    def n_folds(self, cfg: DictConfig) -> int | None:
        return 1 if cfg.automl.validation_size is not None else int(cfg.cv.n_splits)

    # -- data and trainer --------------------------------------------------------------------
    def load_dataset(self, exp: Experiment) -> Any:
        if str(exp.cfg.dataset.kind) == script_data.KIND:
            dataset = script_data.load_script(exp.cfg.dataset, str(exp.cfg.automl.task))
        else:
            dataset = super().load_dataset(exp)
        from hpt.automl.sampler import AutoMLSampler
        from hpt.automl.trainer import is_sparse

        _leave_out_dense_only(exp, dataset)
        if isinstance(exp.sampler, AutoMLSampler):
            exp.sampler.n_features = int(dataset.X.shape[1])
            exp.sampler.sparse = is_sparse(dataset.X)
        return dataset

    @staticmethod
    def _target_facts(exp: Experiment, y: np.ndarray) -> tuple[np.ndarray | None, float]:
        if str(exp.cfg.automl.task) == "classification":
            return np.unique(y), 0.0
        return None, float(np.ptp(np.asarray(y, dtype=float)))

    def folds(self, exp: Experiment, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

        classify = str(exp.cfg.automl.task) == "classification"
        seed = int(exp.cfg.cv.seed)
        rows = np.arange(len(y))
        size = exp.cfg.automl.validation_size
        if size is not None:
            train, test = train_test_split(
                rows, test_size=float(size), random_state=seed, stratify=y if classify else None
            )
            return [(np.sort(train), np.sort(test))]
        n = int(exp.cfg.cv.n_splits)
        splitter = (StratifiedKFold if classify else KFold)(n, shuffle=True, random_state=seed)
        return list(splitter.split(rows, y))

    def build(self, exp: Experiment, dataset: Any, run_dir: Path | None) -> Trainer:
        from hpt.automl.trainer import AutoMLTrainer

        classes, y_range = self._target_facts(exp, dataset.y)
        return AutoMLTrainer(
            dataset.X,
            dataset.y,
            self.folds(exp, dataset.y),
            task=str(exp.cfg.automl.task),
            metric=exp.metric,
            classes=classes,
            y_range=y_range,
            seed=int(exp.cfg.seed),
            threads=int(exp.cfg.resources.threads_per_trial),
        )

    def refit(
        self,
        exp: Experiment,
        dataset: Any,
        params: dict[str, Any],
        run_dir: Path,
        state: SweepState | None = None,
    ) -> Any:
        """Fit the best pipeline on all rows: ``model.joblib``, ``best_pipeline.json`` and, with
        ``automl.explain``, ``explanations.json``/``.csv``. With ``automl.enable_voting_ensemble``
        and a ``state`` whose best iterations average to a better CV score
        (:mod:`hpt.automl.ensemble`), the saved model is that VotingEnsemble instead."""
        from hpt.automl.ensemble import VotingEnsemble
        from hpt.automl.pipeline import describe
        from hpt.trainers._kinds import save_model

        task = str(exp.cfg.automl.task)
        started = time.perf_counter()
        chosen = None
        if bool(exp.cfg.automl.enable_voting_ensemble) and state is not None:
            chosen = self._ensemble(exp, dataset, state, run_dir)
        summary: dict[str, Any] = {"pipeline": describe(params), "params": params}
        if chosen is None:
            model = self._fit_pipelines(exp, dataset, [params])[0]
        else:
            members = [dict(state.trials[t].params) for t in chosen.weights]  # type: ignore[union-attr]
            model = VotingEnsemble(
                self._fit_pipelines(exp, dataset, members), list(chosen.weights.values()), task
            )
            summary["pipeline"] = "VotingEnsemble: " + " + ".join(
                f"{w:.2f} {describe(p)}"
                for p, w in zip(members, chosen.weights.values(), strict=True)
            )
            summary["ensemble"] = {
                "score": chosen.score,
                "best_single_score": chosen.best_single_score,
                "members": [
                    {"trial_id": t, "weight": w, "pipeline": describe(p), "params": p}
                    for (t, w), p in zip(chosen.weights.items(), members, strict=True)
                ],
            }
            log.info(
                "VotingEnsemble of %d iterations: %s %.4f by CV (the best one: %.4f)",
                len(chosen.weights),
                exp.metric,
                chosen.score,
                chosen.best_single_score,
            )
        save_model(model, run_dir)
        summary["metric"] = exp.metric
        (run_dir / "best_pipeline.json").write_text(json.dumps(summary, indent=2) + "\n")
        log.info(
            "refit %s on all %d rows in %.1fs",
            summary["pipeline"]
            if chosen is not None
            else f"the best pipeline ({describe(params)})",
            dataset.X.shape[0],
            time.perf_counter() - started,
        )
        if bool(exp.cfg.automl.explain):
            self.explain(exp, dataset, model, run_dir)
        return model

    @staticmethod
    def _fit_pipelines(exp: Experiment, dataset: Any, members: list[dict[str, Any]]) -> list[Any]:
        """The pipelines of ``members`` fitted on all rows, as many at a time as the machine has
        cores for the trials' thread count (threads: the learners release the GIL to fit)."""
        import os
        import warnings
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        from hpt.automl.pipeline import build_pipeline
        from hpt.automl.trainer import is_mixed, is_sparse

        # The trials' thread count: OpenMP learners (LightGBM, scikit-learn's boosting) given
        # more threads than a busy machine can schedule spin in their barriers for minutes.
        threads = int(exp.cfg.resources.threads_per_trial)
        workers = max(1, min(len(members), (os.cpu_count() or 1) // max(1, threads)))

        def fit(params: dict[str, Any]) -> Any:
            pipeline = build_pipeline(
                params,
                str(exp.cfg.automl.task),
                seed=int(exp.cfg.seed),
                threads=threads,
                mixed=is_mixed(dataset.X),
                sparse=is_sparse(dataset.X),
            )
            return pipeline.fit(dataset.X, dataset.y)

        # Both contexts are process-wide: entered once, around every fit.
        with warnings.catch_warnings(), threadpool_limits(limits=threads):
            warnings.simplefilter("ignore")
            if workers == 1:
                return [fit(p) for p in members]
            with ThreadPoolExecutor(max_workers=workers) as pool:
                return list(pool.map(fit, members))

    def _ensemble(
        self, exp: Experiment, dataset: Any, state: SweepState, run_dir: Path
    ) -> Ensemble | None:
        """Ensemble selection over the best completed iterations that left out-of-fold
        predictions, or ``None`` when one pipeline alone scores as well (or the best one has no
        predictions)."""
        from hpt.automl.ensemble import CANDIDATES, Ensemble, select
        from hpt.automl.metrics import METRICS, score
        from hpt.automl.trainer import MAX_PREDICTION_VALUES, PREDICTIONS

        sign = 1.0 if exp.goal == "maximize" else -1.0
        done = [
            t
            for t in state.trials.values()
            if t.status.value == "completed" and t.value is not None and np.isfinite(t.value)
        ]
        done.sort(key=lambda t: (-sign * float(t.value or 0.0), t.number))
        order: list[str] = []
        seen: set[str] = set()
        for trial in done:
            key = json.dumps(dict(trial.params), sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                order.append(trial.trial_id)
            if len(order) == CANDIDATES:
                break
        predictions: dict[str, np.ndarray] = {}
        rows = len(dataset.y)
        for tid in order:
            path = run_dir / "trials" / tid / PREDICTIONS
            try:
                array = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                continue
            if array.shape[0] == rows:
                predictions[tid] = array.astype(float)
        if not order or order[0] not in predictions or len(predictions) < 2:
            log.info(
                "no VotingEnsemble: the best iterations left no out-of-fold predictions (data "
                "over %d rows x classes, or iterations resumed part-way)",
                MAX_PREDICTION_VALUES,
            )
            return None
        classes, y_range = self._target_facts(exp, dataset.y)
        metric = METRICS[exp.metric]
        tests = [test for _, test in self.folds(exp, dataset.y)]

        def cv_score(oof: np.ndarray) -> float:
            values = [
                score(metric, dataset.y[t], oof[t], classes=classes, y_range=y_range) for t in tests
            ]
            return sign * float(np.mean(values))

        weights, best = select(predictions, cv_score, order)
        if len(weights) < 2:
            log.info("no VotingEnsemble: no average of the best iterations scored better by CV")
            return None
        return Ensemble(weights, sign * best, sign * cv_score(predictions[order[0]]))

    def explain(self, exp: Experiment, dataset: Any, pipeline: Any, run_dir: Path) -> None:
        from hpt.automl.explain import (
            permutation_importances,
            shap_importances,
            write_explanations,
        )

        started = time.perf_counter()
        classes, y_range = self._target_facts(exp, dataset.y)
        result = permutation_importances(
            pipeline,
            dataset.X,
            dataset.y,
            list(dataset.feature_names),
            metric=exp.metric,
            classes=classes,
            y_range=y_range,
            seed=int(exp.cfg.seed),
        )
        try:
            shap_values = shap_importances(
                pipeline,
                dataset.X,
                list(dataset.feature_names),
                str(exp.cfg.automl.task),
                int(exp.cfg.seed),
            )
        except Exception as err:  # SHAP is a bonus: say why it is missing, keep the rest
            log.warning("SHAP values not computed: %s: %s", type(err).__name__, err)
            shap_values = None
        if shap_values is not None:
            result["shap"] = shap_values
        write_explanations(result, run_dir)
        top = ", ".join(e["feature"] for e in result["overall"][:5])
        log.info(
            "explanations in %s (%.1fs); most important: %s",
            run_dir / "explanations.json",
            time.perf_counter() - started,
            top,
        )

    # -- session -----------------------------------------------------------------------------
    def sweep_callbacks(
        self, exp: Experiment, run_dir: Path, callbacks: list[SweepCallback]
    ) -> list[SweepCallback]:
        from hpt.automl.table import AutoMLTable
        from hpt.progress import ConsoleProgress

        kept = [c for c in callbacks if not isinstance(c, ConsoleProgress)]
        return [*kept, AutoMLTable(exp.metric, exp.goal)]

    def worker_modules(self, exp: Experiment) -> list[str]:
        modules = [
            "numpy",
            "scipy.sparse",
            "sklearn.pipeline",
            "sklearn.preprocessing",
            "sklearn.ensemble",
            "sklearn.linear_model",
            "hpt.automl.trainer",
        ]
        models = OmegaConf.select(exp.cfg, "sampler.models") or []
        return modules + [m for m in ("xgboost", "lightgbm") if m in models]


def _leave_out_dense_only(exp: Experiment, dataset: Any) -> None:
    """On sparse data, leave out the families that need dense input (scikit-learn's histogram
    gradient boosting: densifying thousands of sparse columns costs most of a time budget, and
    LightGBM and XGBoost boost on sparse data directly), unless ``allowed_models`` names them:
    then they get a dense copy of each fold."""
    from hpt.automl.pipeline import DENSE_ONLY
    from hpt.automl.sampler import AutoMLSampler
    from hpt.automl.trainer import is_sparse

    sampler = exp.sampler
    if not isinstance(sampler, AutoMLSampler) or not is_sparse(dataset.X):
        return
    explicit = {str(m) for m in exp.cfg.automl.allowed_models or []}
    dropped = [m for m in sampler.models if m in DENSE_ONLY and m not in explicit]
    if dropped and len(dropped) < len(sampler.models):
        sampler.models = [m for m in sampler.models if m not in dropped]
        log.info(
            "sparse data: %s left out (it needs dense input; name it in automl.allowed_models "
            "to search it on a dense copy)",
            ", ".join(dropped),
        )
