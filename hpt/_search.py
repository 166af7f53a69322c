"""Evaluate an explicit list of candidates with hpt's sweep loop on any launcher.

This is the engine behind the scikit-learn searches of :mod:`hpt.spark`: the candidates come from
``ParameterGrid``/``ParameterSampler`` (or a custom ``_run_search``) instead of a search space,
and trial ``i`` evaluates candidate ``i``. Trials carry only the candidate's index
(``{"candidate": i}``); the candidates, the estimator, the data, the fit parameters and the
scorers travel once, inside the :class:`SearchTrainer`, with the user's own code by value
(:mod:`hpt._shipping`), so any parameter value -- an estimator, a tuple, a numpy scalar, a class
from the user's module -- reaches the workers intact.

Each fold of a candidate is scikit-learn's own ``_fit_and_score`` (the rows sliced as scikit-learn
slices them, fit parameters and routed metadata included, the input type kept); its results, the
lines it prints (``verbose``) and the warnings it raises go back in the fold event, and the
driver replays them.
"""

from __future__ import annotations

import base64
import contextlib
import io
import pickle
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpt._shipping import ShipsUserCode
from hpt.callbacks import SweepCallback
from hpt.errors import SweepAborted
from hpt.journal import Journal
from hpt.launcher import Launcher
from hpt.limits import Limits
from hpt.samplers import Sampler
from hpt.space import SearchSpace
from hpt.state import SweepState
from hpt.sweep import SweepLoop
from hpt.trainers import Emit, ShouldStop, Trainer, TrialOutcome, TrialStopped
from hpt.trial import FoldResult, TrialRecord, TrialSpec

CANDIDATE = "candidate"


class CandidateSampler(Sampler):
    """Proposes ``{"candidate": i}`` for trial ``i`` while ``i < n``."""

    def __init__(self, n: int) -> None:
        super().__init__(SearchSpace(()), seed=0)
        self.n = int(n)

    @property
    def size(self) -> int:
        return self.n

    def suggest(self, number: int, history: Sequence[TrialRecord]) -> dict[str, Any] | None:
        return {CANDIDATE: number} if number < self.n else None


def _primary(scores: Any, primary: str | None) -> float:
    """The score that stands for a fold: ``primary`` of a dict of scores, or the one score."""
    if isinstance(scores, Mapping):
        if not scores:
            return float("nan")
        return float(scores[primary] if primary in scores else next(iter(scores.values())))
    return float(scores)


def _as_scores(scores: Any) -> dict[str, float] | None:
    return {str(k): float(v) for k, v in scores.items()} if isinstance(scores, Mapping) else None


def _warning_records(caught: Sequence[warnings.WarningMessage]) -> list[list[Any]]:
    """[category, message, filename, lineno] of each warning a fit raised on the worker."""
    return [
        [
            f"{w.category.__module__}:{w.category.__qualname__}",
            str(w.message),
            str(w.filename),
            int(w.lineno),
        ]
        for w in caught
    ]


class SearchTrainer(ShipsUserCode, Trainer):
    """Cross-validates ``candidates[spec.params["candidate"]]`` with scikit-learn's
    ``_fit_and_score`` over ``splits``; ``fit_and_score`` holds its keyword arguments (scorer,
    fit and score parameters, error_score, verbose...).

    Each fold emits a ``fold`` event: the :class:`FoldResult` (``test_score`` is ``primary``'s
    score, ``test_scores`` every metric when scoring is multi-metric, ``error`` the fit's
    traceback), plus ``output`` (what the fit printed) and ``warnings``. An exception that
    scikit-learn lets through (``error_score="raise"``, a scorer returning a non-number) is
    sent pickled in a last fold event's ``exception`` so the driver raises it as is.
    """

    _data_fields = ("X", "y", "splits")

    def __init__(
        self,
        estimator: Any,
        X: Any,
        y: Any,
        splits: Sequence[tuple[np.ndarray, np.ndarray]],
        candidates: Sequence[Mapping[str, Any]],
        fit_and_score: Mapping[str, Any],
        *,
        primary: str | None = None,
    ) -> None:
        self.estimator = estimator
        self.X = X
        self.y = y
        self.splits = [(np.asarray(tr), np.asarray(te)) for tr, te in splits]
        self.candidates = [dict(c) for c in candidates]
        self.fit_and_score = dict(fit_and_score)
        self.primary = primary

    @property
    def n_folds(self) -> int:
        return len(self.splits)

    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        from sklearn.base import clone
        from sklearn.model_selection._validation import _fit_and_score

        index = int(spec.params[CANDIDATE])
        done = {f.fold: f for f in spec.done_folds}
        values = {k: f.test_score for k, f in done.items()}
        failed: list[int] = [k for k, f in done.items() if f.error is not None]
        errors: list[str] = [str(done[k].error) for k in failed]
        n_splits = len(self.splits)
        for k, (train, test) in enumerate(self.splits):
            if k in done:
                continue
            if should_stop():
                raise TrialStopped()
            printed = io.StringIO()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    with contextlib.redirect_stdout(printed):
                        result = _fit_and_score(
                            clone(self.estimator),
                            self.X,
                            self.y,
                            train=train,
                            test=test,
                            parameters=self.candidates[index],
                            split_progress=(k, n_splits),
                            candidate_progress=(index, len(self.candidates)),
                            **self.fit_and_score,
                        )
                except Exception as err:
                    emit(
                        {
                            "event": "fold",
                            **FoldResult(k, float("nan"), 0.0, 0.0).to_json(),
                            "exception": _pickled(err),
                            "output": printed.getvalue(),
                            "warnings": _warning_records(caught),
                        }
                    )
                    raise
            fold = FoldResult(
                k,
                _primary(result["test_scores"], self.primary),
                float(result["fit_time"]),
                float(result["score_time"]),
                None
                if "train_scores" not in result
                else _primary(result["train_scores"], self.primary),
                test_scores=_as_scores(result["test_scores"]),
                train_scores=_as_scores(result.get("train_scores")),
                n_test_samples=int(result["n_test_samples"]),
                error=result.get("fit_error"),
            )
            emit(
                {
                    "event": "fold",
                    **fold.to_json(),
                    "output": printed.getvalue(),
                    "warnings": _warning_records(caught),
                }
            )
            values[k] = fold.test_score
            if fold.error is not None:
                failed.append(k)
                errors.append(fold.error)
        return TrialOutcome(
            float(np.mean([values[k] for k in sorted(values)])) if values else float("nan"),
            tuple(failed),
            tuple(errors),
            tuple("FitError" for _ in failed),
        )


def _pickled(err: BaseException) -> str:
    """``err`` pickled (cloudpickle: it may be the user's own exception class), base64."""
    from hpt._shipping import dumps_with_user_code

    try:
        data = dumps_with_user_code(err)
    except Exception:  # an unpicklable exception: the traceback text still travels
        data = pickle.dumps(RuntimeError(f"{type(err).__name__}: {err}"))
    return base64.b64encode(data).decode("ascii")


def unpickle_exception(text: str) -> BaseException:
    """The exception :class:`SearchTrainer` sent in a fold event's ``exception``."""
    value = pickle.loads(base64.b64decode(text))
    assert isinstance(value, BaseException)
    return value


def _category(name: str) -> type[Warning]:
    module, _, qualname = name.partition(":")
    try:
        import importlib

        value: Any = importlib.import_module(module)
        for part in qualname.split("."):
            value = getattr(value, part)
    except Exception:
        return UserWarning
    return value if isinstance(value, type) and issubclass(value, Warning) else UserWarning


class FoldRelay(SweepCallback):
    """Replays on the driver what each fit printed and warned on its worker, as it arrives, and
    keeps the first exception a worker sent (see :class:`SearchTrainer`)."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.echo = echo or (lambda text: print(text, end=""))
        self.exception: BaseException | None = None

    def on_event(self, record: dict[str, Any], state: Any) -> None:
        if record.get("event") != "fold":
            return
        if record.get("output"):
            self.echo(str(record["output"]))
        for category, message, *where in record.get("warnings") or ():
            # Raised again where the worker raised it (so filters and pytest.warns apply).
            filename, lineno = where if len(where) == 2 else ("<worker>", 0)
            warnings.warn_explicit(
                str(message), _category(str(category)), str(filename), int(lineno)
            )
        if record.get("exception") and self.exception is None:
            self.exception = unpickle_exception(str(record["exception"]))


@dataclass(frozen=True)
class CandidateResults:
    """The finished sweep: ``state.ordered()[i]`` is candidate ``i``; ``aborted`` says why the
    loop stopped early (``error_score="raise"`` and a trial failed); ``seconds`` its length."""

    state: SweepState
    aborted: str | None = None
    seconds: float = 0.0


def run_candidates(
    trainer: SearchTrainer,
    launcher: Launcher,
    *,
    max_retries: int = 2,
    error_score_raise: bool = False,
    callbacks: Sequence[SweepCallback] = (),
) -> CandidateResults:
    """Evaluate every candidate of ``trainer`` on ``launcher`` (opened and closed here).

    With ``error_score_raise`` the loop stops at the first failed trial; ``aborted`` then says
    so and the state holds that trial with its traceback.
    """
    n = len(trainer.candidates)
    state = SweepState()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hpt-search-") as directory:
        journal = Journal(directory)
        state.apply(journal.append("sweep_created", config={}, max_total_runs=n))
        # No fail-fast: like scikit-learn, every candidate is evaluated and failures are
        # reported at the end (error_score="raise" still stops at the first).
        loop = SweepLoop(
            journal=journal,
            state=state,
            sampler=CandidateSampler(n),
            launcher=launcher,
            limits=Limits(
                max_total_runs=n,
                max_retries=max_retries,
                error_score_raise=error_score_raise,
                fail_fast=False,
            ),
            goal="maximize",
            callbacks=list(callbacks),
        )
        aborted: str | None = None
        try:
            launcher.open(trainer)
            loop.run()
        except SweepAborted as err:
            aborted = str(err)
        finally:
            launcher.close()
            journal.close()
    return CandidateResults(state, aborted, time.perf_counter() - started)
