"""A drop-in replacement for spark-sklearn's searches, on hpt's Spark engine.

spark-sklearn (last release 2019) needs scikit-learn < 0.20 and no longer imports on Python 3.10+.
Change one import line and keep the rest of the script::

    from pyspark import SparkContext
    from hpt.spark import GridSearchCV          # was: from spark_sklearn import GridSearchCV

    sc = SparkContext.getOrCreate()
    clf_cv = GridSearchCV(sc=sc, param_grid=tuned_parameters, estimator=clf, scoring=metric, cv=5)
    model = clf_cv.fit(X_train, y_train)

The searches are scikit-learn estimators (``get_params``, ``clone``, ``predict``, ``score``, ...)
with scikit-learn's results: ``cv_results_``, ``best_params_``, ``best_score_``,
``best_estimator_``, ``best_index_``, ``scorer_``, ``n_splits_``, ``refit_time_``, and
spark-sklearn's ``grid_scores_``. Candidates, folds (``check_cv(cv, y, classifier=...)``), scores
and ranks are exactly scikit-learn's. Each candidate is one trial on
:class:`launchers.spark.SparkLauncher` -- the engine of ``compute=spark`` -- with the data broadcast
once; a lost executor is retried, a candidate's own error is reported like scikit-learn does.

``n_jobs`` caps how many candidates run at once (default: every task slot of ``sc``);
``pre_dispatch`` is accepted and ignored. The best estimator is refit on the driver.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV as _SklearnGridSearchCV
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.model_selection import RandomizedSearchCV as _SklearnRandomizedSearchCV
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils.validation import indexable

from hpt.callbacks import SweepCallback
from hpt.errors import HptError, TrialError
from hpt.trial import TrialStatus

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


class _SparkSearchCV(BaseSearchCV):  # type: ignore[misc]
    """What the Spark searches share: ``fit`` runs the candidates on hpt's Spark launcher."""

    sc: Any

    def _run_search(self, evaluate_candidates: Any) -> None:  # pragma: no cover - per subclass
        raise NotImplementedError

    def _candidates(self) -> list[dict[str, Any]]:
        collected: list[dict[str, Any]] = []

        def evaluate_candidates(candidates: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
            collected.extend(dict(c) for c in candidates)
            return {}

        self._run_search(evaluate_candidates)
        return collected

    def __sklearn_clone__(self) -> Any:
        # A SparkContext cannot be deep-copied: the clone shares it, everything else is cloned.
        params = self.get_params(deep=False)
        sc = params.pop("sc")
        return type(self)(sc=sc, **{k: clone(v, safe=False) for k, v in params.items()})

    def _capacity(self) -> int | None:
        n_jobs = self.n_jobs
        return int(n_jobs) if n_jobs is not None and n_jobs > 0 else None

    def fit(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> Any:
        """Evaluate every candidate with cross-validation on Spark, then refit the best one.

        ``groups`` goes to the CV splitter. Fit parameters (``sample_weight``, ...) are not
        supported yet and raise ``TypeError``.
        """
        from hpt._search import CandidateTrainer, run_candidates
        from hpt.trainers._cv import apply_thread_limit
        from launchers.spark import SparkLauncher

        self._validate_params()
        if fit_params:
            raise TypeError(
                f"{type(self).__name__}.fit: fit parameters ({', '.join(sorted(fit_params))}) are "
                "not supported on Spark; fit without them or use scikit-learn's search"
            )
        if not (self.scoring is None or isinstance(self.scoring, str) or callable(self.scoring)):
            raise NotImplementedError(
                f"{type(self).__name__}: multi-metric scoring ({self.scoring!r}) is not supported "
                "on Spark; pass one scorer name or callable"
            )
        if y is None:
            raise ValueError(f"{type(self).__name__}.fit needs y (supervised estimators only)")
        X, y = indexable(X, y)
        if isinstance(X, list | tuple):
            X = np.asarray(X)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        folds = list(cv.split(X, y, groups))
        self.n_splits_ = cv.get_n_splits(X, y, groups)
        if len(folds) != self.n_splits_:
            raise ValueError(
                "cv.split and cv.get_n_splits return inconsistent results. "
                f"Expected {self.n_splits_} splits, got {len(folds)}"
            )
        candidates = self._candidates()
        if not candidates:
            raise ValueError("No fits were performed. Were there no candidates?")
        scorer = check_scoring(self.estimator, scoring=self.scoring)
        if self.verbose > 0:
            print(
                f"Fitting {self.n_splits_} folds for each of {len(candidates)} candidates, "
                f"totalling {len(candidates) * self.n_splits_} fits"
            )
        task_cpus = int(self.sc.getConf().get("spark.task.cpus", "1") or 1)
        trainer = CandidateTrainer(
            # One Spark task has spark.task.cpus cores; a library that would use every core of
            # the executor (XGBoost with n_jobs unset) gets that many threads.
            apply_thread_limit(clone(self.estimator), task_cpus),
            X,
            np.asarray(y),
            folds,
            scorer,
            candidates,
            error_score=self.error_score,
            return_train_score=self.return_train_score,
        )
        launcher = SparkLauncher(capacity=self._capacity(), spark_context=self.sc)
        results = run_candidates(
            trainer,
            launcher,
            error_score_raise=isinstance(self.error_score, str),
            callbacks=[_CandidateProgress(candidates)] if self.verbose > 1 else [],
        )
        out = self._fit_outcomes(results, candidates)
        _warn_or_raise_about_fit_failures(out, self.error_score)
        results_table = self._format_results(candidates, self.n_splits_, out)

        self.multimetric_ = False
        self.best_index_ = self._select_best_index(self.refit, "score", results_table)
        if not callable(self.refit):
            self.best_score_ = results_table["mean_test_score"][self.best_index_]
        self.best_params_ = results_table["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(
                **clone(self.best_params_, safe=False)
            )
            started = time.time()
            self.best_estimator_.fit(X, y)
            self.refit_time_ = time.time() - started
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = scorer
        self.cv_results_ = results_table
        self.grid_scores_ = [
            _CVScoreTuple(
                params,
                float(results_table["mean_test_score"][i]),
                np.array([results_table[f"split{k}_test_score"][i] for k in range(self.n_splits_)]),
            )
            for i, params in enumerate(candidates)
        ]
        return self

    def _fit_outcomes(self, results: Any, candidates: Sequence[Mapping[str, Any]]) -> list[Any]:
        """One scikit-learn ``_fit_and_score`` result per (candidate, fold), candidate-major."""
        state = results.state
        trials = state.ordered()
        if results.aborted is not None:
            failed = next((t for t in trials if t.status is TrialStatus.FAILED), None)
            if failed is not None:
                raise TrialError(
                    f"fitting candidate {candidates[failed.number]} failed (error_score='raise'): "
                    f"{failed.error}\n\nTraceback on the executor:\n{failed.traceback or ''}",
                    failed.traceback or "",
                )
            raise HptError(results.aborted)
        out: list[dict[str, Any]] = []
        for trial in trials:
            complete = len(trial.folds) == self.n_splits_
            if trial.status not in (TrialStatus.COMPLETED, TrialStatus.FAILED) or not complete:
                raise HptError(
                    f"candidate {candidates[trial.number]} could not be evaluated: "
                    f"{trial.error or trial.status.value}"
                )
            errors = results.fit_errors.get(trial.trial_id, {})
            for k in range(self.n_splits_):
                fold = trial.folds[k]
                entry: dict[str, Any] = {
                    "fit_time": fold.fit_time,
                    "score_time": fold.score_time,
                    "test_scores": fold.test_score,
                    "n_test_samples": 0,
                    "fit_error": errors.get(k),
                }
                if self.return_train_score:
                    entry["train_scores"] = fold.train_score
                out.append(entry)
        return out


class _CandidateProgress(SweepCallback):
    """scikit-learn's ``verbose > 1`` lines: one per evaluated candidate."""

    def __init__(self, candidates: Sequence[Mapping[str, Any]]) -> None:
        self.candidates = candidates

    def on_event(self, record: dict[str, Any], state: Any) -> None:
        if record["event"] in ("completed", "failed"):
            trial = state.trials[record["trial_id"]]
            score = "nan" if trial.value is None else f"{trial.value:.5f}"
            print(f"[CV] END {self.candidates[trial.number]}; mean score={score}")


def _warn_or_raise_about_fit_failures(out: list[Any], error_score: Any) -> None:
    """scikit-learn's own check: a ``FitFailedWarning``, or ``ValueError`` if every fit failed."""
    from sklearn.model_selection._validation import _warn_or_raise_about_fit_failures as check

    check(out, error_score)


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

    def _run_search(self, evaluate_candidates: Any) -> None:
        evaluate_candidates(ParameterGrid(self.param_grid))


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

    def _run_search(self, evaluate_candidates: Any) -> None:
        evaluate_candidates(
            ParameterSampler(self.param_distributions, self.n_iter, random_state=self.random_state)
        )
