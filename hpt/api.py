"""The Python API: :func:`tune` runs a sweep from a composed config; :func:`resume` continues one.

The ``hpt`` command is a thin layer over these two functions. Both go through one path
(:mod:`hpt.session`): take the run dir's writer lock, start the workers while the data loads, run
the sweep loop with its callbacks, assemble the results.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hpt.config import as_config, config_differences
from hpt.errors import ConfigError, HptError
from hpt.experiment import Experiment
from hpt.journal import read_journal
from hpt.remote import remote_target
from hpt.rundir import ensure_dir, new_run_dir
from hpt.session import TuneResult, open_session
from hpt.state import SweepState
from hpt.trial import TrialStatus

log = logging.getLogger("hpt")

CONFIG_NAME = "hpt_config.yaml"

__all__ = ["TuneResult", "config_differences", "resume", "tune"]


def tune(cfg: Any, run_dir: str | os.PathLike[str] | None = None) -> TuneResult:
    """Run the sweep described by ``cfg`` (a composed config, or a dict merged over the schema).

    Writes the journal and every result file to ``run_dir`` (default: a new
    ``outputs/YYYY-MM-DD/HH-MM-SS``) and returns a :class:`TuneResult`.
    """
    cfg = as_config(cfg)
    exp = Experiment.from_config(cfg)
    directory = ensure_dir(Path(run_dir)) if run_dir is not None else new_run_dir()
    target = remote_target(exp)
    if target is not None:  # the whole sweep runs elsewhere; this process mirrors it
        return target.submit(cfg, exp, directory)

    def fresh(_dataset: Any) -> None:
        if read_journal(directory):
            raise HptError(
                f"{directory} already holds a sweep; continue it with: hpt resume {directory}"
            )

    session = open_session(exp, directory, check_data=fresh)
    try:
        (directory / CONFIG_NAME).write_text(OmegaConf.to_yaml(cfg, resolve=False))
        dataset = session.dataset
        session.record(
            "sweep_created",
            config=exp.result_config(),
            data_fingerprint=None if dataset is None else dataset.fingerprint,
            max_total_runs=exp.limits.max_total_runs,
            plan=exp.plan(session.launcher.capacity),
        )
    except BaseException:
        session.close()
        raise
    if dataset is not None:
        log.info("data: %s, %d rows x %d features", dataset.description, *dataset.shape)
    for line in exp.plan(session.launcher.capacity):
        log.info("%s", line)
    log.info("output dir: %s", directory.resolve())
    return session.run()


def _recompose(run_dir: Path, overrides: list[str]) -> DictConfig:
    """The sweep's config again: Hydra's saved overrides plus ``overrides``, or the saved YAML."""
    saved_overrides = run_dir / ".hydra" / "overrides.yaml"
    if saved_overrides.exists():
        from hpt.compose import compose

        previous = [str(o) for o in OmegaConf.load(saved_overrides)]
        return compose([*_without_replaced_groups(previous, overrides), *overrides])
    saved = run_dir / CONFIG_NAME
    if not saved.exists():
        raise HptError(f"{run_dir} has no {CONFIG_NAME}; it was not written by hpt")
    cfg = as_config(OmegaConf.load(saved))
    if overrides:  # a sweep started from Python: plain key=value overrides merge directly
        cfg = as_config(OmegaConf.merge(cfg, OmegaConf.from_dotlist(overrides)))
    return cfg


def _without_replaced_groups(previous: list[str], overrides: list[str]) -> list[str]:
    """``previous`` minus the overrides of a group ``overrides`` picks anew: after ``compute=dsvm
    compute.host=vm``, resuming with ``compute=local`` must drop ``compute.host`` too."""

    def key(override: str) -> str:
        return override.partition("=")[0].lstrip("+~")

    groups = {key(o) for o in overrides if "=" in o and "." not in key(o)}
    return [o for o in previous if key(o).split(".", 1)[0] not in groups]


def _resume_budget(state: SweepState, exp: Experiment, extend: int | None) -> int | None:
    budget = state.max_total_runs
    if extend is not None:
        if extend < 1:
            raise ConfigError("--extend", f"must be >= 1, got {extend}")
        return (budget if budget is not None else len(state.trials)) + extend
    wanted = exp.limits.max_total_runs
    if wanted is not None and (budget is None or wanted > budget):
        return wanted
    return budget


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
    directory = Path(run_dir)
    if not read_journal(directory):
        raise ConfigError("run_dir", f"{str(directory)!r} holds no sweep journal; check the path")
    cfg = _recompose(directory, list(overrides or []))
    exp = Experiment.from_config(cfg)
    target = remote_target(exp)
    if target is not None:
        return target.resume(
            directory,
            overrides=list(overrides or []),
            force=force,
            extend=extend,
            rerun_failed=rerun_failed,
        )

    state_box: list[SweepState] = []

    def check(dataset: Any) -> None:
        # Read the journal only once the writer lock is held: it cannot change under us now.
        state = SweepState.replay(read_journal(directory))
        state_box.append(state)
        fingerprint = state.header.get("data_fingerprint")
        if dataset is not None and fingerprint not in (None, dataset.fingerprint) and not force:
            raise ConfigError(
                "dataset",
                "the training data differs from the data the sweep started with; restore it or "
                "pass --force to accept it",
            )

    # The cheap checks first, on a read of the journal (the lock is taken by open_session).
    preview = SweepState.replay(read_journal(directory))
    differences = config_differences(preview.header.get("config", {}), exp.result_config())
    if differences and not force:
        raise ConfigError(
            "resume",
            f"the config changed in ways that alter results ({'; '.join(differences)}); "
            "undo the change or pass --force to accept it",
        )
    budget = _resume_budget(preview, exp, extend)
    failed = [t for t in preview.ordered() if t.status is TrialStatus.FAILED]
    nothing_new = budget == preview.max_total_runs and not (rerun_failed and failed)
    if preview.finished and not preview.aborted and nothing_new and not preview.unfinished():
        exhausted = exp.sampler.exhausted(preview.next_number, preview.records())
        full = budget is not None and preview.next_number >= budget
        if exhausted or full:
            log.info(
                "the sweep in %s already finished (%s); nothing to do. Add trials with --extend N",
                directory,
                preview.end_reason,
            )
            return None
    exp.limits.max_total_runs = budget
    session = open_session(
        exp, directory, check_data=check, purpose="rerun-failed" if rerun_failed else "resume"
    )
    try:
        session.state = state = state_box[-1]
        session.resumed = True
        session.record(
            "sweep_resumed",
            max_total_runs=budget,
            forced=differences if force else [],
            plan=exp.plan(),
        )
        if budget != state.header.get("max_total_runs"):
            session.record("budget_extended", max_total_runs=budget)
        if rerun_failed:
            for trial in [t for t in state.ordered() if t.status is TrialStatus.FAILED]:
                session.record("reset", trial_id=trial.trial_id)
    except BaseException:
        session.close()
        raise
    log.info(
        "resuming %s: %d trial(s) done, %d to re-run",
        directory,
        state.count_finished(),
        len(state.unfinished()),
    )
    return session.run()
