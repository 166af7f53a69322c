"""The adaptive sampler over pipelines: Optuna's TPE on the conditional space, rebuilt each call.

:class:`AutoMLSampler` keeps no state between calls: for trial ``n`` it replays the journal's
history into a fresh in-memory Optuna study (finished trials with their values, trials in flight
as running ones, which TPE's ``constant_liar`` keeps it away from), seeds TPE with
``(seed, n)``, and asks once. The same history therefore always gives the same proposal, which is
what makes a resumed sweep continue exactly. How each trial of the history counts:

* completed: its value; stopped by the policy: its last reported value (the running mean);
* failed or timed out: the worst completed value so far (so TPE learns to avoid the slow or
  broken corner), or nothing until a trial has completed;
* cancelled (the sweep ended under it) or not replayable (the space changed): left out.

The first trials are a warm start: each family's defaults (``space.DEFAULTS``), one trial per
family in the order of ``models`` (but for :data:`NOT_WARM_STARTED`), so every family has been seen
before the search models them. After it, each proposal first draws the family from the families'
best scores (:mod:`hpt.automl.families`), then its hyperparameters: a neighbour of that family's
best iteration (:mod:`hpt.automl.local`) while the family has fewer than ``_FAMILY_STARTUP``
iterations, after that half of the time, otherwise TPE over that family's own trials. Every
proposal is made cost-frugal (:mod:`hpt.automl.costs`): its ensemble size grows only as fast as
completed iterations have measured, and stays within ``allowance`` worker-seconds.
``search="random"`` draws families and hyperparameters uniformly instead (a baseline).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from hpt.automl.costs import CostModel
from hpt.automl.families import choose_family
from hpt.automl.local import LOCAL_SHARE, incumbent, neighbour, scored
from hpt.automl.space import Ask, default_pipeline, define_pipeline
from hpt.samplers import Sampler
from hpt.space import SearchSpace
from hpt.trial import TrialRecord, TrialStatus

SEARCHES = ("tpe", "random")
_RETRIES = 8  # asks before accepting a configuration already tried (or too costly)
_FAMILY_STARTUP = 3  # a family's trials before TPE models it (local moves only until then)
#: Families left out of the warm start: an RBF SVM's cost grows with the square of the rows
#: (and probabilities fit it four times per fold), which alone took a quarter of a 60 s budget
#: on 8,000 rows. TPE can still propose it; the cost model then keeps it out if it is too slow.
NOT_WARM_STARTED = ("svm",)


def _key(params: Any) -> str:
    import json

    return json.dumps(dict(params), sort_keys=True, default=str)


class AutoMLSampler(Sampler):
    """Pipelines for ``task`` over ``models`` (see the module docstring)."""

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        *,
        task: str = "classification",
        models: Sequence[str] = (),
        preprocess: bool = False,
        goal: str = "maximize",
        search: str = "tpe",
        allowance: float | None = None,
    ) -> None:
        super().__init__(space, seed)
        if search not in SEARCHES:
            from hpt.errors import ConfigError

            raise ConfigError("automl.search", f"must be tpe or random, got {search!r}")
        self.task = task
        self.models = list(models)
        self.preprocess = bool(preprocess)
        self.goal = goal
        self.search = search
        self.allowance = None if allowance is None else float(allowance)
        #: The data's column count, set when the data is loaded (see
        #: :meth:`hpt.automl.kind.AutoMLKind.load_dataset`); it shapes one warm-start default.
        self.n_features: int | None = None
        #: Whether the data is a sparse matrix (set with ``n_features``); it picks the linear
        #: and distance families' warm-start scaler.
        self.sparse = False

    @property
    def warm_start(self) -> list[str]:
        """The families tried first at their defaults, in order."""
        warm = [m for m in self.models if m not in NOT_WARM_STARTED]
        return warm or list(self.models)

    def exhausted(self, number: int, history: Sequence[TrialRecord]) -> bool:
        return False  # an unbounded space; the sweep's limits end it

    def _define(self, ask: Ask, models: Sequence[str] | None = None) -> dict[str, Any]:
        return define_pipeline(ask, self.task, list(models or self.models), self.preprocess)

    def _replayed(
        self, history: Sequence[TrialRecord], number: int, models: Sequence[str] | None = None
    ) -> list[Any]:
        """Optuna ``FrozenTrial`` s for the history of trial ``number`` (see the docstring), of
        the families ``models`` only (default: all)."""
        import optuna
        from optuna.trial import TrialState, create_trial

        models = list(models or self.models)
        earlier = [r for r in history if r.number < number]
        sign = 1.0 if self.goal == "maximize" else -1.0
        done = [float(r.value or 0.0) for r in scored(earlier)]
        worst = min(done, key=lambda v: sign * v) if done else None
        trials = []
        for record in earlier:
            if record.params.get("model") not in models:
                continue
            status = record.status
            value: float | None = None
            state = TrialState.COMPLETE
            if status is TrialStatus.COMPLETED:
                value = record.value
            elif status is TrialStatus.TERMINATED and record.values:
                value = record.values[-1]
            elif status in (TrialStatus.FAILED, TrialStatus.TIMED_OUT):
                value = worst
            elif status in (TrialStatus.PROPOSED, TrialStatus.RUNNING):
                state = TrialState.RUNNING
            if state is TrialState.COMPLETE and (value is None or not math.isfinite(value)):
                continue
            params = dict(record.params)

            def replay(
                name: str, scoped: str, distribution: Any, p: dict[str, Any] = params
            ) -> Any:
                return p[name]

            ask = Ask(replay)
            try:
                self._define(ask, models)
                trials.append(
                    create_trial(
                        state=state,
                        value=value,
                        params=ask.values,
                        distributions=ask.distributions,
                    )
                )
            except (KeyError, ValueError, optuna.exceptions.OptunaError):
                continue  # proposed by a different space (a forced resume); nothing to learn
        return trials

    def suggest(self, number: int, history: Sequence[TrialRecord]) -> dict[str, Any] | None:
        warm = self.warm_start
        if self.search == "tpe" and number < len(warm):
            return default_pipeline(
                warm[number], self.task, self.preprocess, self.n_features, sparse=self.sparse
            )
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        engine_seed = (self.seed * 1_000_003 + number) % (2**32)
        earlier = [r for r in history if r.number < number]
        seen = {_key(r.params) for r in earlier}
        costs = CostModel(earlier, self.allowance)
        models = list(self.models)
        if self.search == "tpe":
            rng = np.random.default_rng(engine_seed)
            affordable = [m for m in models if costs.affordable({"model": m})] or models
            family = choose_family(earlier, affordable, self.goal, rng)
            models = [family]
            mine = [r for r in earlier if r.params.get("model") == family]
            best = incumbent(mine, self.goal)
            # Outwards from the family's best until TPE has a few of its trials to model (wide
            # random draws within a family were the costliest iterations), then half and half.
            if best is not None and (len(mine) < _FAMILY_STARTUP or rng.random() < LOCAL_SHARE):
                local = self._local_move(best, seen, costs, rng)
                if local is not None:
                    return local
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning for these options
            engine: optuna.samplers.BaseSampler
            if self.search == "tpe":
                engine = optuna.samplers.TPESampler(
                    seed=engine_seed,
                    multivariate=True,
                    group=True,
                    constant_liar=True,
                    n_startup_trials=_FAMILY_STARTUP,
                    warn_independent_sampling=False,
                )
            else:
                engine = optuna.samplers.RandomSampler(seed=engine_seed)
            study = optuna.create_study(
                direction="maximize" if self.goal == "maximize" else "minimize", sampler=engine
            )
            for trial in self._replayed(history, number, models):
                study.add_trial(trial)
            params: dict[str, Any] = {}
            for _ in range(_RETRIES):
                live = study.ask()
                params = costs.frugal(self._define(Ask(_asker(live)), models))
                if _key(params) not in seen and costs.affordable(params):
                    break
                study.tell(live, state=optuna.trial.TrialState.FAIL)
        return params

    def _local_move(
        self, best: TrialRecord, seen: set[str], costs: CostModel, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        """A new, affordable neighbour of ``best`` (:func:`hpt.automl.local.neighbour`), or
        ``None`` (then TPE proposes)."""
        for _ in range(_RETRIES):
            try:
                params = costs.frugal(neighbour(dict(best.params), self._define, rng))
            except (KeyError, ValueError):
                return None  # the best is not of this space (a forced resume)
            if _key(params) not in seen and costs.affordable(params):
                return params
        return None


def _asker(trial: Any) -> Any:
    """A :class:`Ask` source that asks the live Optuna ``trial``."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    def source(name: str, scoped: str, d: Any) -> Any:
        if isinstance(d, CategoricalDistribution):
            return trial.suggest_categorical(scoped, d.choices)
        if isinstance(d, IntDistribution):
            return trial.suggest_int(scoped, d.low, d.high, log=d.log)
        return trial.suggest_float(scoped, d.low, d.high, log=d.log)

    return source
