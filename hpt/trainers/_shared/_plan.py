"""The driver side of nested boosting rounds: which pending trials share one attempt.

Trials whose parameters coincide except for ``n_estimators`` (and whose model nests exactly, see
:mod:`._nesting`) are grouped into one attempt when they are pending at the same time. Nothing
waits for a group: the sweep loop only looks at proposals it could start anyway. Samplers that
do not learn from results (grid, random) give the same proposals whenever they are asked, so the
loop may ask them ahead (:attr:`RoundSharing.look_ahead`): the whole grid (up to
:data:`GRID_LOOK_AHEAD` proposals), or ``4 x capacity`` random proposals. Samplers that learn are
never asked ahead (that would change what they propose); their pending trials (requeued after a
crash) are still grouped.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from omegaconf import OmegaConf

from hpt.trainers._shared._nesting import ROUNDS_PARAM, nesting_library, refusal
from hpt.trial import TrialSpec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hpt.experiment import Experiment

#: A grid sampler is asked this many proposals ahead at most (its proposals are free).
GRID_LOOK_AHEAD = 1024
#: A random sampler is asked this many times the capacity ahead.
RANDOM_LOOK_AHEAD = 4
#: ``hpt validate`` counts the fits of grids up to this size (beyond, it only says rounds nest).
PLAN_COUNT_LIMIT = 100_000


@dataclass(frozen=True)
class RoundSharing:
    """Groups pending trials that differ only in ``n_estimators`` into one attempt."""

    estimator: Any
    look_ahead: int = 0

    def key(self, params: Mapping[str, Any]) -> str | None:
        """What members of one group have in common, or ``None`` if ``params`` cannot share."""
        if ROUNDS_PARAM not in params or refusal(self.estimator, params) is not None:
            return None
        rest = {k: v for k, v in params.items() if k != ROUNDS_PARAM}
        return json.dumps(rest, sort_keys=True, default=repr)

    def group(self, first: TrialSpec, pending: deque[TrialSpec]) -> TrialSpec:
        """``first`` alone, or an attempt with ``first`` and its mates taken from ``pending``.

        The attempt's own spec is its member with the most rounds (ties: the later trial), so
        its id names the attempt for the launcher and its parameters are those fitted.
        """
        key = self.key(first.params)
        if key is None:
            return first
        mates = [spec for spec in pending if self.key(spec.params) == key]
        if not mates:
            return first
        for spec in mates:
            pending.remove(spec)
        members = sorted([first, *mates], key=lambda s: (int(s.params[ROUNDS_PARAM]), s.number))
        return replace(members[-1], members=tuple(members))


def _share_work(exp: Experiment) -> bool:
    return bool(OmegaConf.select(exp.cfg, "sweep.share_work", default=True))


def round_sharing(exp: Experiment, capacity: int) -> RoundSharing | None:
    """How ``exp``'s sweep groups trials, or ``None`` when it does not (``sweep.share_work`` off,
    not a ``cv`` sweep, a model without nested rounds, ``n_estimators`` not searched, several
    metrics or sample weights)."""
    from hpt.samplers import GridSampler, RandomSampler

    if not _share_work(exp) or exp.kind.name != "cv" or exp.estimator is None:
        return None
    if nesting_library(exp.estimator) is None or ROUNDS_PARAM not in exp.space.names:
        return None
    # The nested scorer computes the primary metric, unweighted: a sweep with more metrics or
    # sample weights is not shared (exactness first).
    if exp.cfg.metric.get("also") or exp.cfg.dataset.get("weight"):
        return None
    look_ahead = 0
    if isinstance(exp.sampler, GridSampler):
        look_ahead = GRID_LOOK_AHEAD
    elif isinstance(exp.sampler, RandomSampler):
        look_ahead = RANDOM_LOOK_AHEAD * max(1, capacity)
    return RoundSharing(exp.estimator, look_ahead)


def count_fits(keys: list[str | None], look_ahead: int) -> int:
    """Fitted attempts a fresh sweep makes for proposals with these group ``keys``, in order: what
    the sweep loop does (take the next proposal, group it with its mates among the next
    ``look_ahead`` proposals)."""
    pending = deque(range(len(keys)))
    attempts = 0
    while pending:
        first = pending.popleft()
        attempts += 1
        if keys[first] is None:
            continue
        window = list(pending)[:look_ahead]
        for index in window:
            if keys[index] == keys[first]:
                pending.remove(index)
    return attempts


def plan_line(exp: Experiment, capacity: int | None) -> str | None:
    """``"16 configurations, 40 fits instead of 80: n_estimators nested"``, or ``None``."""
    sharing = round_sharing(exp, capacity or 1)
    if sharing is None:
        return None
    trials = exp.planned_trials()
    folds = exp.n_folds or 1
    if trials is None or trials > PLAN_COUNT_LIMIT:
        return f"shared work: {ROUNDS_PARAM} nested where configurations differ only in it"
    if sharing.look_ahead == 0:
        return (
            f"shared work: {ROUNDS_PARAM} nested for pending configurations that differ only "
            f"in it (the sampler is not asked ahead)"
        )
    keys = []
    for number in range(trials):
        params = exp.sampler.suggest(number, [])
        if params is None:
            break
        keys.append(sharing.key(params))
    attempts = count_fits(keys, sharing.look_ahead)
    fits, unshared = attempts * folds, len(keys) * folds
    if fits == unshared:
        return (
            f"shared work: none ({len(keys)} configurations, no two differ only in {ROUNDS_PARAM})"
        )
    return f"{len(keys)} configurations, {fits} fits instead of {unshared}: {ROUNDS_PARAM} nested"
