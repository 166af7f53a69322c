"""The conditional search space over pipelines, written define-by-run.

:func:`define_pipeline` asks for the model family first, then the preprocessing the family can use,
then the family's own hyperparameters, through an :class:`Ask` that records two things for each
answer: the JSON parameter the trial carries (``{"model": "xgboost", "scaler": "none",
"max_depth": 6, ...}``; what the journal stores and the pipeline builder reads) and the engine's
distribution under a scoped name (``xgboost.max_depth``), so families never share a dimension.
The same function serves the live engine (Optuna's ask) and the replay of the journal's history.

Scalers: per-feature monotone scalers do not change what a tree model can split on, so tree
families choose only between ``none`` and ``normalizer`` (row normalization changes the features);
the other families choose among all six.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from typing import Any

from hpt.errors import ConfigError

SCALERS = ("standard", "minmax", "maxabs", "robust", "normalizer", "none")
TREE_SCALERS = ("none", "normalizer")
SCALER_LABELS = {
    "standard": "StandardScaler",
    "minmax": "MinMaxScaler",
    "maxabs": "MaxAbsScaler",
    "robust": "RobustScaler",
    "normalizer": "Normalizer",
    "none": "",
}

#: name -> (label in the live table, uses trees, tasks)
FAMILIES: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    # In warm-start order: strong and cheap first, costly (SVM, scikit-learn's boosting) last.
    "lightgbm": ("LightGBM", True, ("classification", "regression")),
    "extra_trees": ("ExtraTrees", True, ("classification", "regression")),
    "xgboost": ("XGBoost", True, ("classification", "regression")),
    "random_forest": ("RandomForest", True, ("classification", "regression")),
    "logistic_regression": ("LogisticRegression", False, ("classification",)),
    "linear_regression": ("ElasticNet", False, ("regression",)),
    "knn": ("KNN", False, ("classification", "regression")),
    "sgd": ("SGD", False, ("classification", "regression")),
    "decision_tree": ("DecisionTree", True, ("classification", "regression")),
    "gradient_boosting": ("GradientBoosting", True, ("classification", "regression")),
    "svm": ("SVM", False, ("classification", "regression")),
}
OPTIONAL_LIBRARIES = {"lightgbm": "lightgbm", "xgboost": "xgboost"}


def installed(family: str) -> bool:
    library = OPTIONAL_LIBRARIES.get(family)
    return library is None or importlib.util.find_spec(library) is not None


def resolve_models(task: str, allowed: list[str] | None, blocked: list[str] | None) -> list[str]:
    """The families a sweep searches: ``allowed`` (default: every installed one for ``task``)
    minus ``blocked``. Unknown names, families of the other task, missing libraries and an empty
    result are :class:`ConfigError` s."""
    import difflib

    for key, names in (("automl.allowed_models", allowed), ("automl.blocked_models", blocked)):
        for name in names or []:
            if name not in FAMILIES:
                close = difflib.get_close_matches(str(name), list(FAMILIES), 1)
                hint = f"did you mean {close[0]}? " if close else ""
                raise ConfigError(
                    key, f"unknown model {name!r}; {hint}use any of {', '.join(FAMILIES)}"
                )
            if task not in FAMILIES[name][2]:
                raise ConfigError(key, f"{name} is not a {task} model; remove it")
    if allowed:
        for name in allowed:
            if not installed(name):
                raise ConfigError(
                    "automl.allowed_models",
                    f"{name} needs the {OPTIONAL_LIBRARIES[name]} package; pip install "
                    f"{OPTIONAL_LIBRARIES[name]} or remove it",
                )
        models = list(dict.fromkeys(str(n) for n in allowed))
    else:
        models = [n for n, (_, _, tasks) in FAMILIES.items() if task in tasks and installed(n)]
    models = [m for m in models if m not in set(blocked or [])]
    if not models:
        raise ConfigError(
            "automl.blocked_models", "every model is blocked; allow at least one model"
        )
    return models


class Ask:
    """Answers one trial's questions through ``source(name, scoped_name, distribution)``; keeps
    the JSON parameters (:attr:`params`) and the distributions asked (:attr:`distributions`)."""

    def __init__(self, source: Callable[[str, str, Any], Any]) -> None:
        self.source = source
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, Any] = {}
        self.values: dict[str, Any] = {}  # by scoped name, as the engine sees them

    def _ask(self, name: str, scope: str, distribution: Any) -> Any:
        scoped = f"{scope}.{name}" if scope else name
        value = self.source(name, scoped, distribution)
        self.distributions[scoped] = distribution
        self.values[scoped] = value
        self.params[name] = value
        return value

    def categorical(self, name: str, choices: tuple[Any, ...] | list[Any], scope: str = "") -> Any:
        from optuna.distributions import CategoricalDistribution

        return self._ask(name, scope, CategoricalDistribution(list(choices)))

    def int(self, name: str, low: int, high: int, *, log: bool = False, scope: str = "") -> int:
        from optuna.distributions import IntDistribution

        return int(self._ask(name, scope, IntDistribution(low, high, log=log)))

    def float(
        self, name: str, low: float, high: float, *, log: bool = False, scope: str = ""
    ) -> float:
        from optuna.distributions import FloatDistribution

        return float(self._ask(name, scope, FloatDistribution(low, high, log=log)))


def _boosting(ask: Ask, m: str) -> None:
    ask.int("n_estimators", 8, 1000, log=True, scope=m)
    ask.float("learning_rate", 0.01, 0.5, log=True, scope=m)
    if m == "lightgbm":
        ask.int("num_leaves", 4, 256, log=True, scope=m)
        ask.int("min_child_samples", 2, 100, log=True, scope=m)
    else:
        ask.int("max_depth", 2, 12, scope=m)
        ask.float("min_child_weight", 0.5, 20.0, log=True, scope=m)
    ask.float("subsample", 0.5, 1.0, scope=m)
    ask.float("colsample_bytree", 0.3, 1.0, scope=m)
    ask.float("reg_lambda", 1e-3, 10.0, log=True, scope=m)


def _forest(ask: Ask, m: str, task: str) -> None:
    ask.int("n_estimators", 10, 500, log=True, scope=m)
    ask.float("max_features", 0.02, 1.0, log=True, scope=m)
    ask.int("min_samples_leaf", 1, 64, log=True, scope=m)
    ask.categorical("criterion", _criteria(task), scope=m)


def _criteria(task: str) -> tuple[str, ...]:
    return ("gini", "entropy") if task == "classification" else ("squared_error", "friedman_mse")


def _family_space(ask: Ask, m: str, task: str) -> None:
    if m in ("lightgbm", "xgboost"):
        _boosting(ask, m)
    elif m in ("random_forest", "extra_trees"):
        _forest(ask, m, task)
    elif m == "gradient_boosting":  # scikit-learn's histogram gradient boosting
        ask.int("max_iter", 10, 500, log=True, scope=m)
        ask.float("learning_rate", 0.01, 0.5, log=True, scope=m)
        ask.int("max_leaf_nodes", 4, 128, log=True, scope=m)
        ask.int("min_samples_leaf", 2, 100, log=True, scope=m)
        ask.float("l2_regularization", 1e-4, 10.0, log=True, scope=m)
    elif m == "decision_tree":
        ask.int("max_depth", 2, 30, scope=m)
        ask.int("min_samples_leaf", 1, 50, log=True, scope=m)
        ask.categorical("criterion", _criteria(task), scope=m)
    elif m == "logistic_regression":
        ask.float("C", 1e-3, 1e3, log=True, scope=m)
    elif m == "linear_regression":
        ask.float("alpha", 1e-5, 10.0, log=True, scope=m)
        ask.float("l1_ratio", 0.0, 1.0, scope=m)
    elif m == "knn":
        ask.int("n_neighbors", 1, 100, log=True, scope=m)
        ask.categorical("weights", ("uniform", "distance"), scope=m)
        ask.categorical("p", (1, 2), scope=m)
    elif m == "svm":
        ask.float("C", 1e-2, 1e3, log=True, scope=m)
        ask.float("gamma", 1e-4, 1.0, log=True, scope=m)
    elif m == "sgd":
        losses = (
            ("log_loss", "modified_huber")
            if task == "classification"
            else ("squared_error", "huber", "epsilon_insensitive")
        )
        ask.categorical("loss", losses, scope=m)
        ask.float("alpha", 1e-6, 1e-1, log=True, scope=m)
        ask.categorical("penalty", ("l2", "l1", "elasticnet"), scope=m)
    else:  # pragma: no cover - resolve_models only lets FAMILIES through
        raise ValueError(f"unknown model family {m!r}")


@functools.cache
def lowest(family: str, name: str) -> int | float:
    """The low bound of ``family``'s numeric hyperparameter ``name`` in its space."""
    ask = Ask(lambda _name, _scoped, d: d.low if hasattr(d, "low") else d.choices[0])
    _family_space(ask, family, "classification")  # the bounds are the same for both tasks
    return ask.distributions[f"{family}.{name}"].low  # type: ignore[no-any-return]


def define_pipeline(ask: Ask, task: str, models: list[str], preprocess: bool) -> dict[str, Any]:
    """Ask a whole pipeline (see the module docstring); returns its JSON parameters."""
    model = ask.categorical("model", models)
    trees = FAMILIES[model][1]
    ask.categorical("scaler", TREE_SCALERS if trees else SCALERS, scope="trees" if trees else "")
    if preprocess:
        ask.categorical("impute", ("mean", "median"))
    _family_space(ask, model, task)
    return ask.params


# Warm start: one cheap, sensible configuration per family (small ensembles: under a time budget
# the first iterations must finish), tried first in FAMILIES order so every family has a score
# before the adaptive search models them.
DEFAULTS: dict[str, dict[str, Any]] = {
    "lightgbm": {
        "scaler": "none",
        "n_estimators": 40,
        "learning_rate": 0.15,
        "num_leaves": 15,
        "min_child_samples": 20,
        "subsample": 1.0,
        "colsample_bytree": 0.8,
        "reg_lambda": 0.01,
    },
    "xgboost": {
        "scaler": "none",
        "n_estimators": 40,
        "learning_rate": 0.2,
        "max_depth": 4,
        "min_child_weight": 1.0,
        "subsample": 1.0,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
    },
    "logistic_regression": {"scaler": "standard", "C": 1.0},
    "linear_regression": {"scaler": "standard", "alpha": 1e-3, "l1_ratio": 0.5},
    "svm": {"scaler": "standard", "C": 1.0, "gamma": 0.02},
    "knn": {"scaler": "standard", "n_neighbors": 10, "weights": "distance", "p": 2},
    "random_forest": {
        "scaler": "none",
        "n_estimators": 40,
        "max_features": 0.3,
        "min_samples_leaf": 1,
    },
    "extra_trees": {
        "scaler": "none",
        "n_estimators": 40,
        "max_features": 0.5,
        "min_samples_leaf": 1,
    },
    "gradient_boosting": {
        "scaler": "none",
        "max_iter": 40,
        "learning_rate": 0.15,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 20,
        "l2_regularization": 1e-4,
    },
    "sgd": {"scaler": "standard", "alpha": 1e-4, "penalty": "l2"},
    "decision_tree": {"scaler": "none", "max_depth": 10, "min_samples_leaf": 5},
}


# Forests' class probabilities from leaves of one row are 0/1 votes; larger leaves give smoother,
# better-ranked probabilities (weighted AUC, log loss) and cost less: on the 12-class sets of
# benchmarks/bench_automl.py, min_samples_leaf 10 scored 0.01-0.03 AUC above 1, while on the
# regression set leaves of one row were better, so the regression defaults above stay.
CLASSIFICATION_FOREST_DEFAULTS: dict[str, dict[str, Any]] = {
    "random_forest": {"max_features": 0.25, "min_samples_leaf": 10},
    "extra_trees": {"max_features": 0.3, "min_samples_leaf": 10},
}


#: From this many columns on, the classification extra trees start at the sqrt feature rule.
WIDE_DATA_FEATURES = 200


def sqrt_feature_fraction(n_features: int) -> float:
    """scikit-learn's ``max_features="sqrt"`` as a fraction of ``n_features``, within the
    forests' space (``lowest`` .. 1)."""
    fraction = round(n_features**0.5 / max(n_features, 1), 4)
    low = float(lowest("extra_trees", "max_features"))
    return float(min(1.0, max(low, fraction)))


def default_pipeline(
    family: str,
    task: str,
    preprocess: bool,
    n_features: int | None = None,
    *,
    sparse: bool = False,
) -> dict[str, Any]:
    """The warm-start JSON parameters of ``family``; ``n_features`` (the data's column count,
    when known) sets the classification extra trees' feature fraction on wide data, and
    ``sparse`` (the data is a sparse matrix) the linear and distance families' scaler."""
    params: dict[str, Any] = {"model": family, **DEFAULTS[family]}
    if sparse and params.get("scaler") == "standard":
        # Without centering (it would densify), the standard scaler divides each one-hot column
        # by its standard deviation, so rare categories get huge values: on TalkingData's
        # sparse columns (benchmarks/bench_automl.py, two splits) the defaults scored 0.019-0.025
        # 5-fold AUC lower for logistic regression and SGD, 0.008-0.009 for the SVM and
        # 0.002-0.003 for kNN than with max-abs scaling, which keeps the 0/1 columns as they are.
        params["scaler"] = "maxabs"
    if family in ("random_forest", "extra_trees", "decision_tree"):
        params["criterion"] = _criteria(task)[0]
    if family in CLASSIFICATION_FOREST_DEFAULTS and task == "classification":
        params.update(CLASSIFICATION_FOREST_DEFAULTS[family])
        # On wide data the extra trees start at scikit-learn's sqrt rule: on TalkingData's
        # 1515 sparse columns (2.6 %) it scored the best 5-fold CV of the warm start (0.557 vs
        # 0.547-0.555) at a third less time. On narrow data the rule reads too few columns:
        # on mc12's 40 dense ones (16 %) it scored 0.017 below 0.3, and local moves outwards
        # from it did not reach the 0.9 fraction that scored best there within 60 s.
        if family == "extra_trees" and n_features is not None and n_features >= WIDE_DATA_FEATURES:
            params["max_features"] = sqrt_feature_fraction(n_features)
    if family == "sgd":
        params["loss"] = "log_loss" if task == "classification" else "squared_error"
    if preprocess:
        params["impute"] = "median"
    order = ["model", "scaler", "impute"]
    return {k: params[k] for k in order if k in params} | {
        k: v for k, v in params.items() if k not in order
    }
