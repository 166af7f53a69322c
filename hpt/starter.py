"""``hpt init``: a starter config dir for a project of your own."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hpt.errors import ConfigError

FILES: dict[str, str] = {
    "experiment/mine.yaml": """\
# @package _global_
# Your experiment: pick an option of each group (yours in conf/, or hpt's built-in ones) and
# override any key. Run it with:  hpt experiment=mine
# Check it without running anything:  hpt validate experiment=mine
defaults:
  - override /dataset: iris            # a bundled dataset; or file (CSV/Parquet), talkingdata_sample
  - override /model: my_model          # conf/model/my_model.yaml below
  - override /search_space: my_space   # conf/search_space/my_space.yaml below
  - override /sampler: random          # grid, random
  - override /metric: accuracy
  - override /compute: local           # local, spark
  - override /features: none

name: mine
resources:
  max_total_runs: 12                   # random search needs a budget
  max_concurrent_runs: 2
cv:
  n_splits: 3
""",
    "model/my_model.yaml": """\
# Any scikit-learn-API estimator, by import path; the keys below are its constructor arguments.
_target_: sklearn.ensemble.RandomForestClassifier
n_estimators: 50
random_state: 0
""",
    "search_space/my_space.yaml": """\
# One entry per tuned parameter of the model:
#   a list is choice(...), a scalar is fixed, or a HyperDrive expression in quotes:
#   choice, randint, uniform, loguniform (natural-log exponents), normal, lognormal,
#   quniform, qloguniform, qnormal, qlognormal.
max_depth: [3, 5, 8, null]
min_samples_leaf: "quniform(1, 10, 1)"  # integers 1..10
max_features: "uniform(0.2, 1.0)"
""",
}


def cmd_init(argv: list[str]) -> int:
    """Write :data:`FILES` under ``./conf`` (or ``--dir``); never overwrites a file."""
    parser = argparse.ArgumentParser(prog="hpt init", description=__doc__)
    parser.add_argument("--dir", default="conf", help="where to write (default: ./conf)")
    args = parser.parse_args(argv)
    root = Path(args.dir)
    existing = [name for name in FILES if (root / name).exists()]
    if existing:
        from hpt.cli import fail

        return fail(
            ConfigError(
                "hpt init",
                f"{root / existing[0]} already exists; remove it or choose another --dir",
            )
        )
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    print("next: hpt validate experiment=mine   then   hpt experiment=mine")
    sys.stdout.flush()
    return 0
