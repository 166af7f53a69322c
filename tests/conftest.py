"""Shared fixtures: small configs that run in seconds on 2 cores."""

from __future__ import annotations

import os
import signal
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_data_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated datasets go to a per-session cache, never to the user's home."""
    home = os.environ.get("HPT_TEST_DATA_DIR") or str(tmp_path_factory.getbasetemp() / "hpt-data")
    monkeypatch.setenv("HPT_DATA_DIR", home)


@pytest.fixture(autouse=True)
def _sigint_handler_restored(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that leaves Ctrl-C's handler changed (ignored, say) is named in a warning and the
    handler is put back: children inherit an ignored SIGINT, and the Ctrl-C tests that run later
    in the same worker would see their sweeps ignore it."""
    before = signal.getsignal(signal.SIGINT)
    yield
    after = signal.getsignal(signal.SIGINT)
    if after is not before and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, before)
        warnings.warn(f"{request.node.nodeid} left SIGINT's handler as {after!r}", stacklevel=1)


def xgb_wine_config(**overrides: Any) -> dict[str, Any]:
    """XGBoost on scikit-learn's wine data: a 4-configuration grid, 5 folds, ~1 s per trial."""
    cfg: dict[str, Any] = {
        "dataset": {"kind": "sklearn", "name": "wine"},
        "features": {"sets": None},
        "model": {"_target_": "xgboost.XGBClassifier", "random_state": 0, "n_jobs": 1},
        "search_space": {"n_estimators": [5, 10], "max_depth": [2, 3], "learning_rate": [0.3]},
        "metric": {"primary_metric": "neg_log_loss", "goal": "maximize"},
        "resources": {"max_concurrent_runs": 2},
        "refit": True,
    }
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


# Test files whose tests are independent enough to be spread over xdist workers one by one;
# every other file runs on one worker, so its module-scoped fixtures start once.
_SPLITTABLE = {
    "tests/test_cli.py",
    "tests/test_failures.py",
    "tests/test_policies_e2e.py",
    "tests/trainers/test_rounds.py",
    "tests/trainers/test_script.py",
    "tests/test_limits.py",
}


# Folders whose tests share session-scoped services (a SparkContext, sshd + an image, Chromium).
_SHARED_DIRS = ("spark", "remote", "report")
# Files that build hpt's wheel in the checkout (setuptools' build/ dir is not safe to share).
_SHARED_FILES = {"tests/test_packaging.py": "remote"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path)).resolve().relative_to(REPO).as_posix()
        shared = next((d for d in _SHARED_DIRS if path.startswith(f"tests/{d}/")), None)
        shared = shared or _SHARED_FILES.get(path)
        if shared is not None:
            item.add_marker(pytest.mark.xdist_group(shared))
        elif path not in _SPLITTABLE:
            item.add_marker(pytest.mark.xdist_group(path))
