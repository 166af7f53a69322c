"""An estimator that records which ``.npy`` files its process has memory-mapped (for tests)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class MappedFilesProbe(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Predicts the majority class; ``fit`` writes the process's mapped .npy files to a file."""

    def __init__(self, record_dir: str = "", depth: int = 0) -> None:
        self.record_dir = record_dir
        self.depth = depth

    def fit(self, X: Any, y: np.ndarray) -> MappedFilesProbe:
        maps = Path("/proc/self/maps").read_text().splitlines()
        files = sorted({line.split()[-1] for line in maps if line.endswith(".npy")})
        Path(self.record_dir, f"{os.getpid()}.txt").write_text("\n".join(files))
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(X.shape[0], self.majority_)
