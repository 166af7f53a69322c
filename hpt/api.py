"""The Python API: :func:`tune` runs a sweep from a composed config; :func:`resume` continues one.

The ``hpt`` command is a thin layer over these two functions.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hpt.config import as_config
from hpt.errors import ConfigError, HptError
from hpt.experiment import Experiment, construct
from hpt.journal import Journal, read_journal
from hpt.results import best_trial, cv_results, write_results
from hpt.state import SweepState
from hpt.sweep import SweepLoop
from hpt.trainers import Trainer
from hpt.trial import TrialStatus
from launchers.base import Launcher

log = logging.getLogger("hpt")

CONFIG_NAME = "hpt_config.yaml"


@dataclass
class TuneResult:
    """What a sweep produced; attribute names follow scikit-learn's search estimators."""

    run_dir: Path
    metric: str
    cv_results_: dict[str, Any]
    best_params_: dict[str, Any] | None
    best_score_: float | None
    best_index_: int | None
    best_trial_id: str | None
    best_estimator_: Any
    state: SweepState
    end_reason: str


def new_run_dir(root: str | os.PathLike[str] = "outputs") -> Path:
    """``root/YYYY-MM-DD/HH-MM-SS``, suffixed ``-1``, ``-2``, ... if a sweep already took it."""
    now = datetime.now()
    return claim_dir(Path(root) / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S"))


def claim_dir(base: Path) -> Path:
    """Create and return ``base``, or ``base-1``, ``base-2``, ... if it exists (atomic claim)."""
    base.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = base, 0
    while True:
        try:
            candidate.mkdir()  # atomic claim: two sweeps in the same second get different dirs
            return candidate
        except FileExistsError:
            n += 1
            candidate = base.with_name(f"{base.name}-{n}")


def build_trainer(exp: Experiment, dataset: Any, run_dir: Path | None = None) -> Trainer:
    """The worker-side trainer for ``exp`` over ``dataset`` (folds fixed here, on the driver).

    ``run_dir``: script trials keep their output in ``run_dir/trials/<id>/``.
    """
    from hpt.trainers import CrossValidationTrainer
    from hpt.trainers._cv import apply_thread_limit

    if exp.trainer_kind == "script":
        from hpt.trainers._script import ScriptTrainer

        log_dir = None if run_dir is None else run_dir / "trials"
        return ScriptTrainer.from_config(exp.cfg, exp.metric, log_dir=log_dir)
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import KFold, StratifiedKFold, check_cv

    cv_cfg = exp.cfg.cv
    estimator = apply_thread_limit(clone(exp.estimator), int(exp.cfg.resources.threads_per_trial))
    splitter: Any = int(cv_cfg.n_splits)
    if cv_cfg.shuffle:
        kind = StratifiedKFold if is_classifier(estimator) else KFold
        splitter = kind(int(cv_cfg.n_splits), shuffle=True, random_state=int(cv_cfg.seed))
    folds = list(
        check_cv(splitter, dataset.y, classifier=is_classifier(estimator)).split(
            dataset.X, dataset.y
        )
    )
    error_score = Experiment._error_score(cv_cfg.error_score)
    kwargs: dict[str, Any] = {
        "error_score": error_score,
        "return_train_score": bool(cv_cfg.return_train_score),
    }
    if exp.interval_unit == "round":
        from hpt.trainers._rounds import BoostingRoundTrainer

        return BoostingRoundTrainer(
            estimator,
            dataset.X,
            dataset.y,
            folds,
            exp.metric,
            report_every=exp.report_every,
            **kwargs,
        )
    return CrossValidationTrainer(estimator, dataset.X, dataset.y, folds, exp.metric, **kwargs)


def build_launcher(exp: Experiment, capacity: int | None = None) -> Launcher:
    compute = OmegaConf.to_container(exp.cfg.compute, resolve=True)
    assert isinstance(compute, dict)
    wanted = capacity or exp.capacity
    planned = exp.planned_trials()
    if wanted is not None and planned is not None and wanted > planned:
        log.info("max_concurrent_runs=%d capped at %d (the number of trials)", wanted, planned)
        wanted = planned
    launcher = construct("compute", {str(k): v for k, v in compute.items()}, capacity=wanted)
    if not isinstance(launcher, Launcher):
        raise ConfigError("compute._target_", f"{compute['_target_']} is not a hpt Launcher")
    return launcher


def _progress(exp: Experiment) -> Any:
    planned = exp.planned_trials()

    def on_event(event: dict[str, Any], state: SweepState) -> None:
        kind = event["event"]
        if kind not in ("completed", "failed", "terminated", "timed_out", "cancelled"):
            return
        trial = state.trials[event["trial_id"]]
        done = sum(1 for t in state.trials.values() if t.status.is_finished())
        total = f"/{planned}" if planned else ""
        best = best_trial(state, exp.goal)
        best_text = (
            f"best {best.value:.5f} (trial {best.trial_id})"
            if best and best.value is not None
            else "no best yet"
        )
        if kind == "completed":
            what = f"{exp.metric} {trial.value:.5f}"
        elif kind == "terminated":
            reason = trial.stop_reason or {}
            what = f"stopped early at interval {reason.get('interval')} by {reason.get('rule')}"
        else:
            what = f"{kind}: {trial.error or ''}".strip()
        log.info("[%d%s] trial %s %s | %s", done, total, trial.trial_id, what, best_text)

    return on_event


def _run(
    exp: Experiment,
    run_dir: Path,
    journal: Journal,
    state: SweepState,
    dataset: Any,
    launcher: Launcher,
    *,
    resumed: bool,
) -> TuneResult:
    n_folds = exp.n_folds
    train_score = bool(exp.cfg.cv.return_train_score) if n_folds else False

    def write(current: SweepState) -> None:
        write_results(
            run_dir,
            current,
            metric=exp.metric,
            goal=exp.goal,
            param_names=exp.space.names,
            n_folds=n_folds,
            train_score=train_score,
        )

    loop = SweepLoop(
        journal=journal,
        state=state,
        sampler=exp.sampler,
        launcher=launcher,
        limits=exp.limits,
        goal=exp.goal,
        policy=exp.policy,
        on_change=write,
        on_event=_progress(exp),
    )
    if resumed:
        loop.requeue_unfinished()
    trainer = build_trainer(exp, dataset, run_dir)
    log.info("running on %s", launcher.describe())
    try:
        launcher.open(trainer)
        reason = loop.run(prior_elapsed=state.elapsed_seconds())
    except KeyboardInterrupt:
        journal.append("sweep_interrupted", reason="KeyboardInterrupt")
        log.warning("interrupted; continue with: hpt resume %s", run_dir)
        raise
    finally:
        launcher.close()
        write(state)
        journal.close()
    return _finish(exp, run_dir, state, dataset, reason)


def _finish(
    exp: Experiment, run_dir: Path, state: SweepState, dataset: Any, reason: str
) -> TuneResult:
    n_folds = exp.n_folds
    results = cv_results(state, exp.space.names, n_folds) if n_folds else {}
    best = best_trial(state, exp.goal)
    best_estimator = None
    best_index = None
    if best is not None and n_folds:
        ids = list(results.get("trial_id", []))
        best_index = ids.index(best.trial_id) if best.trial_id in ids else None
        if bool(exp.cfg.refit) and dataset is not None:
            best_estimator = refit(exp, dataset, best.params, run_dir)
    return TuneResult(
        run_dir=run_dir,
        metric=exp.metric,
        cv_results_=results,
        best_params_=None if best is None else dict(best.params),
        best_score_=None if best is None else best.value,
        best_index_=best_index,
        best_trial_id=None if best is None else best.trial_id,
        best_estimator_=best_estimator,
        state=state,
        end_reason=reason,
    )


def refit(exp: Experiment, dataset: Any, params: dict[str, Any], run_dir: Path) -> Any:
    """Fit the best configuration on all training rows and save ``model.joblib`` atomically."""
    import joblib
    from sklearn.base import clone

    from hpt.trainers._cv import apply_thread_limit

    started = time.perf_counter()
    estimator = apply_thread_limit(clone(exp.estimator), os.cpu_count() or 1)
    estimator.set_params(**params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        estimator.fit(dataset.X, dataset.y)
    for item in {f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught}:
        log.info("refit warning: %s", item)
    fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".tmp", dir=run_dir)
    os.close(fd)
    joblib.dump(estimator, tmp)
    os.replace(tmp, run_dir / "model.joblib")
    log.info(
        "refit the best configuration on all %d rows in %.1fs",
        dataset.X.shape[0],
        time.perf_counter() - started,
    )
    return estimator


def _worker_modules(exp: Experiment) -> list[str]:
    """Modules a worker can import before the data arrives (the estimator's library first)."""
    modules = ["numpy", "scipy.sparse", "sklearn.base", "sklearn.metrics"]
    if exp.estimator is not None:
        modules.append(type(exp.estimator).__module__)
    return modules


def tune(cfg: Any, run_dir: str | os.PathLike[str] | None = None) -> TuneResult:
    """Run the sweep described by ``cfg`` (a composed config, or a dict merged over the schema).

    Writes the journal and every result file to ``run_dir`` (default: a new
    ``outputs/YYYY-MM-DD/HH-MM-SS``) and returns a :class:`TuneResult`.
    """
    from hpt.data import load_dataset

    cfg = as_config(cfg)
    exp = Experiment.from_config(cfg)
    directory = Path(run_dir) if run_dir is not None else new_run_dir()
    directory.mkdir(parents=True, exist_ok=True)
    if read_journal(directory):
        raise HptError(
            f"{directory} already holds a sweep; continue it with: hpt resume {directory}"
        )
    (directory / CONFIG_NAME).write_text(OmegaConf.to_yaml(cfg, resolve=False))
    launcher = build_launcher(exp)
    try:
        launcher.warm_up(_worker_modules(exp))
        dataset = load_dataset(cfg.dataset, cfg.features) if exp.trainer_kind == "cv" else None
    except BaseException:
        launcher.close()
        raise
    journal = Journal(directory)
    state = SweepState()
    header = journal.append(
        "sweep_created",
        config=exp.result_config(),
        data_fingerprint=None if dataset is None else dataset.fingerprint,
        max_total_runs=exp.limits.max_total_runs,
        plan=exp.plan(launcher.capacity),
    )
    state.apply(header)
    if dataset is not None:
        log.info("data: %s, %d rows x %d features", dataset.description, *dataset.shape)
    for line in exp.plan(launcher.capacity):
        log.info("%s", line)
    log.info("output dir: %s", directory.resolve())
    return _run(exp, directory, journal, state, dataset, launcher, resumed=False)


def _recompose(run_dir: Path, overrides: list[str]) -> DictConfig:
    """The sweep's config again: Hydra's saved overrides plus ``overrides``, or the saved YAML."""
    saved_overrides = run_dir / ".hydra" / "overrides.yaml"
    if saved_overrides.exists():
        from hpt.cli import compose

        previous = [str(o) for o in OmegaConf.load(saved_overrides)]
        return compose([*previous, *overrides])
    saved = run_dir / CONFIG_NAME
    if not saved.exists():
        raise HptError(f"{run_dir} has no {CONFIG_NAME}; it was not written by hpt")
    cfg = as_config(OmegaConf.load(saved))
    if overrides:  # a sweep started from Python: plain key=value overrides merge directly
        cfg = as_config(OmegaConf.merge(cfg, OmegaConf.from_dotlist(overrides)))
    return cfg


def config_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Human-readable differences between two plain config trees (``key: old -> new``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                out.append(f"{path}: added {new[key]!r}")
            elif key not in new:
                out.append(f"{path}: removed (was {old[key]!r})")
            else:
                out.extend(config_differences(old[key], new[key], path))
        return out
    return [] if old == new else [f"{prefix}: {old!r} -> {new!r}"]


def resume(
    run_dir: str | os.PathLike[str],
    *,
    overrides: list[str] | None = None,
    force: bool = False,
    extend: int | None = None,
    rerun_failed: bool = False,
) -> TuneResult | None:
    """Continue the sweep in ``run_dir`` toward its budget; see the README's "Resume" section.

    Completed trials and completed folds are kept; trials in flight are run again. A config change
    that alters results is refused unless ``force``; ``extend`` adds trials to the budget;
    ``rerun_failed`` runs the failed trials again. Returns ``None`` when there was nothing to do.
    """
    from hpt.data import load_dataset

    directory = Path(run_dir)
    events = read_journal(directory)
    if not events:
        raise ConfigError("run_dir", f"{str(directory)!r} holds no sweep journal; check the path")
    state = SweepState.replay(events)
    cfg = _recompose(directory, list(overrides or []))
    exp = Experiment.from_config(cfg)
    differences = config_differences(state.header.get("config", {}), exp.result_config())
    if differences and not force:
        raise ConfigError(
            "resume",
            f"the config changed in ways that alter results ({'; '.join(differences)}); "
            "undo the change or pass --force to accept it",
        )
    budget = state.max_total_runs
    if extend is not None:
        if extend < 1:
            raise ConfigError("--extend", f"must be >= 1, got {extend}")
        budget = (budget if budget is not None else len(state.trials)) + extend
    elif exp.limits.max_total_runs is not None and (
        budget is None or exp.limits.max_total_runs > budget
    ):
        budget = exp.limits.max_total_runs
    failed = [t for t in state.ordered() if t.status is TrialStatus.FAILED]
    nothing_new = budget == state.max_total_runs and not (rerun_failed and failed)
    if state.finished and not state.aborted and nothing_new and not state.unfinished():
        exhausted = exp.sampler.suggest(state.next_number, state.records()) is None
        full = budget is not None and state.next_number >= budget
        if exhausted or full:
            log.info(
                "the sweep in %s already finished (%s); nothing to do. Add trials with --extend N",
                directory,
                state.end_reason,
            )
            return None
    exp.limits.max_total_runs = budget
    launcher = build_launcher(exp)
    try:
        launcher.warm_up(_worker_modules(exp))
        dataset = load_dataset(cfg.dataset, cfg.features) if exp.trainer_kind == "cv" else None
        if (
            dataset is not None
            and state.header.get("data_fingerprint") not in (None, dataset.fingerprint)
            and not force
        ):
            raise ConfigError(
                "dataset",
                "the training data differs from the data the sweep started with; restore it or "
                "pass --force to accept it",
            )
    except BaseException:
        launcher.close()
        raise
    journal = Journal(directory)
    record = journal.append(
        "sweep_resumed", max_total_runs=budget, forced=differences if force else [], plan=exp.plan()
    )
    state.apply(record)
    if budget != state.header.get("max_total_runs"):
        state.apply(journal.append("budget_extended", max_total_runs=budget))
    if rerun_failed:
        for trial in failed:
            state.apply(journal.append("reset", trial_id=trial.trial_id))
    done = sum(1 for t in state.trials.values() if t.status.is_finished())
    log.info(
        "resuming %s: %d trial(s) done, %d to re-run", directory, done, len(state.unfinished())
    )
    return _run(exp, directory, journal, state, dataset, launcher, resumed=True)
