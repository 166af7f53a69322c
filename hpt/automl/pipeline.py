"""Build the scikit-learn ``Pipeline`` of one AutoML iteration from its JSON parameters.

The same function runs on the worker (each fold) and on the driver (refit), so the refit model is
exactly the pipeline that was scored. Heavy libraries are imported only for the family used.
"""

from __future__ import annotations

from typing import Any

from hpt.automl.space import FAMILIES, SCALER_LABELS

# JSON keys that describe the pipeline's steps rather than the model's parameters.
STEP_KEYS = ("model", "scaler", "impute")


def describe(params: dict[str, Any]) -> str:
    """The live table's PIPELINE text, e.g. ``"StandardScaler XGBoost"``."""
    family = str(params.get("model", "?"))
    label = FAMILIES[family][0] if family in FAMILIES else family
    scaler = SCALER_LABELS.get(str(params.get("scaler", "none")), "")
    return f"{scaler} {label}".strip()


def _scaler(name: str, sparse: bool) -> Any:
    from sklearn import preprocessing as pp

    if sparse:  # centering would densify a sparse matrix; min-max is max-abs on it
        return {
            "standard": lambda: pp.StandardScaler(with_mean=False),
            "minmax": pp.MaxAbsScaler,
            "maxabs": pp.MaxAbsScaler,
            "robust": lambda: pp.RobustScaler(with_centering=False),
            "normalizer": pp.Normalizer,
        }[name]()
    return {
        "standard": pp.StandardScaler,
        "minmax": pp.MinMaxScaler,
        "maxabs": pp.MaxAbsScaler,
        "robust": pp.RobustScaler,
        "normalizer": pp.Normalizer,
    }[name]()


def _model(family: str, task: str, hp: dict[str, Any], seed: int, threads: int) -> Any:
    classify = task == "classification"
    if family == "xgboost":
        import xgboost

        cls = xgboost.XGBClassifier if classify else xgboost.XGBRegressor
        return cls(**hp, tree_method="hist", n_jobs=threads, random_state=seed, verbosity=0)
    if family == "lightgbm":
        import lightgbm

        cls = lightgbm.LGBMClassifier if classify else lightgbm.LGBMRegressor
        extra: dict[str, Any] = {"subsample_freq": 1} if hp.get("subsample", 1.0) < 1.0 else {}
        return cls(**hp, **extra, n_jobs=threads, random_state=seed, verbose=-1)
    from sklearn import ensemble, linear_model, neighbors, svm, tree

    if family == "random_forest":
        cls = ensemble.RandomForestClassifier if classify else ensemble.RandomForestRegressor
        return cls(**hp, n_jobs=threads, random_state=seed)
    if family == "extra_trees":
        cls = ensemble.ExtraTreesClassifier if classify else ensemble.ExtraTreesRegressor
        return cls(**hp, n_jobs=threads, random_state=seed)
    if family == "gradient_boosting":
        cls = (
            ensemble.HistGradientBoostingClassifier
            if classify
            else ensemble.HistGradientBoostingRegressor
        )
        return cls(**hp, early_stopping=False, random_state=seed)
    if family == "decision_tree":
        cls = tree.DecisionTreeClassifier if classify else tree.DecisionTreeRegressor
        return cls(**hp, random_state=seed)
    if family == "logistic_regression":
        return linear_model.LogisticRegression(**hp, max_iter=2000)
    if family == "linear_regression":
        return linear_model.ElasticNet(**hp, max_iter=5000, random_state=seed)
    if family == "knn":
        cls = neighbors.KNeighborsClassifier if classify else neighbors.KNeighborsRegressor
        return cls(**hp, n_jobs=threads)
    if family == "svm":
        if not classify:
            return svm.SVR(**hp)
        from sklearn.calibration import CalibratedClassifierCV

        # Probabilities by Platt scaling on 3 inner folds (scikit-learn's replacement for
        # SVC(probability=True)); log_loss and AUC need them.
        return CalibratedClassifierCV(svm.SVC(**hp, random_state=seed), cv=3, ensemble=False)
    if family == "sgd":
        if classify:
            return linear_model.SGDClassifier(**hp, max_iter=2000, tol=1e-4, random_state=seed)
        return linear_model.SGDRegressor(**hp, max_iter=2000, tol=1e-4, random_state=seed)
    raise ValueError(f"unknown model family {family!r}")


def build_pipeline(
    params: dict[str, Any],
    task: str,
    *,
    seed: int = 0,
    threads: int = 1,
    mixed: bool = False,
    sparse: bool = False,
) -> Any:
    """The pipeline of ``params``: [imputation and one-hot encoding (``impute`` set)] ->
    [scaler] -> model. ``mixed``: the data is a DataFrame whose non-numeric columns are
    one-hot encoded (missing values imputed with the most frequent category). ``sparse``: the
    data is a sparse matrix (scalers that center become scale-only ones)."""
    from sklearn.pipeline import Pipeline

    family = str(params["model"])
    hp = {k: v for k, v in params.items() if k not in STEP_KEYS}
    steps: list[tuple[str, Any]] = []
    impute = params.get("impute")
    if impute is not None:
        from sklearn.impute import SimpleImputer

        if mixed:
            import numpy as np
            from sklearn.compose import ColumnTransformer, make_column_selector
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import OneHotEncoder

            categorical = make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            )
            steps.append(
                (
                    "preprocess",
                    ColumnTransformer(
                        [
                            (
                                "numeric",
                                SimpleImputer(strategy=str(impute)),
                                make_column_selector(dtype_include=np.number),
                            ),
                            (
                                "categorical",
                                categorical,
                                make_column_selector(dtype_exclude=np.number),
                            ),
                        ]
                    ),
                )
            )
        else:
            steps.append(("impute", SimpleImputer(strategy=str(impute))))
    scaler = str(params.get("scaler", "none"))
    if scaler != "none":
        steps.append(("scale", _scaler(scaler, sparse)))
    if sparse and family in DENSE_ONLY:
        from sklearn.preprocessing import FunctionTransformer

        steps.append(("dense", FunctionTransformer(to_dense, accept_sparse=True)))
    steps.append(("model", _model(family, task, hp, seed, threads)))
    return Pipeline(steps)


#: Families whose estimator refuses sparse input (scikit-learn's histogram gradient boosting).
DENSE_ONLY = ("gradient_boosting",)


def to_dense(X: Any) -> Any:
    """A sparse matrix as a dense array (anything else unchanged), for :data:`DENSE_ONLY`."""
    return X.toarray() if hasattr(X, "toarray") else X
