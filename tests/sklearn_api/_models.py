"""Models of the scikit-learn API tests, built by ``model._target_`` (a user's own factory).

The tests also copy this file under another name into a directory only the driver has on its
``sys.path``: :class:`ColumnScaler` then is a user class the workers cannot import.
"""

from __future__ import annotations

from typing import Any

from sklearn.preprocessing import StandardScaler


class ColumnScaler(StandardScaler):
    """The user's own transformer (a StandardScaler under another name)."""


def frame_pipeline(C: float = 1.0) -> Any:
    """Scales two numeric columns and one-hot encodes ``color``, selected by name."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    columns = ColumnTransformer(
        [("num", ColumnScaler(), ["a", "b"]), ("cat", OneHotEncoder(), ["color"])]
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression(C=C, max_iter=500))])
