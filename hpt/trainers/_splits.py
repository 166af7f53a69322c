"""``cv.kind``: which scikit-learn splitter makes the folds of the ``cv`` trainer kind."""

from __future__ import annotations

from typing import Any

import numpy as np

from hpt.errors import ConfigError

#: ``cv.kind`` -> what it is (for messages). ``auto`` is scikit-learn's ``check_cv`` default.
CV_KINDS: dict[str, str] = {
    "auto": "StratifiedKFold for classifiers, KFold otherwise",
    "kfold": "KFold",
    "stratified": "StratifiedKFold",
    "group": "GroupKFold (by dataset.groups)",
    "stratified_group": "StratifiedGroupKFold (by dataset.groups)",
    "time_series": "TimeSeriesSplit (rows in time order)",
    "predefined": "PredefinedSplit (dataset.groups is each row's test fold, -1 = always train)",
}
_NEED_GROUPS = ("group", "stratified_group", "predefined")
_SHUFFLES = ("auto", "kfold", "stratified", "group", "stratified_group")


def check_cv_config(cv: Any, dataset: Any) -> None:
    """``cv.kind`` is known and has the ``dataset.groups`` column it needs."""
    kind = str(cv.kind)
    if kind not in CV_KINDS:
        raise ConfigError("cv.kind", f"unknown kind {kind!r}; use one of {', '.join(CV_KINDS)}")
    if kind in _NEED_GROUPS and not dataset.get("groups"):
        raise ConfigError(
            "dataset.groups",
            f"cv.kind={kind} needs a column of groups; set dataset.groups=COLUMN (file datasets)",
        )
    if kind not in _NEED_GROUPS and dataset.get("groups"):
        raise ConfigError(
            "cv.kind",
            f"dataset.groups={dataset.groups} is set but cv.kind={kind} ignores groups; use "
            "cv.kind=group, stratified_group or predefined, or unset dataset.groups",
        )
    if bool(cv.shuffle) and kind not in _SHUFFLES:
        raise ConfigError("cv.shuffle", f"cv.kind={kind} keeps the row order; set cv.shuffle=false")


def make_splitter(cv: Any, classifier: bool, groups: np.ndarray | None) -> Any:
    """The scikit-learn splitter of ``cv`` (``cv.n_splits``, ``cv.shuffle``, ``cv.seed``)."""
    from sklearn import model_selection as ms

    kind = str(cv.kind)
    n = int(cv.n_splits)
    shuffle = {"shuffle": True, "random_state": int(cv.seed)} if cv.shuffle else {}
    if kind == "auto":
        if not shuffle:
            return n  # check_cv(n): exactly what GridSearchCV(cv=n) does
        kind = "stratified" if classifier else "kfold"
    if kind == "kfold":
        return ms.KFold(n, **shuffle)
    if kind == "stratified":
        return ms.StratifiedKFold(n, **shuffle)
    if kind == "group":
        return ms.GroupKFold(n, **shuffle)
    if kind == "stratified_group":
        return ms.StratifiedGroupKFold(n, **shuffle)
    if kind == "time_series":
        return ms.TimeSeriesSplit(n)
    assert groups is not None
    return ms.PredefinedSplit(groups)


def make_folds(
    cv: Any, estimator: Any, X: Any, y: np.ndarray, groups: np.ndarray | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) row indices of every fold, as the splitter makes them."""
    from sklearn.base import is_classifier
    from sklearn.model_selection import check_cv

    classifier = is_classifier(estimator)
    splitter = check_cv(make_splitter(cv, classifier, groups), y, classifier=classifier)
    split_groups = groups if str(cv.kind) in ("group", "stratified_group") else None
    try:
        return list(splitter.split(X, y, split_groups))
    except ValueError as err:  # e.g. fewer groups than folds: the user's data and config
        raise ConfigError("cv", f"{type(splitter).__name__} cannot split the data: {err}") from None
