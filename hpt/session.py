"""One writing session of a run dir: the path ``tune`` and ``resume`` share.

``open_session`` takes the run dir's writer lock, builds the launcher and warms it up while the
data loads, and opens the journal; ``Session.run`` drives the sweep loop with its callbacks and
returns the :class:`TuneResult`. Everything a session holds is released however it ends.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from hpt.callbacks import SweepCallback
from hpt.display import console_callbacks
from hpt.errors import ConfigError
from hpt.experiment import Experiment, construct
from hpt.journal import Journal
from hpt.launcher import Launcher
from hpt.results import ResultFiles, best_trial, cv_results
from hpt.rundir import OutputDirError, RunDirLock, describe_os_error
from hpt.state import SweepState, TrialState
from hpt.sweep import SweepLoop, WorkSharing
from hpt.worker import nests

log = logging.getLogger("hpt")


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


def build_launcher(exp: Experiment, capacity: int | None = None) -> Launcher:
    """The compute target of ``exp`` (``compute._target_``), its concurrency capped at the plan."""
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


def default_callbacks(exp: Experiment, run_dir: Path) -> list[SweepCallback]:
    """Result files, the console's display, the HTML report and tracking (``tracking=...``)."""
    from hpt.report import ReportWriter
    from hpt.tracking import tracking_callbacks

    n_folds = exp.n_folds
    callbacks: list[SweepCallback] = [
        ResultFiles(
            run_dir,
            metric=exp.metric,
            goal=exp.goal,
            param_names=exp.space.names,
            n_folds=n_folds,
            train_score=bool(n_folds and exp.cfg.cv.return_train_score),
        ),
        *console_callbacks(exp),
        ReportWriter(run_dir),
        *tracking_callbacks(exp, run_dir),
    ]
    return exp.kind.sweep_callbacks(exp, run_dir, callbacks)


@dataclass
class Session:
    """An open run dir being written: lock, journal, launcher, data and the replayed state."""

    exp: Experiment
    run_dir: Path
    lock: RunDirLock
    launcher: Launcher
    dataset: Any
    journal: Journal | None = None
    state: SweepState = field(default_factory=SweepState)
    resumed: bool = False

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append a session event (header, resume, budget) and apply it."""
        assert self.journal is not None
        event_record = self.journal.append(event, **fields)
        self.state.apply(event_record)
        return event_record

    def run(self, callbacks: Sequence[SweepCallback] | None = None) -> TuneResult:
        """Run the loop to its end and return the results; releases everything."""
        exp, run_dir = self.exp, self.run_dir
        assert self.journal is not None
        hooks = list(default_callbacks(exp, run_dir) if callbacks is None else callbacks)
        loop = SweepLoop(
            journal=self.journal,
            state=self.state,
            sampler=exp.sampler,
            launcher=self.launcher,
            limits=exp.limits,
            goal=exp.goal,
            policy=exp.policy,
            callbacks=hooks,
            sharing=_work_sharing(exp, self.launcher.capacity),
            artifacts_dir=run_dir / "trials",
        )
        reason: str | None = None
        results: list[TuneResult] = []
        try:
            for hook in hooks:
                hook.on_start(self.state, resumed=self.resumed)
            if self.resumed:
                loop.requeue_unfinished()
            trainer = exp.kind.build(exp, self.dataset, run_dir)
            if loop.sharing is not None and not nests(trainer):
                loop.sharing = None  # a trainer with its own run/_fit: nesting would bypass it
            log.info("running on %s", self.launcher.describe())
            self.launcher.open(trainer)
            reason = loop.run(prior_elapsed=self.state.elapsed_seconds())
        except KeyboardInterrupt:
            self.journal.append("sweep_interrupted", reason="KeyboardInterrupt")
            log.warning("interrupted; continue with: hpt resume %s", run_dir)
            raise
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
                raise OutputDirError(
                    f"{describe_os_error(err, run_dir)}, then continue with: hpt resume {run_dir}"
                ) from None
            raise
        finally:
            self.close(lambda: self._end(hooks, reason, results))
        return results[0]

    def _end(self, hooks: list[SweepCallback], reason: str | None, out: list[TuneResult]) -> None:
        """Refit (a normal end), then the callbacks' ends: they see model.joblib (MLflow logs it)."""
        try:
            if reason is not None:
                out.append(self._finish(reason))
        finally:
            _end_hooks(hooks, self.state, reason)

    def close(self, before: Callable[[], object] | None = None) -> None:
        """Stop the workers, run ``before`` (the callbacks' ends), close the journal, unlock."""
        try:
            self.launcher.close()
            if before is not None:
                before()
        finally:
            if self.journal is not None:
                self.journal.close()
            self.lock.release()

    def _finish(self, reason: str) -> TuneResult:
        exp = self.exp

        def refit(best: TrialState) -> Any:
            if not (bool(exp.cfg.refit) and self.dataset is not None):
                return None
            return exp.kind.refit(exp, self.dataset, dict(best.params), self.run_dir, self.state)

        return tune_result(exp, self.run_dir, self.state, reason, refit)


def tune_result(
    exp: Experiment,
    run_dir: Path,
    state: SweepState,
    reason: str,
    estimator_for: Callable[[TrialState], Any],
) -> TuneResult:
    """The :class:`TuneResult` of ``state``; ``estimator_for(best)`` gives the best estimator."""
    n_folds = exp.n_folds
    train_score = bool(n_folds and exp.cfg.cv.return_train_score)
    results = (
        cv_results(state, exp.space.names, n_folds, train_score=train_score) if n_folds else {}
    )
    best = best_trial(state, exp.goal)
    best_index = None
    if best is not None and n_folds:
        ids = list(results.get("trial_id", []))
        best_index = ids.index(best.trial_id) if best.trial_id in ids else None
    return TuneResult(
        run_dir=run_dir,
        metric=exp.metric,
        cv_results_=results,
        best_params_=None if best is None else dict(best.params),
        best_score_=None if best is None else best.value,
        best_index_=best_index,
        best_trial_id=None if best is None else best.trial_id,
        best_estimator_=None if best is None else estimator_for(best),
        state=state,
        end_reason=reason,
    )


def _end_hooks(hooks: Sequence[SweepCallback], state: SweepState, reason: str | None) -> None:
    for hook in hooks:
        if reason is not None:
            hook.on_end(state, reason)
            continue
        try:  # the session is failing already: its error is the one to show
            hook.on_end(state, reason)
        except Exception as err:
            log.warning("%s could not finish: %s", type(hook).__name__, err)


def _work_sharing(exp: Experiment, capacity: int) -> WorkSharing | None:
    """Nested boosting rounds for this sweep, if ``sweep.share_work`` and the model allow them."""
    from hpt.trainers._shared import round_sharing

    return round_sharing(exp, capacity)


def open_session(
    exp: Experiment,
    run_dir: Path,
    *,
    check_data: Callable[[Any], None] | None = None,
    purpose: str = "sweep",
) -> Session:
    """Lock ``run_dir``, start the launcher's workers and load the data meanwhile.

    ``check_data(dataset)`` runs under the lock once the data is loaded (``None`` for kinds that
    load none) and may refuse to go on (resume: it must be the sweep's data). On any failure
    everything opened so far is released again.
    """
    lock = held_lock(run_dir, purpose)
    try:
        launcher = build_launcher(exp)
    except BaseException:
        lock.release()
        raise
    session = Session(exp, run_dir, lock, launcher, dataset=None)
    try:
        launcher.warm_up(exp.kind.worker_modules(exp))
        if exp.kind.needs_dataset:
            session.dataset = exp.kind.load_dataset(exp)
        if check_data is not None:
            check_data(session.dataset)
        session.journal = Journal(run_dir)
    except BaseException:
        session.close()
        raise
    return session


_HELD: dict[Path, RunDirLock] = {}


def held_lock(run_dir: Path, purpose: str = "sweep") -> RunDirLock:
    """This process's writer lock of ``run_dir``, taken now unless it already holds it (the CLI
    takes it before Hydra writes into an explicit ``hydra.run.dir``)."""
    key = run_dir.resolve()
    lock = _HELD.get(key)
    if lock is None or not lock.held:
        lock = _HELD[key] = RunDirLock(run_dir, purpose).acquire()
    return lock
