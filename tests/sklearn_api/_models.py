"""Models of the scikit-learn API tests, built by ``model._target_`` (a user's own factory)."""

from __future__ import annotations

from typing import Any


def frame_pipeline(C: float = 1.0) -> Any:
    """Scales two numeric columns and one-hot encodes ``color``, selected by name."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer(
        [("num", StandardScaler(), ["a", "b"]), ("cat", OneHotEncoder(), ["color"])]
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression(C=C, max_iter=500))])
