"""The worker side of every launcher: run one trial attempt and turn its outcome into events.

Local processes, Spark tasks and remote containers all call :func:`execute`, so a trial behaves the
same wherever it runs. Events are small JSON-serialisable dicts; nothing else crosses back.
"""

from __future__ import annotations

import os
import socket
import traceback
import warnings
from collections.abc import Mapping
from typing import Any

from hpt import artifacts
from hpt.events import WorkerEvent, error_type
from hpt.trainers import Emit, ShouldStop, Trainer, TrialOutcome, TrialStopped
from hpt.trainers._base import EmitFor
from hpt.trial import TrialSpec


def execute(trainer: Trainer, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> None:
    """Run ``spec`` with ``trainer``; always ends with exactly one finished/failed/stopped event.

    An attempt with ``spec.members`` (shared work, see :mod:`hpt.trainers._shared`) tags each
    event with the member trial it is about; the member's final events travel inside the one
    final event of the attempt (tagged with ``spec.trial_id``), under ``members``, so launchers
    still see exactly one final event per attempt.
    """
    if spec.members:
        _execute_group(trainer, spec, emit, should_stop)
        return
    tag: dict[str, Any] = {"trial_id": spec.trial_id, "attempt": spec.attempt}

    def send(event: dict[str, Any]) -> None:
        emit({**event, **tag})

    send(_started())
    caught: list[warnings.WarningMessage] = []
    try:
        # Library warnings (convergence, deprecations) belong to the trial's record, not to the
        # driver's console, where N workers would repeat them N times.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            outcome = trainer.run(spec, send, should_stop)
    except TrialStopped:
        send({"event": WorkerEvent.STOPPED.value})
    except Exception as err:  # the trial's own failure: keep the traceback, the sweep goes on
        send(_failed(err))
    else:
        send(_finished(outcome, caught))


def _execute_group(trainer: Trainer, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> None:
    """One attempt evaluating every member of ``spec`` with :meth:`Trainer.run_group`."""
    tags = {m.trial_id: {"trial_id": m.trial_id, "attempt": m.attempt} for m in spec.members}
    if spec.trial_id not in tags:
        raise ValueError(f"shared attempt {spec.trial_id} is not one of its members")

    def emit_for(member: TrialSpec) -> Emit:
        tag = tags[member.trial_id]

        def send(event: dict[str, Any]) -> None:
            emit({**event, **tag})

        return send

    for member in spec.members:
        emit_for(member)(_started())
    finals: dict[str, dict[str, Any]]
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            outcomes = _run_group(trainer, spec, emit_for, should_stop)
    except TrialStopped:
        finals = {tid: {"event": WorkerEvent.STOPPED.value} for tid in tags}
    except Exception as err:  # the shared work failed: every member fails with it
        failed = _failed(err)
        finals = {tid: failed for tid in tags}
    else:
        finals = {tid: _finished(outcomes[tid], caught) for tid in tags}
    carried = [{**finals[tid], **tag} for tid, tag in tags.items() if tid != spec.trial_id]
    emit({**finals[spec.trial_id], "members": carried, **tags[spec.trial_id]})


def _started() -> dict[str, Any]:
    return {"event": WorkerEvent.STARTED.value, "pid": os.getpid(), "host": socket.gethostname()}


def _failed(err: Exception) -> dict[str, Any]:
    return {
        "event": WorkerEvent.FAILED.value,
        "error": f"{type(err).__name__}: {err}".strip(),
        "error_type": error_type(err),
        "traceback": traceback.format_exc(),
    }


def _finished(outcome: TrialOutcome, caught: list[warnings.WarningMessage]) -> dict[str, Any]:
    return {
        "event": WorkerEvent.FINISHED.value,
        "value": outcome.value,
        "failed_folds": list(outcome.failed_folds),
        "errors": list(outcome.errors),
        "error_types": list(outcome.error_types),
        "warnings": _unique_warnings(caught),
        **({"extra": outcome.extra} if outcome.extra else {}),
        **({"artifacts": artifacts.encode(outcome.artifacts)} if outcome.artifacts else {}),
    }


def _unique_warnings(caught: list[warnings.WarningMessage], limit: int = 5) -> list[str]:
    seen: list[str] = []
    for item in caught:
        text = f"{item.category.__name__}: {str(item.message).splitlines()[0]}"
        if text not in seen:
            seen.append(text)
    return seen[:limit]


def _run_group(
    trainer: Trainer, spec: TrialSpec, emit_for: EmitFor, should_stop: ShouldStop
) -> Mapping[str, TrialOutcome]:
    """The cross-validation trainers' shared work lives in :mod:`hpt.trainers._shared`; any
    other trainer answers with its own :meth:`Trainer.run_group`."""
    from hpt.trainers import CrossValidationTrainer

    if isinstance(trainer, CrossValidationTrainer):
        if nests(trainer):
            from hpt.trainers._shared import run_nested

            return run_nested(trainer, spec, emit_for, should_stop)
        # A subclass with its own run/_fit: nesting would bypass them, so each member runs
        # on its own, one after the other (results as unshared; only the grouping remains).
        return {m.trial_id: trainer.run(m, emit_for(m), should_stop) for m in spec.members}
    return trainer.run_group(spec, emit_for, should_stop)


def nests(trainer: Trainer) -> bool:
    """Whether ``trainer`` evaluates members by nesting (hpt's own CV trainers, not a subclass
    that changes how a trial runs or fits)."""
    from hpt.trainers import CrossValidationTrainer
    from hpt.trainers._rounds import BoostingRoundTrainer

    cls = type(trainer)
    return any(
        cls.run is base.run and getattr(cls, "_fit", None) is base._fit
        for base in (CrossValidationTrainer, BoostingRoundTrainer)
    )
