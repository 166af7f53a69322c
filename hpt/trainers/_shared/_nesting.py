"""Which models nest in their number of boosting rounds, and their truncated predictions.

A gradient-boosting model trained for ``N`` rounds contains, as its first ``n`` trees, exactly the
model trained for ``n`` rounds with the same parameters and seed: each round only adds trees, and
the random draws of round ``i`` (row subsampling, column sampling) do not depend on how many rounds
follow. So its predictions truncated at ``n`` rounds are those of the ``n``-round model, bit for
bit (``tests/test_shared_work.py`` checks it for every library here, ``subsample`` and column
sampling included):

* XGBoost (``XGBClassifier``/``XGBRegressor``, not the random forests ``XGBRF*``):
  ``predict[_proba](X, iteration_range=(0, n))``;
* LightGBM (``boosting_type="gbdt"``): ``predict[_proba](X, num_iteration=n)``;
* scikit-learn's ``GradientBoostingClassifier``/``GradientBoostingRegressor``: the ``n``-th
  element of ``staged_predict[_proba]`` / ``staged_decision_function``.

What would break the prefix property is refused (:func:`refusal`): early stopping (the model
would stop at a round that depends on ``N``), DART (dropout rescales earlier trees as later ones
are added), LightGBM's random-forest mode (the prediction averages every tree), and user
callbacks (they may change training).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from hpt.trainers._boosting import boosting_library
from hpt.trainers._streamed import ScoringView

#: The parameter that counts boosting rounds, in every library supported here.
ROUNDS_PARAM = "n_estimators"

_SKLEARN_BOOSTING = ("GradientBoostingClassifier", "GradientBoostingRegressor")

# Parameters (or LightGBM aliases) that make a model's trees depend on the total round count.
_XGBOOST_REFUSED: tuple[str, ...] = ("early_stopping_rounds", "callbacks")
_LIGHTGBM_REFUSED: tuple[str, ...] = (
    "early_stopping_round",
    "early_stopping_rounds",
    "early_stopping",
    "n_iter_no_change",
    "num_iterations",
    "num_iteration",
    "n_iter",
    "num_tree",
    "num_trees",
    "num_round",
    "num_rounds",
    "nrounds",
    "num_boost_round",
    "boosting",
    "boost",
    "callbacks",
)


def nesting_library(estimator: Any) -> str | None:
    """``"xgboost"``, ``"lightgbm"`` or ``"sklearn"`` when ``estimator``'s class nests in
    :data:`ROUNDS_PARAM`; ``None`` otherwise (its parameters may still refuse, see :func:`refusal`)."""
    library = boosting_library(estimator)
    if library is not None:
        return library
    module = type(estimator).__module__
    if module.startswith("sklearn.ensemble") and type(estimator).__name__ in _SKLEARN_BOOSTING:
        return "sklearn"
    return None


def refusal(estimator: Any, params: Mapping[str, Any]) -> str | None:
    """Why ``estimator`` with ``params`` set cannot be truncated exactly, or ``None`` if it can."""
    library = nesting_library(estimator)
    if library is None:
        return f"{type(estimator).__name__} has no nested boosting rounds"
    effective = {**estimator.get_params(deep=False), **dict(params)}
    rounds = effective.get(ROUNDS_PARAM)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        return f"{ROUNDS_PARAM}={rounds!r} is not a positive integer"
    if library == "xgboost":
        if effective.get("booster") == "dart":
            return "the DART booster rescales earlier trees"
        refused = _XGBOOST_REFUSED
    elif library == "lightgbm":
        if effective.get("boosting_type", "gbdt") != "gbdt":
            return f"boosting_type={effective.get('boosting_type')!r} is not plain gbdt"
        refused = _LIGHTGBM_REFUSED
    else:
        refused = ("n_iter_no_change",)
    for key in refused:
        if effective.get(key) not in (None, False, [], ()):
            return f"{key}={effective[key]!r} makes the trees depend on the number of rounds"
    return None


def _nth(stages: Iterator[Any], n: int) -> Any:
    return next(itertools.islice(stages, n - 1, None))


class Truncated(ScoringView):
    """A fitted boosting ``model`` seen as if it had been trained for ``rounds`` rounds (only for
    scoring; see :class:`~hpt.trainers._streamed.ScoringView`)."""

    def __init__(self, model: Any, rounds: int) -> None:
        self.model = model
        self.rounds = rounds

    def _call(self, method: str, X: Any) -> Any:
        library = nesting_library(self.model)
        if library == "xgboost":
            return getattr(self.model, method)(X, iteration_range=(0, self.rounds))
        if library == "lightgbm":
            return getattr(self.model, method)(X, num_iteration=self.rounds)
        return _nth(getattr(self.model, f"staged_{method}")(X), self.rounds)
