"""pytest plugin: scikit-learn's ``GridSearchCV``/``RandomizedSearchCV`` rebound to hpt's drop-in.

Loaded with ``-p hpt_sklearn_shim`` before scikit-learn's test modules are imported, it starts one
``local[2]`` SparkContext and replaces the two names in ``sklearn.model_selection`` (and its
``_search`` module) by subclasses of :mod:`hpt.spark`'s searches with scikit-learn's signature
(``sc`` last and optional: the shared context). Everything else is hpt's drop-in as users get it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import sklearn.model_selection
import sklearn.model_selection._search

import hpt.spark

_LAUNCHER: Any = None


def _context() -> Any:
    global _LAUNCHER
    if _LAUNCHER is None:
        from launchers.spark import SparkLauncher

        _LAUNCHER = SparkLauncher(
            master=os.environ.get("HPT_SHIM_MASTER", "local[2]"),
            app_name="hpt-sklearn-search-tests",
            ui=False,
            conf={"spark.executorEnv.PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        )
    return _LAUNCHER.context()


class GridSearchCV(hpt.spark.GridSearchCV):
    __doc__ = sklearn.model_selection.GridSearchCV.__doc__

    def __init__(
        self,
        estimator: Any,
        param_grid: Any,
        *,
        scoring: Any = None,
        n_jobs: Any = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        error_score: Any = np.nan,
        return_train_score: bool = False,
        sc: Any = None,
    ) -> None:
        super().__init__(
            sc,
            estimator,
            param_grid,
            scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )

    def _spark_context(self) -> Any:
        return self.sc if self.sc is not None else _context()


class RandomizedSearchCV(hpt.spark.RandomizedSearchCV):
    __doc__ = sklearn.model_selection.RandomizedSearchCV.__doc__

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_iter: int = 10,
        scoring: Any = None,
        n_jobs: Any = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        sc: Any = None,
    ) -> None:
        super().__init__(
            sc,
            estimator,
            param_distributions,
            n_iter,
            scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            random_state=random_state,
            error_score=error_score,
            return_train_score=return_train_score,
        )

    def _spark_context(self) -> Any:
        return self.sc if self.sc is not None else _context()


for _module in (sklearn.model_selection, sklearn.model_selection._search):
    _module.GridSearchCV = GridSearchCV
    _module.RandomizedSearchCV = RandomizedSearchCV


def pytest_unconfigure(config: Any) -> None:
    if _LAUNCHER is not None:
        _LAUNCHER.close()
