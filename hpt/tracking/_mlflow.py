"""The MLflow callback: a parent run per sweep, a child run per trial, idempotent across resumes.

Runs are found again by tags, not remembered: the parent has ``hpt.run_dir`` (the run dir's
absolute path) and ``hpt.role=sweep``; each child has the same ``hpt.run_dir``, ``hpt.role=trial``
and ``hpt.trial_id``, and ``mlflow.parentRunId`` so MLflow's UI nests it. A session (the first or
a resume) first reconciles the store with the replayed journal (creating what is missing, logging
the intervals not logged yet), then logs events as they come; the end reconciles once more, so a
call that failed on the way (a tracking server down for a while) is caught up. MLflow errors are
logged as warnings and never stop the sweep.

What is logged per child: the trial's params; ``<metric>_interval`` at step n for every interval
report; ``fold_test_score`` at step k per fold; ``<metric>`` (the trial's final value, what hpt
ranks) when it ends; ``hpt.status`` and the stop reason as tags; the traceback of a failure as the
artifact ``error.txt``; MLflow status FINISHED (completed), KILLED (terminated, cancelled) or
FAILED (failed, timed out). The parent gets the sweep's settings as params, ``best_<metric>``,
and ``report.html``, ``best.json``, ``cv_results.csv``, ``hpt_config.yaml`` and ``model.joblib``
as artifacts.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpt.callbacks import SweepCallback
from hpt.events import TRIAL_TERMINAL, JournalEvent
from hpt.state import SweepState, TrialState
from hpt.trial import TrialStatus

log = logging.getLogger("hpt")

_MLFLOW_STATUS = {
    TrialStatus.COMPLETED: "FINISHED",
    TrialStatus.TERMINATED: "KILLED",
    TrialStatus.CANCELLED: "KILLED",
    TrialStatus.FAILED: "FAILED",
    TrialStatus.TIMED_OUT: "FAILED",
}
_ARTIFACTS = ("report.html", "best.json", "cv_results.csv", "hpt_config.yaml")


def local_store_uri(root: Path) -> str:
    """The default store: MLflow's file store in ``root`` (``./mlruns``), which MLflow 3 opens
    only with ``MLFLOW_ALLOW_FILE_STORE=true`` (set for this process when it is the one used)."""
    return root.resolve().as_uri()


@dataclass
class _ChildRun:
    run_id: str
    logged_intervals: int = 0
    logged_folds: set[int] = field(default_factory=set)
    status: str | None = None  # the hpt status it was last closed with


class MlflowTracker(SweepCallback):
    """Logs the sweep in ``run_dir`` to MLflow (see the module docstring)."""

    def __init__(
        self,
        run_dir: Path,
        *,
        metric: str,
        tracking_uri: str | None = None,
        experiment_name: str = "hpt",
        log_model: bool = True,
    ) -> None:
        self.run_dir = run_dir
        self.key = str(run_dir.resolve())
        self.metric = metric
        self.tracking_uri = tracking_uri or local_store_uri(Path("mlruns"))
        self.experiment_name = experiment_name
        self.log_model = log_model
        self.client: Any = None
        self.experiment_id: str | None = None
        self.parent_id: str | None = None
        self.children: dict[str, _ChildRun] = {}
        self.failures = 0

    # -- setup -------------------------------------------------------------------------------
    def _connect(self) -> None:
        if self.tracking_uri.startswith("file:") or "://" not in self.tracking_uri:
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=self.tracking_uri)
        experiment = self.client.get_experiment_by_name(self.experiment_name)
        self.experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else self.client.create_experiment(self.experiment_name)
        )

    def _search(self, role: str) -> list[Any]:
        runs: list[Any] = []
        token = None
        query = f"tags.`hpt.run_dir` = '{_quote(self.key)}' and tags.`hpt.role` = '{role}'"
        while True:
            page = self.client.search_runs(
                [self.experiment_id], filter_string=query, max_results=1000, page_token=token
            )
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def _parent(self, state: SweepState) -> str:
        found = self._search("sweep")
        if found:
            run_id = str(found[0].info.run_id)
            self.client.update_run(run_id, status="RUNNING")
            return run_id
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"sweep {self.run_dir.name}",
            tags={"hpt.run_dir": self.key, "hpt.role": "sweep"},
        )
        run_id = str(run.info.run_id)
        self._log_params(run_id, _sweep_params(state))
        return run_id

    def _log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(str(k)[:250], str(v)[:6000]) for k, v in sorted(params.items())]
        for start in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[start : start + 100])

    # -- children ----------------------------------------------------------------------------
    def _adopt_existing(self) -> None:
        for run in self._search("trial"):
            tid = run.data.tags.get("hpt.trial_id")
            if tid is None or tid in self.children:
                continue
            run_id = str(run.info.run_id)
            intervals = self.client.get_metric_history(run_id, f"{self.metric}_interval")
            folds = self.client.get_metric_history(run_id, "fold_test_score")
            self.children[tid] = _ChildRun(
                run_id,
                logged_intervals=max((m.step for m in intervals), default=0),
                logged_folds={int(m.step) for m in folds},
                status=run.data.tags.get("hpt.status"),
            )

    def _child(self, trial: TrialState) -> _ChildRun:
        child = self.children.get(trial.trial_id)
        if child is None:
            assert self.parent_id is not None
            run = self.client.create_run(
                self.experiment_id,
                run_name=f"trial {trial.trial_id}",
                tags={
                    "hpt.run_dir": self.key,
                    "hpt.role": "trial",
                    "hpt.trial_id": trial.trial_id,
                    "mlflow.parentRunId": self.parent_id,
                },
            )
            child = self.children[trial.trial_id] = _ChildRun(str(run.info.run_id))
            self._log_params(child.run_id, dict(trial.params))
        return child

    def _sync(self, trial: TrialState, when: float | None = None) -> None:
        """Log what ``trial`` has that its child run does not have yet."""
        from mlflow.entities import Metric

        child = self._child(trial)
        stamp = int((when or time.time()) * 1000)
        values = trial.values
        if len(values) < child.logged_intervals:  # a lost attempt's reports were dropped
            child.logged_intervals = len(values)
        metrics = [
            Metric(f"{self.metric}_interval", float(v), stamp, step)
            for step, v in enumerate(
                values[child.logged_intervals :], start=child.logged_intervals + 1
            )
        ]
        new_folds = sorted(set(trial.folds) - child.logged_folds)
        metrics += [
            Metric("fold_test_score", float(trial.folds[k].test_score), stamp, k) for k in new_folds
        ]
        if metrics:
            self.client.log_batch(child.run_id, metrics=metrics)
            child.logged_intervals = len(values)
            child.logged_folds.update(new_folds)
        if trial.status.is_finished() and child.status != trial.status.value:
            self._close(trial, child, stamp)
        elif not trial.status.is_finished() and child.status is not None:
            self.client.update_run(child.run_id, status="RUNNING")  # rerun-failed reset it
            self.client.set_tag(child.run_id, "hpt.status", trial.status.value)
            child.status = None

    def _close(self, trial: TrialState, child: _ChildRun, stamp: int) -> None:
        if trial.value is not None and trial.value == trial.value:  # not NaN
            self.client.log_metric(child.run_id, self.metric, float(trial.value), stamp)
        self.client.set_tag(child.run_id, "hpt.status", trial.status.value)
        if trial.stop_reason:
            for key in ("rule", "interval", "value", "threshold"):
                self.client.set_tag(
                    child.run_id, f"hpt.stop.{key}", str(trial.stop_reason.get(key))
                )
        if trial.traceback:
            self.client.log_text(child.run_id, trial.traceback, "error.txt")
        if trial.error:
            self.client.set_tag(child.run_id, "hpt.error", str(trial.error)[:4000])
        self.client.set_terminated(
            child.run_id,
            _MLFLOW_STATUS[trial.status],
            end_time=int((trial.ended_at or 0) * 1000) or None,
        )
        child.status = trial.status.value

    def _reconcile(self, state: SweepState) -> None:
        for trial in state.ordered():
            self._sync(trial)

    # -- callback ----------------------------------------------------------------------------
    def _guard(self, what: str, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except Exception as err:
            self.failures += 1
            if self.failures == 1 or self.failures % 100 == 0:
                log.warning("MLflow: %s failed (%s); will catch up at the end", what, err)

    def on_start(self, state: SweepState, *, resumed: bool) -> None:
        def start() -> None:
            self._connect()
            self.parent_id = self._parent(state)
            self._adopt_existing()
            self._reconcile(state)

        self._guard("connecting", start)
        if self.parent_id is not None:
            log.info(
                "MLflow: logging to %s (experiment %s)", self.tracking_uri, self.experiment_name
            )

    def on_event(self, record: dict[str, Any], state: SweepState) -> None:
        if self.parent_id is None:
            return
        kind = record["event"]
        relevant = kind in TRIAL_TERMINAL or kind in (
            JournalEvent.PROPOSED, JournalEvent.REPORT, JournalEvent.FOLD, JournalEvent.RESET,
        )  # fmt: skip
        trial = state.trials.get(str(record.get("trial_id")))
        if relevant and trial is not None:
            self._guard(f"logging trial {trial.trial_id}", self._sync, trial, record.get("t"))

    def on_end(self, state: SweepState, reason: str | None) -> None:
        if self.parent_id is None:  # the start failed: try once more, then give up quietly
            self.on_start(state, resumed=True)
            if self.parent_id is None:
                return
        self._guard("catching up", self._reconcile, state)
        self._guard("finishing the sweep run", self._finish, state)
        if self.failures:
            log.warning("MLflow: %d call(s) failed during the sweep", self.failures)

    def _finish(self, state: SweepState) -> None:
        from hpt.results import best_trial

        assert self.parent_id is not None
        goal = str((state.header.get("config") or {}).get("metric", {}).get("goal", "maximize"))
        best = best_trial(state, goal)
        if best is not None and best.value is not None:
            self.client.log_metric(self.parent_id, f"best_{self.metric}", float(best.value))
            self.client.set_tag(self.parent_id, "hpt.best_trial", best.trial_id)
        counts = {s.value: state.count(s) for s in TrialStatus if state.count(s)}
        for status, n in counts.items():
            self.client.log_metric(self.parent_id, f"trials_{status}", float(n))
        names = [*_ARTIFACTS, *(["model.joblib"] if self.log_model else [])]
        for name in names:
            path = self.run_dir / name
            if path.exists():
                self.client.log_artifact(self.parent_id, str(path))
        status = (
            "FINISHED"
            if state.finished and not state.aborted
            else "FAILED"
            if state.aborted
            else "KILLED"
        )
        self.client.set_terminated(self.parent_id, status)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _sweep_params(state: SweepState) -> dict[str, Any]:
    """The sweep's settings as flat MLflow params (``sampler._target_`` -> ``sampler``...)."""
    config = state.header.get("config") or {}
    out: dict[str, Any] = {"max_total_runs": state.max_total_runs}
    for group in ("sampler", "policy", "model", "metric", "cv"):
        node = config.get(group) or {}
        if isinstance(node, dict):
            for key, value in node.items():
                out[group if key == "_target_" else f"{group}.{key}"] = value
    space = config.get("search_space") or {}
    if isinstance(space, dict):
        for key, value in space.items():
            out[f"search_space.{key}"] = value
    return out
