"""The worker side of shared work: fold matrices built once, nested boosting rounds fitted once.

:func:`run_nested` evaluates the members of one attempt -- configurations that coincide except for
``n_estimators`` -- with one fit per fold at the largest round count any member still needs for
that fold, and scores each member on the fit truncated at its own round count
(:class:`~hpt.trainers._shared._nesting.Truncated`) with the same scikit-learn scorer an
ordinary trial uses. Each member emits exactly the events it would emit alone (fold, report,
with its own interval numbering), so its journal records and ``cv_results`` row are those of an
ordinary trial.

**Times.** A member's ``fit_time`` for a fold is the shared fit's time divided by the number of
members it served in that fold (so the fit times of a sweep still add up to the time spent
fitting); its ``score_time`` is its own scoring time.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hpt.events import error_type
from hpt.trainers._base import EmitFor, ShouldStop, TrialOutcome, TrialStopped
from hpt.trainers._boosting import (
    _check_stop,
    _fit_xgboost,
    _lightgbm_callback,
    _xgboost_callback,
    boosting_library,
    fit_stoppable,
)
from hpt.trainers._shared._nesting import ROUNDS_PARAM, Truncated
from hpt.trainers._streamed import for_scoring
from hpt.trial import FoldResult, TrialSpec

if TYPE_CHECKING:
    from hpt.trainers._cv import CrossValidationTrainer


def rounds_of(spec: TrialSpec) -> int:
    return int(spec.params[ROUNDS_PARAM])


@dataclass
class _Member:
    """One member's progress through the folds, as ``CrossValidationTrainer.run`` keeps it."""

    spec: TrialSpec
    done: set[int]
    scores: list[float]
    interval: int
    failed: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_types: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, spec: TrialSpec) -> _Member:
        done = {f.fold: f for f in spec.done_folds}
        return cls(spec, set(done), [done[k].test_score for k in sorted(done)], len(spec.reported))

    def outcome(self) -> TrialOutcome:
        return TrialOutcome(
            float(np.mean(self.scores)),
            tuple(self.failed),
            tuple(self.errors),
            tuple(self.error_types),
        )


def run_nested(
    trainer: CrossValidationTrainer, spec: TrialSpec, emit_for: EmitFor, should_stop: ShouldStop
) -> Mapping[str, TrialOutcome]:
    """Evaluate ``spec.members`` (same parameters but ``n_estimators``) with one fit per fold.

    Fold ``k`` is fitted once, at the largest round count among the members that still need it
    (members carry their journaled folds in ``done_folds`` and skip them, as ordinary trials do),
    then each of those members is scored on the fit truncated at its own round count. A failing
    fit fails the fold of every member it served (``error_score``, as for one trial).
    """
    from sklearn.base import clone

    from hpt.trainers._cv import FoldFit

    members = [_Member.of(m) for m in spec.members]
    shared = _without_rounds(members[0].spec)
    if any(_without_rounds(m.spec) != shared for m in members):
        raise ValueError("the members of a shared attempt differ in more than n_estimators")
    emits = {m.spec.trial_id: emit_for(m.spec) for m in members}
    for k in range(trainer.n_folds):
        need = [m for m in members if k not in m.done]
        if not need:
            continue
        if should_stop():
            raise TrialStopped()
        longest = max(need, key=lambda m: rounds_of(m.spec))
        estimator = clone(trainer.estimator).set_params(**dict(longest.spec.params))
        X_train, y_train, X_test, y_test = trainer.fold_data(k)
        fits = [
            (FoldFit(m.spec, k, X_test, y_test, emits[m.spec.trial_id], should_stop, m.interval), m)
            for m in need
        ]
        started = time.perf_counter()
        fit_error: tuple[Exception, str] | None = None
        try:
            _fit_group(
                trainer, estimator, X_train, y_train, [(f, rounds_of(m.spec)) for f, m in fits]
            )
        except TrialStopped:
            raise
        except Exception as err:
            if isinstance(trainer.error_score, str):  # "raise": every member fails now
                raise
            fit_error = (err, traceback.format_exc())
        fit_time = (time.perf_counter() - started) / len(need)
        for fit, member in fits:
            member.interval = fit.interval
            if fit_error is None:
                model = Truncated(estimator, rounds_of(member.spec))
                fold = _score(
                    trainer, model, member, k, (X_train, y_train, X_test, y_test), fit_time
                )
            else:
                fold = _fail(trainer, member, k, fit_time, *fit_error)
            _emit_fold(trainer, member, fold, emits[member.spec.trial_id])
    return {m.spec.trial_id: m.outcome() for m in members}


def _without_rounds(spec: TrialSpec) -> dict[str, Any]:
    return {k: v for k, v in spec.params.items() if k != ROUNDS_PARAM}


def _score(
    trainer: CrossValidationTrainer,
    model: Truncated,
    member: _Member,
    k: int,
    data: tuple[Any, np.ndarray, Any, np.ndarray],
    fit_time: float,
) -> FoldResult:
    """Member's fold ``k`` scored like ``CrossValidationTrainer.run`` scores it."""
    from sklearn.metrics import check_scoring

    X_train, y_train, X_test, y_test = data
    try:
        scorer = check_scoring(model, scoring=trainer.scoring)
        started = time.perf_counter()
        test_score = float(scorer(for_scoring(model, X_test), X_test, y_test))
        score_time = time.perf_counter() - started
        train_score = (
            float(scorer(for_scoring(model, X_train), X_train, y_train))
            if trainer.return_train_score
            else None
        )
    except Exception as err:
        if isinstance(trainer.error_score, str):
            raise
        return _fail(trainer, member, k, fit_time, err, traceback.format_exc())
    return FoldResult(k, test_score, fit_time, score_time, train_score)


def _fail(
    trainer: CrossValidationTrainer,
    member: _Member,
    k: int,
    fit_time: float,
    err: Exception,
    text: str,
) -> FoldResult:
    value = float(trainer.error_score)
    member.failed.append(k)
    member.errors.append(text)
    member.error_types.append(error_type(err))
    return FoldResult(k, value, fit_time, 0.0, value if trainer.return_train_score else None)


def _emit_fold(
    trainer: CrossValidationTrainer, member: _Member, fold: FoldResult, emit: Any
) -> None:
    """The fold event and, for fold-level intervals, the running-mean report (as ``run``)."""
    emit({"event": "fold", **fold.to_json()})
    member.scores.append(fold.test_score)
    if not trainer.reports_folds:
        return
    member.interval += 1
    emit(
        {
            "event": "report",
            "interval": member.interval,
            "value": float(np.mean(member.scores)),
            "fold": fold.fold,
        }
    )


def _fit_group(
    trainer: CrossValidationTrainer,
    estimator: Any,
    X: Any,
    y: np.ndarray,
    fits: list[tuple[Any, int]],
) -> None:
    """Fit ``estimator`` once for every ``(FoldFit, rounds)``: stoppable between rounds, and,
    for round-level intervals, reporting each member's rounds up to its own round count."""
    should_stop = fits[0][0].should_stop
    if trainer.reports_folds:
        fit_stoppable(estimator, X, y, should_stop)
        return
    from hpt.trainers._rounds import (
        ROUND_METRICS,
        _lightgbm_eval_args,
        _read_lightgbm,
        _read_xgboost,
        _RoundReporter,
    )

    library = boosting_library(estimator)
    spec = ROUND_METRICS[trainer.scoring]
    n_classes = int(np.unique(y).size) if spec.task == "classifier" else 0
    name, to_score = spec.eval_metric(library or "?", n_classes)
    if library is None or name is None:
        raise ValueError(
            f"{trainer.scoring} cannot be reported per boosting round for "
            f"{type(estimator).__name__} with {n_classes} classes; use policy.interval_unit=fold"
        )
    read = _read_xgboost(name) if library == "xgboost" else _read_lightgbm(name)
    every = int(getattr(trainer, "report_every", 10))
    reporters = [_RoundReporter(fit, every, rounds, read, to_score) for fit, rounds in fits]

    def on_round(rounds: int, log: Any) -> None:
        _check_stop(should_stop)
        for reporter in reporters:
            if reporter.total is not None and rounds <= reporter.total:
                reporter.on_round(rounds, log)

    def on_end() -> None:
        for reporter in reporters:
            reporter.on_end()

    X_test, y_test = fits[0][0].X_test, fits[0][0].y_test
    if library == "xgboost":
        _fit_xgboost(
            estimator,
            X,
            y,
            _xgboost_callback(on_round, on_end),
            fit_kwargs={"eval_set": [(X_test, y_test)], "verbose": False},
            overrides={"eval_metric": name},
        )
    else:
        estimator.fit(
            X,
            y,
            **_lightgbm_eval_args(estimator, X_test, y_test),
            eval_metric=name,
            callbacks=[_lightgbm_callback(on_round)],
        )
        on_end()
