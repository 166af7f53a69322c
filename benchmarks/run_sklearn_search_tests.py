"""Run scikit-learn's own search tests against hpt's drop-in (slow: minutes).

``sklearn/model_selection/tests/test_search.py`` of the installed scikit-learn, with
``GridSearchCV``/``RandomizedSearchCV`` rebound to :mod:`hpt.spark`'s searches on a ``local[2]``
SparkContext (``benchmarks/sklearn_shim/hpt_sklearn_shim.py``)::

    PYTHONPATH=$PWD python benchmarks/run_sklearn_search_tests.py [-k EXPR] [pytest args...]

Prints pytest's summary (every failure, skip and xfail with its reason) and exits with pytest's
code. docs/sklearn_api.md lists the tests that do not apply to the drop-in and why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHIM = Path(__file__).resolve().parent / "sklearn_shim"


def main(argv: list[str]) -> int:
    path = os.pathsep.join([str(REPO), str(SHIM), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path.rstrip(os.pathsep)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "hpt_sklearn_shim",
        "--pyargs",
        "sklearn.model_selection.tests.test_search",
        "-q",
        "-rfEsx",
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::DeprecationWarning",
        *argv,
    ]
    return subprocess.call(command, env=env, cwd=str(SHIM))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
