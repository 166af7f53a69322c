"""scikit-learn's ``BaseSearchCV.fit`` with the fits run by hpt's sweep loop on a launcher.

:class:`EngineSearchCV` follows scikit-learn's own ``fit`` step for step -- scorers and
``refit`` checks, ``indexable``, ``_check_method_params``, metadata routing (or the legacy
``sample_weight``/``groups`` handling), ``check_cv``, the results table, the fit-failure warnings,
best index/score/params, the refit on the driver, the callback hooks of the search itself --
and replaces only the joblib ``Parallel`` loop: each ``evaluate_candidates`` call becomes one
sweep of :class:`hpt._search.SearchTrainer` trials on :meth:`EngineSearchCV._launcher`. So
``cv_results_``, ``best_index_``, ``best_score_``, ``multimetric_``, ``scorer_`` and
``refit_time_`` are scikit-learn's, for every ``scoring`` form it accepts, ``y=None`` included.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from inspect import signature
from typing import Any

import numpy as np
from sklearn.base import _fit_context, clone, is_classifier
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import (
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils.validation import _check_method_params, indexable

from hpt.errors import HptError
from hpt.launcher import Launcher
from hpt.trial import TrialStatus


class EngineSearchCV(BaseSearchCV):  # type: ignore[misc]
    """A scikit-learn search whose fits run on a hpt launcher (see the module docstring)."""

    def _launcher(self) -> Launcher:  # pragma: no cover - per engine
        raise NotImplementedError

    def _prepare_estimator(self, estimator: Any) -> Any:
        """The estimator the workers fit (e.g. with a thread limit); the refit uses the user's."""
        return estimator

    def _evaluate(
        self,
        base_estimator: Any,
        X: Any,
        y: Any,
        candidates: Sequence[Mapping[str, Any]],
        splits: Sequence[tuple[np.ndarray, np.ndarray]],
        fit_and_score: Mapping[str, Any],
        primary: str | None,
    ) -> list[dict[str, Any]]:
        """One ``_fit_and_score`` result per (candidate, split), candidate-major."""
        from hpt._search import FoldRelay, SearchTrainer, run_candidates

        if not candidates or not splits:
            return []
        trainer = SearchTrainer(
            self._prepare_estimator(clone(base_estimator)),
            X,
            y,
            splits,
            candidates,
            fit_and_score,
            primary=primary,
        )
        relay = FoldRelay()
        results = run_candidates(
            trainer,
            self._launcher(),
            error_score_raise=self.error_score == "raise",
            callbacks=[relay],
        )
        if relay.exception is not None:
            raise relay.exception
        if results.aborted is not None:
            raise HptError(results.aborted)
        out: list[dict[str, Any]] = []
        for trial in results.state.ordered():
            complete = len(trial.folds) == len(splits)
            if trial.status not in (TrialStatus.COMPLETED, TrialStatus.FAILED) or not complete:
                raise HptError(
                    f"candidate {dict(candidates[trial.number])} could not be evaluated: "
                    f"{trial.error or trial.status.value}"
                )
            for k in range(len(splits)):
                fold = trial.folds[k]
                entry: dict[str, Any] = {
                    "fit_time": fold.fit_time,
                    "score_time": fold.score_time,
                    "test_scores": fold.test_score
                    if fold.test_scores is None
                    else fold.test_scores,
                    "n_test_samples": fold.n_test_samples,
                    "fit_error": fold.error,
                }
                if self.return_train_score:
                    entry["train_scores"] = (
                        fold.train_score if fold.train_scores is None else fold.train_scores
                    )
                out.append(entry)
        return out

    def _replay_evaluation_hooks(
        self,
        callback_ctx: Any,
        base_estimator: Any,
        X: Any,
        y: Any,
        out: Sequence[Any],
        splits: Sequence[tuple[np.ndarray, np.ndarray]],
        fit_params: Mapping[str, Any],
    ) -> None:
        """The search's own callback hooks of each (candidate, split) evaluation, on the driver.

        The fits ran on workers, where the user's callback objects are copies; the search's
        hooks (begin/end of each evaluation, with the fold's rows and sample_weight) are called
        here once the results are in, in scikit-learn's order. Hooks of callbacks propagated
        into the fitted estimators stay on the workers.
        """
        from sklearn.utils.metaestimators import _safe_split

        for task_id in range(len(out)):
            train = splits[task_id % len(splits)][0]
            ctx = callback_ctx.subcontext(task_name="candidate-split-evaluation", task_id=task_id)
            X_train, y_train = _safe_split(base_estimator, X, y, train)
            fold_params = _check_method_params(X, params=fit_params, indices=train)
            weight = fold_params.get("sample_weight")
            metadata = None if weight is None else {"sample_weight": weight}
            ctx.call_on_fit_task_begin(estimator=self, X=X_train, y=y_train, metadata=metadata)
            ctx.call_on_fit_task_end(estimator=self, X=X_train, y=y_train, metadata=metadata)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: Any, y: Any = None, **params: Any) -> Any:
        """Run ``fit`` with every candidate, as scikit-learn's searches do, on the launcher.

        ``params`` are fit parameters and metadata (``groups`` for the splitter,
        ``sample_weight``, anything routed with ``enable_metadata_routing``), sliced per fold
        by scikit-learn on the workers, where they travel once with the data.
        """
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed_params = self._get_routed_params_for_fit(params)
        metadata = {"sample_weight": params["sample_weight"]} if "sample_weight" in params else None
        if metadata is not None and metadata["sample_weight"] is None:
            metadata = None
        root_ctx = self._init_callback_context(
            max_subtasks=1 + (self.refit is not False)
        ).call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)

        self._checked_cv_orig = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        self._check_input_parameters(X=X, y=y, split_params=routed_params.splitter.split)
        self.n_splits_ = self._checked_cv_orig.get_n_splits(X, y, **routed_params.splitter.split)
        base_estimator = clone(self.estimator)
        fit_and_score = {
            "scorer": scorers,
            "fit_params": routed_params.estimator.fit,
            "score_params": routed_params.scorer.score,
            "return_train_score": self.return_train_score,
            "return_n_test_samples": True,
            "return_times": True,
            "return_parameters": False,
            "error_score": self.error_score,
            "verbose": self.verbose,
        }
        primary = self.refit if isinstance(self.refit, str) else None
        all_candidates: list[dict[str, Any]] = []
        all_out: list[dict[str, Any]] = []
        all_more: dict[str, list[Any]] = defaultdict(list)
        results: dict[str, Any] = {}

        def evaluate_candidates(
            candidate_params: Any,
            cv: Any = None,
            more_results: Any = None,
            callback_ctx: Any = None,
        ) -> dict[str, Any]:
            nonlocal results
            cv = cv or self._checked_cv_orig
            candidates = [dict(c) for c in candidate_params]
            n_splits = self.n_splits_
            splits = list(cv.split(X, y, **routed_params.splitter.split))
            if len(splits) != n_splits:
                raise ValueError(
                    "cv.split and cv.get_n_splits return inconsistent results. "
                    f"Expected {n_splits} splits, got {len(splits)}"
                )
            if self.verbose > 0:
                print(
                    f"Fitting {n_splits} folds for each of {len(candidates)} candidates,"
                    f" totalling {len(candidates) * n_splits} fits"
                )
            out = self._evaluate(base_estimator, X, y, candidates, splits, fit_and_score, primary)
            if callback_ctx is not None:
                self._replay_evaluation_hooks(
                    callback_ctx, base_estimator, X, y, out, splits, routed_params.estimator.fit
                )
            if len(out) < 1:
                raise ValueError(
                    "No fits were performed. Was the CV iterator empty? Were there no candidates?"
                )
            _warn_or_raise_about_fit_failures(out, self.error_score)
            if callable(self.scoring):
                _insert_error_scores(out, self.error_score)
            all_candidates.extend(candidates)
            all_out.extend(out)
            if more_results is not None:
                for key, value in more_results.items():
                    all_more[key].extend(value)
            results = self._format_results(all_candidates, n_splits, all_out, all_more)
            return results

        if "callback_ctx" in signature(self._run_search).parameters:
            self._run_search(evaluate_candidates, callback_ctx=root_ctx)
        else:  # a custom search written before scikit-learn's callbacks
            self._run_search(evaluate_candidates)
        self.multimetric_ = isinstance(all_out[0]["test_scores"], dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(all_out[0]["test_scores"])
            refit_metric = self.refit

        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]

        if self.refit:
            self.best_estimator_ = clone(base_estimator).set_params(
                **clone(self.best_params_, safe=False)
            )
            refit_ctx = root_ctx.subcontext(task_name="refit-with-best-params")
            with refit_ctx.propagate_callback_context(self.best_estimator_):
                refit_ctx.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
                started = time.time()
                if y is not None:
                    self.best_estimator_.fit(X, y, **routed_params.estimator.fit)
                else:
                    self.best_estimator_.fit(X, **routed_params.estimator.fit)
                self.refit_time_ = time.time() - started
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
            refit_ctx.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)

        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        self.cv_results_ = results
        root_ctx.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)
        return self
