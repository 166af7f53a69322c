"""Model-based search on Optuna's TPE and GP samplers, rebuilt from the journal at every proposal.

Nothing learnt is kept between calls: ``suggest(number, history)`` builds a fresh in-memory Optuna
study from ``history`` (plus the warm-start observations read from parent journals when the sampler
was built), asks it for one trial with a fresh engine seeded from ``(seed, number)``, and throws the
study away. So trial ``number``'s proposal is a pure function of

* the seed and the sampler options,
* which earlier trials had finished, with which values, when it was proposed (this sweep's and the
  warm-start ones), and which were still in flight.

That is what "reproducible for a given completion order" means: two sweeps (or a sweep and its
``hpt resume``) that saw the same trials finish in the same order relative to the proposals propose
the same parameters. A resumed sweep replays its journal, so it continues exactly as the
uninterrupted sweep would have, given the same completion order.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from hpt.errors import ConfigError
from hpt.samplers._base import Sampler
from hpt.samplers._observations import Observation, observation
from hpt.samplers._optuna_space import OptunaSpace
from hpt.space import SearchSpace
from hpt.trial import TrialRecord

log = logging.getLogger("hpt")

ALGORITHMS = ("auto", "tpe", "gp")
GOALS = ("maximize", "minimize")
GP_MAX_DIMENSIONS = 12  # auto picks GP up to this many searched dimensions
_ASK_ATTEMPTS = 3  # re-asks when the engine proposes a configuration already tried
_RANDOM_ATTEMPTS = 1000

_INSTALL = "pip install 'hpt[bayes]'"


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "sampler._target_", f"the bayesian sampler needs Optuna; install it with {_INSTALL}"
        ) from None
    # A new in-memory study per proposal would log "A new study created" every time.
    logging.getLogger("optuna.storages._in_memory").setLevel(logging.WARNING)
    return optuna


def _torch_available() -> bool:
    # find_spec, not import: importing PyTorch takes seconds, and only the GP needs it.
    return importlib.util.find_spec("torch") is not None


def _seed_for(seed: int, number: int, attempt: int) -> int:
    return int(np.random.SeedSequence([seed, number, attempt]).generate_state(1)[0])


def _key(params: dict[str, Any]) -> str:
    return repr(sorted(params.items()))


class BayesianSampler(Sampler):
    """Proposes from a model of earlier results (Optuna's TPE or Gaussian-process sampler).

    Options (``conf/sampler/bayesian.yaml``):

    * ``algorithm``: ``tpe``, ``gp`` or ``auto`` (default). ``auto`` takes the GP when every searched
      dimension is numeric (no unordered ``choice``), there are at most 12 of them and PyTorch is
      installed (Optuna's GP runs on it); TPE otherwise. The GP is the stronger model on small
      numeric spaces; TPE scales to many dimensions and to categorical ones.
    * ``n_startup_trials``: random configurations (random search's own draws for that trial
      number) until this many trials have finished with a value or are in flight, at least half of
      them finished; warm-start observations count.
    * ``multivariate``: TPE models the dimensions jointly (default true; ignored by the GP).
    * ``warm_start_from``: earlier run dirs whose finished trials are prior observations.
    * ``goal``: the metric's direction, passed in by the experiment from ``metric.goal``.

    History: completed trials (and failed ones that carry a finite ``error_score`` value) are
    observations. Trials stopped early (terminated, timed out, cancelled) that reported at least one
    interval inform the model too: TPE sees them as Optuna pruned trials with their interval values
    (ranked below completed trials), the GP as observations at their last reported value. Trials in
    flight are pending points: TPE's constant liar and the GP's batch (q-EI) acquisition steer away
    from them, and a configuration already proposed in this sweep is never proposed again (the
    engine is re-asked, then a seeded random draw not yet tried is taken).
    """

    needs_goal: ClassVar[bool] = True

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        *,
        goal: str = "maximize",
        algorithm: str = "auto",
        n_startup_trials: int = 8,
        multivariate: bool = True,
        warm_start_from: Sequence[str] | None = None,
    ) -> None:
        super().__init__(space, seed)
        if goal not in GOALS:
            raise ConfigError("sampler.goal", f"must be maximize or minimize, got {goal!r}")
        if algorithm not in ALGORITHMS:
            raise ConfigError(
                "sampler.algorithm",
                f"unknown {algorithm!r}; use one of {', '.join(ALGORITHMS)}",
            )
        if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int):
            raise ConfigError(
                "sampler.n_startup_trials", f"must be an integer >= 1, got {n_startup_trials!r}"
            )
        if n_startup_trials < 1:
            raise ConfigError(
                "sampler.n_startup_trials", f"must be an integer >= 1, got {n_startup_trials!r}"
            )
        self._optuna = _import_optuna()
        self.goal = goal
        self.multivariate = bool(multivariate)
        self.n_startup_trials = n_startup_trials
        self.optuna_space = OptunaSpace.from_space(space)
        self.algorithm = self._choose(algorithm)
        self.warm_start: tuple[Observation, ...] = ()
        if warm_start_from:
            from hpt.samplers._warm_start import load_warm_start

            self.warm_start = tuple(load_warm_start(warm_start_from, self.optuna_space, goal))

    def _choose(self, algorithm: str) -> str:
        if algorithm == "gp" and not _torch_available():
            raise ConfigError(
                "sampler.algorithm",
                f"gp runs on PyTorch, which is not installed; install it with {_INSTALL} "
                "or use sampler.algorithm=tpe",
            )
        if algorithm != "auto":
            return algorithm
        small_numeric = (
            self.optuna_space.all_numeric
            and 0 < len(self.optuna_space.dimensions) <= GP_MAX_DIMENSIONS
        )
        if small_numeric and not _torch_available():
            log.info("sampler.algorithm=auto: PyTorch is not installed, using TPE (GP needs it)")
            return "tpe"
        return "gp" if small_numeric else "tpe"

    # -- Sampler interface -------------------------------------------------------------------
    @property
    def size(self) -> int | None:
        return self.space.grid_size

    def exhausted(self, number: int, history: Sequence[TrialRecord]) -> bool:
        tried = {_key(dict(r.params)) for r in history if r.number < number}
        return self._exhausted(tried)

    def _exhausted(self, tried: set[str]) -> bool:
        # Nothing to search (every dimension fixed) is one configuration, whatever ``size`` says.
        size = self.size if self.optuna_space.dimensions else 1
        return size is not None and len(tried) >= size

    def suggest(self, number: int, history: Sequence[TrialRecord]) -> dict[str, Any] | None:
        earlier = [r for r in history if r.number < number]
        tried = {_key(dict(r.params)) for r in earlier}
        if self._exhausted(tried):
            return None
        if not self.optuna_space.dimensions:
            return dict(self.optuna_space.fixed)
        observations, pending = self._observations(earlier)
        informative = sum(1 for o in observations if o.value is not None or o.intermediate)
        # Trials in flight count toward the start-up (with w workers the model would otherwise
        # start w - 1 trials late, and it steers away from pending points), but at least half of
        # the start-up trials must have finished.
        observed_enough = informative >= max(1, self.n_startup_trials // 2)
        if observed_enough and informative + len(pending) >= self.n_startup_trials:
            params = self._ask_model(number, observations, pending, tried)
            if params is not None:
                return params
        return self._random(number, tried)

    # -- internals ---------------------------------------------------------------------------
    def _observations(
        self, earlier: Sequence[TrialRecord]
    ) -> tuple[list[Observation], list[Observation]]:
        observations = list(self.warm_start)
        pending: list[Observation] = []
        for record in sorted(earlier, key=lambda r: r.number):
            internal, _ = self.optuna_space.to_internal(record.params)
            if internal is None:
                continue  # e.g. a start-up draw off the truncated box of a fixed dimension
            obs = observation(record, internal)
            if obs is None:
                continue
            (pending if obs.value is None and not obs.stopped_early else observations).append(obs)
        return observations, pending

    def _engine(self, seed: int) -> Any:
        samplers = self._optuna.samplers
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # multivariate TPE is "experimental"
            if self.algorithm == "gp":
                return samplers.GPSampler(
                    seed=seed, n_startup_trials=0, warn_independent_sampling=False
                )
            return samplers.TPESampler(
                seed=seed,
                n_startup_trials=0,
                multivariate=self.multivariate,
                constant_liar=True,
                warn_independent_sampling=False,
            )

    def _study(self, seed: int, observations: list[Observation], pending: list[Observation]) -> Any:
        optuna = self._optuna
        state = optuna.trial.TrialState
        distributions = self.optuna_space.distributions
        study = optuna.create_study(direction=self.goal, sampler=self._engine(seed))
        for obs in observations:
            if obs.stopped_early and self.algorithm == "tpe":
                trial = optuna.trial.create_trial(
                    params=obs.params,
                    distributions=distributions,
                    state=state.PRUNED,
                    intermediate_values=dict(enumerate(obs.intermediate)),
                )
            else:
                value = obs.value if obs.value is not None else obs.intermediate[-1]
                trial = optuna.trial.create_trial(
                    params=obs.params, distributions=distributions, value=value
                )
            study.add_trial(trial)
        for obs in pending:
            study.add_trial(
                optuna.trial.create_trial(
                    params=obs.params, distributions=distributions, state=state.RUNNING
                )
            )
        return study

    def _ask_model(
        self,
        number: int,
        observations: list[Observation],
        pending: list[Observation],
        tried: set[str],
    ) -> dict[str, Any] | None:
        distributions = self.optuna_space.distributions
        study = self._study(_seed_for(self.seed, number, 0), observations, pending)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(_ASK_ATTEMPTS):
                # A re-ask sees the rejected proposal as one more running trial, so it moves away.
                trial = study.ask(fixed_distributions=distributions)
                params = self.optuna_space.to_native(trial.params)
                if _key(params) not in tried:
                    return params
        return None

    def _random(self, number: int, tried: set[str]) -> dict[str, Any] | None:
        rng = np.random.default_rng([self.seed, number])
        for _ in range(_RANDOM_ATTEMPTS):
            params = self.space.sample(rng)
            if _key(params) not in tried:
                return params
        if self.space.grid_size is not None:  # a nearly exhausted finite space: first untried
            for params in self.space.grid():
                if _key(params) not in tried:
                    return params
            return None
        return self.space.sample(rng)
