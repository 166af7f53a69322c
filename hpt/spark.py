"""A drop-in replacement for spark-sklearn's searches, on hpt's Spark engine.

spark-sklearn (last release 2019) needs scikit-learn < 0.20 and no longer imports on Python 3.10+.
Change one import line and keep the rest of the script::

    from pyspark import SparkContext
    from hpt.spark import GridSearchCV          # was: from spark_sklearn import GridSearchCV

    sc = SparkContext.getOrCreate()
    clf_cv = GridSearchCV(sc=sc, param_grid=tuned_parameters, estimator=clf, scoring=metric, cv=5)
    model = clf_cv.fit(X_train, y_train)

The searches are scikit-learn estimators (``get_params``, ``clone``, ``predict``, ``score``, ...)
whose ``fit`` is scikit-learn's own (:class:`hpt._sklearn_search.EngineSearchCV`): every
``scoring`` form (multi-metric included) with ``refit`` by name or callable, fit parameters and
routed metadata (``fit(X, y, groups=g, sample_weight=w)``), X in the type given (DataFrame, list,
sparse), ``y=None`` for unsupervised models, scikit-learn's warnings and ``verbose`` lines. The
results are scikit-learn's -- ``cv_results_``, ``best_params_``, ``best_score_``,
``best_estimator_``, ``best_index_``, ``multimetric_``, ``scorer_``, ``n_splits_``,
``refit_time_`` -- plus spark-sklearn's ``grid_scores_``. Each candidate is one trial on
:class:`launchers.spark.SparkLauncher` (the engine of ``compute=spark``) with the data, fit
parameters and the user's own code (by value) broadcast once; a lost executor is retried.
See docs/sklearn_api.md.

``n_jobs`` caps how many candidates run at once (default: every task slot of ``sc``);
``pre_dispatch`` is accepted and ignored. The best estimator is refit on the driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV as _SklearnGridSearchCV
from sklearn.model_selection import RandomizedSearchCV as _SklearnRandomizedSearchCV

from hpt._sklearn_search import EngineSearchCV

__all__ = ["GridSearchCV", "RandomizedSearchCV"]


class _CVScoreTuple(NamedTuple):
    """One entry of spark-sklearn's (and scikit-learn < 0.20's) ``grid_scores_``."""

    parameters: dict[str, Any]
    mean_validation_score: float
    cv_validation_scores: np.ndarray

    def __repr__(self) -> str:
        return (
            f"mean: {self.mean_validation_score:.5f}, "
            f"std: {np.std(self.cv_validation_scores):.5f}, params: {self.parameters}"
        )


class _SparkSearchCV(EngineSearchCV):
    """What the Spark searches share: the fits run on hpt's Spark launcher, on ``sc``."""

    sc: Any

    def __sklearn_clone__(self) -> Any:
        # A SparkContext cannot be deep-copied: the clone shares it, everything else is cloned.
        params = self.get_params(deep=False)
        sc = params.pop("sc")
        return type(self)(sc=sc, **{k: clone(v, safe=False) for k, v in params.items()})

    def _spark_context(self) -> Any:
        return self.sc

    def _launcher(self) -> Any:
        from launchers.spark import SparkLauncher

        n_jobs = self.n_jobs
        capacity = int(n_jobs) if n_jobs is not None and n_jobs > 0 else None
        return SparkLauncher(capacity=capacity, spark_context=self._spark_context())

    def _prepare_estimator(self, estimator: Any) -> Any:
        from hpt.trainers._cv import apply_thread_limit

        # One Spark task has spark.task.cpus cores; a library that would use every core of the
        # executor (XGBoost with n_jobs unset) gets that many threads.
        conf = self._spark_context().getConf()
        return apply_thread_limit(estimator, int(conf.get("spark.task.cpus", "1") or 1))

    def __getattr__(self, name: str) -> Any:
        # spark-sklearn's grid_scores_, made from cv_results_ on demand (single-metric scoring);
        # computed rather than stored, so the fitted attributes are exactly scikit-learn's.
        results = self.__dict__.get("cv_results_")
        if name != "grid_scores_" or results is None or self.__dict__.get("multimetric_"):
            # Look it up again to raise the original error (e.g. available_if's, with its cause).
            return object.__getattribute__(self, name)
        return [
            _CVScoreTuple(
                params,
                float(results["mean_test_score"][i]),
                np.array([results[f"split{k}_test_score"][i] for k in range(self.n_splits_)]),
            )
            for i, params in enumerate(results["params"])
        ]


class GridSearchCV(_SparkSearchCV):
    """Exhaustive search over ``param_grid`` (a dict, or a list of dicts for several grids) on
    Spark: scikit-learn's ``GridSearchCV`` with spark-sklearn's leading ``sc`` argument, e.g.
    ``GridSearchCV(sc, SVC(), {"C": [1, 10]}, cv=3).fit(X, y).best_params_``. As in
    spark-sklearn, ``scoring`` may also be passed by position; the rest is keyword-only."""

    _parameter_constraints: dict[str, Any] = {
        **_SklearnGridSearchCV._parameter_constraints,
        "sc": "no_validation",
    }

    def __init__(
        self,
        sc: Any,
        estimator: Any,
        param_grid: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        scoring: Any = None,
        *,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        error_score: Any = np.nan,
        return_train_score: bool = False,
    ) -> None:
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.sc = sc
        self.param_grid = param_grid

    def _run_search(self, evaluate_candidates: Any, *, callback_ctx: Any = None) -> None:
        _SklearnGridSearchCV._run_search(self, evaluate_candidates, callback_ctx=callback_ctx)


class RandomizedSearchCV(_SparkSearchCV):
    """``n_iter`` candidates sampled from ``param_distributions`` (lists or scipy.stats
    distributions, as in scikit-learn, seeded by ``random_state``) evaluated on Spark.
    ``n_iter`` and ``scoring`` may be passed by position, as in spark-sklearn."""

    _parameter_constraints: dict[str, Any] = {
        **_SklearnRandomizedSearchCV._parameter_constraints,
        "sc": "no_validation",
    }

    def __init__(
        self,
        sc: Any,
        estimator: Any,
        param_distributions: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        n_iter: int = 10,
        scoring: Any = None,
        *,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
    ) -> None:
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.sc = sc
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.random_state = random_state

    def _run_search(self, evaluate_candidates: Any, *, callback_ctx: Any = None) -> None:
        _SklearnRandomizedSearchCV._run_search(self, evaluate_candidates, callback_ctx=callback_ctx)
