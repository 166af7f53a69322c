"""Which model family the next AutoML iteration tries: a softmax over each family's best score.

With a few dozen iterations over eleven families, TPE's model of the ``model`` choice is close to
uniform (its Parzen estimator of a categorical adds a prior weight to every choice, and only a
tenth of the trials count as "good"), so after the warm start about a third of the proposals went
to families that had already scored far below the best (in a 60 s run on a 12-class set: kNN,
SGD, logistic regression, a decision tree and two SVMs, 15 % of the worker time). Like FLAML,
which picks its learner before searching the learner's own space, hpt picks the family first:

* each family's score is its best completed value (a failed or timed-out iteration counts as the
  worst completed value, as in the sampler's replay); a family not tried yet counts at the lower
  quartile of the families' scores;
* the probability of a family is ``exp((score - best) / temperature)``. The temperature is a
  quarter of the gap between the best family and the lower quartile of the families (so it scales
  with the metric and the data: on a 12-class set where the families' best AUCs run from 0.66 to
  0.88, 0.03), but at least the standard error of the best iteration's mean over its folds
  (families whose scores differ by less than the folds' noise are not told apart). So families
  close to the best share the proposals, and one a whole quartile gap below gets about 2 % of the
  best one's weight;
* :data:`EXPLORE` of the probability is spread evenly over all families, so none is ruled out by
  its one warm-start default.

Everything is computed from the history, and the draw uses a generator seeded by the trial
number: the same history gives the same family (resume proposes exactly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hpt.automl.local import incumbent, scored
from hpt.trial import TrialRecord, TrialStatus

EXPLORE = 0.05
#: the temperature as a fraction of the gap between the best family and the lower quartile
TEMPERATURE = 0.25


def family_scores(
    history: Sequence[TrialRecord], models: Sequence[str], goal: str
) -> dict[str, float]:
    """Each tried family's best value, larger is better (negated when ``goal`` minimizes)."""
    sign = 1.0 if goal == "maximize" else -1.0
    done = [(str(r.params.get("model")), sign * float(r.value or 0.0)) for r in scored(history)]
    if not done:
        return {}
    worst = min(v for _, v in done)
    scores: dict[str, float] = {}
    for family, value in done:
        scores[family] = max(scores.get(family, -math.inf), value)
    for r in history:
        family = str(r.params.get("model"))
        if r.status in (TrialStatus.FAILED, TrialStatus.TIMED_OUT) and family not in scores:
            scores[family] = worst
    return {f: v for f, v in scores.items() if f in models}


def family_weights(
    scores: dict[str, float], models: Sequence[str], noise: float = 0.0
) -> dict[str, float]:
    """The probability of each of ``models`` (see the module docstring); sums to 1. ``noise`` is
    the floor of the temperature (the best iteration's standard error)."""
    if not scores:
        return {m: 1.0 / len(models) for m in models}
    best = max(scores.values())
    quartile = float(np.percentile(list(scores.values()), 25))
    filled = {m: scores.get(m, quartile) for m in models}
    temperature = max(TEMPERATURE * (best - quartile), noise)
    if temperature <= 0:  # every family tried scored the same (or only one was tried)
        raw = {m: 1.0 if filled[m] >= best else 0.0 for m in models}
    else:
        raw = {m: math.exp((filled[m] - best) / temperature) for m in models}
    total = sum(raw.values())
    return {m: (1 - EXPLORE) * raw[m] / total + EXPLORE / len(models) for m in models}


def standard_error(history: Sequence[TrialRecord], goal: str) -> float:
    """The standard error of the best completed iteration's mean over its folds (0 with fewer
    than two folds)."""
    best = incumbent(history, goal)
    scores = [f.test_score for f in best.folds] if best is not None else []
    scores = [s for s in scores if math.isfinite(s)]
    if len(scores) < 2:
        return 0.0
    return float(np.std(scores, ddof=1) / math.sqrt(len(scores)))


def choose_family(
    history: Sequence[TrialRecord], models: Sequence[str], goal: str, rng: np.random.Generator
) -> str:
    """One family drawn by :func:`family_weights` with ``rng``."""
    scores = family_scores(history, models, goal)
    weights = family_weights(scores, models, standard_error(history, goal))
    names = list(models)
    p = np.array([weights[m] for m in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]
