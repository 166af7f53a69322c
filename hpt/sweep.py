"""The sweep loop: one asynchronous loop that drives sampler, launcher, policy and journal.

Every state change is first appended to the journal, then applied to the in-memory state (the
same :meth:`SweepState.apply` a resume replays), so the journal is always the truth.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hpt import artifacts
from hpt.callbacks import SweepCallback
from hpt.errors import SweepAborted
from hpt.events import ATTEMPT_FINAL, lost
from hpt.journal import Journal
from hpt.launcher import Launcher
from hpt.limits import Limits
from hpt.policies import NoTerminationPolicy, TerminationPolicy
from hpt.samplers import Sampler
from hpt.state import SweepState
from hpt.trial import TrialSpec, TrialStatus, trial_id

log = logging.getLogger("hpt")

POLL_SECONDS = 0.2
FAIL_FAST_TRIALS = 3  # this many first trials failing alike, with none completed, aborts


#: Seconds a dispatched trial may wait for its worker's start-up before trial_timeout_minutes
#: counts (a worker that never starts the trial is still timed out, this much later).
STARTUP_GRACE = 120.0


@dataclass
class _Running:
    spec: TrialSpec
    started: float  # monotonic: dispatched, then the worker's "started" event
    stop_kind: str | None = None  # terminated | timed_out | cancelled, once a stop was asked
    stop_reason: dict[str, Any] | None = None
    attempt_id: str = ""  # the launcher's id of the attempt running this trial
    began: bool = False  # the worker sent "started" (it is past its start-up)


class WorkSharing(Protocol):
    """Groups pending trials into one attempt with shared work (see hpt.trainers._shared)."""

    @property
    def look_ahead(self) -> int:
        """How many proposals the sampler may be asked ahead of need (0: never)."""

    def group(self, first: TrialSpec, pending: deque[TrialSpec]) -> TrialSpec:
        """``first`` alone, or an attempt whose ``members`` are ``first`` and mates it takes out
        of ``pending``."""


@dataclass
class SweepLoop:
    """Runs trials until the sampler is exhausted or a limit is reached.

    Every event is appended to the journal, applied to ``state`` and then shown to each of
    ``callbacks`` (see :mod:`hpt.callbacks`), in that order.
    """

    journal: Journal
    state: SweepState
    sampler: Sampler
    launcher: Launcher
    limits: Limits
    goal: str
    policy: TerminationPolicy = field(default_factory=NoTerminationPolicy)
    callbacks: list[SweepCallback] = field(default_factory=list)
    sharing: WorkSharing | None = None
    #: where completed trials' artifacts go (``run_dir/trials``); ``None`` drops them
    artifacts_dir: Path | None = None
    _running: dict[str, _Running] = field(default_factory=dict)  # by trial id
    # Attempts in flight, by the launcher's id: (attempt number, the trial ids it runs).
    _attempts: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    _queue: deque[TrialSpec] = field(default_factory=deque)
    _exhausted: bool = False
    _abort: str | None = None
    _session_start: float = 0.0
    _prior_elapsed: float = 0.0
    _reached: bool = False  # a trial reached limits.stop_at_score

    def _record(self, event: str, **fields: Any) -> dict[str, Any]:
        record = self.journal.append(event, **fields)
        self.state.apply(record)
        for callback in self.callbacks:
            callback.on_event(record, self.state)
        return record

    # -- scheduling --------------------------------------------------------------------------
    def requeue_unfinished(self) -> None:
        """Queue trials a previous session left in flight (their running state is not trusted)."""
        for trial in self.state.unfinished():
            self._record("requeued", trial_id=trial.trial_id)
            self._queue.append(trial.resume_spec())

    def _budget_left(self) -> bool:
        total = self.limits.max_total_runs
        return total is None or self.state.next_number < total

    def _next_spec(self) -> TrialSpec | None:
        if self._queue:
            return self._queue.popleft()
        return self._propose()

    def _propose(self) -> TrialSpec | None:
        if self._exhausted or not self._budget_left():
            return None
        number = self.state.next_number
        params = self.sampler.suggest(number, self.state.records())
        if params is None:
            self._exhausted = True
            return None
        tid = trial_id(number)
        self._record("proposed", trial_id=tid, number=number, params=params)
        return TrialSpec(tid, number, 1, params)

    def _elapsed(self) -> float:
        return self._prior_elapsed + (time.monotonic() - self._session_start)

    def _out_of_time(self) -> bool:
        limit = self.limits.max_duration_minutes
        return limit is not None and self._elapsed() >= limit * 60

    def _score_reached(self) -> bool:
        """Whether a completed trial reached ``limits.stop_at_score`` (experiment_exit_score)."""
        target = self.limits.stop_at_score
        if target is None:
            return False
        sign = 1.0 if self.goal == "maximize" else -1.0
        return any(
            t.status is TrialStatus.COMPLETED
            and t.value is not None
            and sign * t.value >= sign * target
            for t in self.state.ordered()
        )

    def _next_attempt(self) -> TrialSpec | None:
        """The next spec to start; with work sharing, grouped with its pending mates."""
        spec = self._next_spec()
        if spec is None or self.sharing is None:
            return spec
        while len(self._queue) < self.sharing.look_ahead:
            ahead = self._propose()
            if ahead is None:
                break
            self._queue.append(ahead)
        return self.sharing.group(spec, self._queue)

    def _fill(self) -> None:
        while len(self._attempts) < self.launcher.capacity and self._abort is None:
            if self._out_of_time() or self._reached:
                return
            spec = self._next_attempt()
            if spec is None:
                return
            members = spec.members or (spec,)
            now = time.monotonic()
            for member in members:
                self._running[member.trial_id] = _Running(member, now, attempt_id=spec.trial_id)
            self._attempts[spec.trial_id] = (spec.attempt, [m.trial_id for m in members])
            self.launcher.start(spec)

    # -- events ------------------------------------------------------------------------------
    def _handle(self, event: dict[str, Any]) -> None:
        """An attempt's final event ends each trial it ran: a shared attempt carries its other
        members' final events in ``members``; a member it carries nothing for (the attempt was
        lost) is lost with it."""
        tid = str(event.get("trial_id"))
        attempt = self._attempts.get(tid)
        if (
            event.get("event") not in ATTEMPT_FINAL
            or attempt is None
            or int(event.get("attempt", -1)) != attempt[0]
        ):
            self._handle_trial(event)
            return
        del self._attempts[tid]
        carried = {str(m.get("trial_id")): m for m in event.get("members") or ()}
        own = {k: v for k, v in event.items() if k != "members"}
        for member in attempt[1]:
            if member == tid:
                self._handle_trial(own)
            elif member in carried:
                self._handle_trial(carried[member])
            elif member in self._running:
                reason = str(event.get("reason") or "its shared attempt ended without its result")
                self._handle_trial(lost(member, self._running[member].spec.attempt, reason))

    def _handle_trial(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        tid = str(event.get("trial_id"))
        running = self._running.get(tid)
        if running is None or int(event.get("attempt", -1)) != running.spec.attempt:
            return  # a late event from an attempt that was already written off
        fields = {k: v for k, v in event.items() if k not in ("event", "seq", "t")}
        if kind in ("started", "fold", "report"):
            if kind == "started":  # trial_timeout_minutes counts from here, not worker start-up
                running.started, running.began = time.monotonic(), True
            self._record(str(kind), **fields)
            return
        del self._running[tid]
        if kind == "finished":
            failed_folds = event.get("failed_folds") or []
            if failed_folds:
                errors = event.get("errors") or []
                types = event.get("error_types") or []
                last = errors[0].strip().splitlines()[-1] if errors else "unknown error"
                self._record(
                    "failed",
                    trial_id=tid,
                    attempt=running.spec.attempt,
                    value=event.get("value"),
                    error=f"{len(failed_folds)} fold(s) failed, scored with error_score: {last}",
                    error_type=types[0] if types else None,
                    traceback="\n".join(errors),
                )
            else:
                if self.artifacts_dir is not None and event.get("artifacts"):
                    artifacts.keep(self.artifacts_dir, tid, event["artifacts"])
                self._record(
                    "completed",
                    trial_id=tid,
                    attempt=running.spec.attempt,
                    value=event["value"],
                    **({"warnings": event["warnings"]} if event.get("warnings") else {}),
                )
        elif kind == "failed":
            self._record(
                "failed",
                trial_id=tid,
                attempt=running.spec.attempt,
                error=event.get("error"),
                error_type=event.get("error_type"),
                traceback=event.get("traceback"),
            )
            if self.limits.error_score_raise:
                self._abort = f"trial {tid} failed and error_score=raise: {event.get('error')}"
        elif kind == "stopped" or (kind == "lost" and running.stop_kind is not None):
            status = running.stop_kind or "cancelled"
            extra: dict[str, Any] = {}
            if status == "terminated":
                extra["reason"] = running.stop_reason
            elif status == "timed_out":
                extra["error"] = (
                    f"trial exceeded trial_timeout_minutes={self.limits.trial_timeout_minutes}"
                )
            self._record(status, trial_id=tid, attempt=running.spec.attempt, **extra)
        elif kind == "lost":
            self._record(
                "lost", trial_id=tid, attempt=running.spec.attempt, reason=event.get("reason")
            )
            trial = self.state.trials[tid]
            if trial.lost_attempts <= self.limits.max_retries:
                log.warning(
                    "trial %s attempt %d lost (%s); retrying",
                    tid,
                    running.spec.attempt,
                    event.get("reason"),
                )
                self._queue.appendleft(trial.resume_spec())
            else:
                self._record(
                    "failed",
                    trial_id=tid,
                    attempt=running.spec.attempt,
                    error=f"infrastructure failure, {trial.lost_attempts} attempts lost "
                    f"(max_retries={self.limits.max_retries}): {event.get('reason')}",
                )
        self._after_trial_end()
        self._reached = self._reached or (kind == "finished" and self._score_reached())

    def _after_trial_end(self) -> None:
        limit = self.limits.max_failed_runs
        n_failed = self.state.count(TrialStatus.FAILED)
        if limit is not None and n_failed >= limit and self._abort is None:
            failed = [t for t in self.state.ordered() if t.status is TrialStatus.FAILED]
            self._abort = f"{n_failed} trials failed (max_failed_runs={limit}); last error: " + (
                failed[-1].error or "?"
            )
        completed = self.state.count(TrialStatus.COMPLETED)
        if (
            self.limits.fail_fast
            and completed == 0
            and self._abort is None
            and self.state.count_finished() <= FAIL_FAST_TRIALS
        ):
            first = [t for t in self.state.ordered() if t.status.is_finished()][:FAIL_FAST_TRIALS]
            if (
                len(first) == FAIL_FAST_TRIALS
                and all(t.status is TrialStatus.FAILED for t in first)
                and len({t.error_type for t in first}) == 1
            ):
                self._abort = (
                    f"the first {FAIL_FAST_TRIALS} trials all failed with the same error: "
                    f"{first[0].error}"
                )

    # -- policy and limits -------------------------------------------------------------------
    def _apply_policy(self) -> None:
        if isinstance(self.policy, NoTerminationPolicy):
            return  # the common case; skip building every trial's history per report
        candidates = {tid for tid, r in self._running.items() if r.stop_kind is None}
        if not candidates:
            return
        history = {t.trial_id: list(t.values) for t in self.state.ordered() if t.values}
        running_ids = {tid for tid in candidates if tid in history}
        if not running_ids:
            return
        reasons = self.policy.explain(history, goal=self.goal, running=running_ids)
        for tid, reason in sorted(reasons.items()):
            running = self._running[tid]
            running.stop_kind = "terminated"
            running.stop_reason = {
                "interval": reason.interval,
                "value": reason.value,
                "threshold": reason.threshold,
                "rule": reason.rule,
            }
            self._record("stop_requested", trial_id=tid, reason=running.stop_reason)
            self._stop_trial(tid)

    def _stop_trial(self, tid: str) -> None:
        """Stop the attempt running ``tid``; a trial sharing its attempt with trials the policy
        lets go on is terminated now instead (the shared fit goes on for them, and this trial's
        later events are ignored: ordinary trials also report until their stop lands)."""
        running = self._running[tid]
        _, members = self._attempts[running.attempt_id]
        going_on = [
            m for m in members if m != tid and m in self._running and not self._running[m].stop_kind
        ]
        if not going_on:
            self.launcher.stop(running.attempt_id)
            return
        del self._running[tid]
        self._record(
            "terminated", trial_id=tid, attempt=running.spec.attempt, reason=running.stop_reason
        )
        self._after_trial_end()

    def _enforce_time(self) -> None:
        timeout = self.limits.trial_timeout_minutes
        now = time.monotonic()
        hard: set[str] = set()  # attempts to kill (once each: members share one)
        if timeout is not None:
            for running in self._running.values():
                # Until the worker says "started", it may still be starting up (importing, loading
                # the data): that time gets STARTUP_GRACE seconds on top of the timeout.
                limit = timeout * 60 + (0.0 if running.began else STARTUP_GRACE)
                if running.stop_kind is None and now - running.started >= limit:
                    running.stop_kind = "timed_out"
                    hard.add(running.attempt_id)
        if self._out_of_time() or self._abort is not None or self._reached:
            for running in self._running.values():
                if running.stop_kind in (None, "terminated"):
                    running.stop_kind = "cancelled"
                    hard.add(running.attempt_id)
        for attempt_id in sorted(hard):
            self.launcher.stop(attempt_id, hard=True)

    # -- main --------------------------------------------------------------------------------
    def run(self, prior_elapsed: float = 0.0) -> str:
        """Run to the end; returns why it ended. Raises :class:`SweepAborted` on abort."""
        self._session_start = time.monotonic()
        self._prior_elapsed = prior_elapsed
        self._reached = self._score_reached()
        while True:
            self._fill()
            if not self._attempts:
                break
            for event in self.launcher.poll(POLL_SECONDS):
                self._handle(event)
                # Judge after every single report: a policy evaluates each trial at its latest
                # interval, so batching reports could skip an evaluation point.
                if event.get("event") == "report" and self._abort is None:
                    self._apply_policy()
            self._enforce_time()
        if self._abort is not None:
            self._record("sweep_aborted", reason=self._abort)
            raise SweepAborted(self._abort)
        if self._reached:
            reason = f"stop_at_score={self.limits.stop_at_score} reached"
        elif self._out_of_time():
            reason = f"max_duration_minutes={self.limits.max_duration_minutes} reached"
        elif self._exhausted:
            reason = "search space exhausted"
        else:
            reason = f"max_total_runs={self.limits.max_total_runs} reached"
        for callback in self.callbacks:  # derived files complete before the journal says so
            callback.on_finishing(self.state)
        self._record("sweep_finished", reason=reason)
        return reason
