"""A sweep submitted to the SSH + container target gives a local run's results."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import hpt
from tests.remote.conftest import iris_config


def table(run_dir: Path) -> list[dict[str, str]]:
    """cv_results.csv without the timing columns (which differ from run to run)."""
    with open(run_dir / "cv_results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: v for k, v in row.items() if not k.endswith("_time")} for row in rows]


def test_remote_sweep_equals_local(prepared: dict[str, Any], tmp_path: Path) -> None:
    local = hpt.tune(iris_config(), run_dir=tmp_path / "local")
    remote = hpt.tune(iris_config(prepared), run_dir=tmp_path / "remote")
    assert table(tmp_path / "remote") == table(tmp_path / "local")
    assert remote.best_params_ == local.best_params_
    assert remote.best_score_ == local.best_score_
    assert remote.best_estimator_ is not None
