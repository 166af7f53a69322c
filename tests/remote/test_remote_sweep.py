"""One experiment YAML, three compute targets (``compute=local``, the SSH + container target,
``compute=spark`` on local[2]) with only ``compute=`` changed: the same cv_results.csv.

The Spark leg adds a Spark session's start-up to a suite with a tight budget, so it runs when
``HPT_REMOTE_THREE_WAY=1`` (benchmarks/README.md has the command and a measured run); local vs
remote always runs."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import yaml

from tests.cli_helpers import run_dirs, run_hpt

EXPERIMENT = """\
# @package _global_
defaults:
  - override /dataset: iris
  - override /features: none
  - override /model: decision_tree
  - override /search_space: iris_tree
  - override /metric: accuracy
cv:
  n_splits: 2
  shuffle: true
  seed: 3
resources:
  max_concurrent_runs: 2
"""


def table(run_dir: Path) -> list[dict[str, str]]:
    """cv_results.csv without the timing columns (which differ from run to run)."""
    with open(run_dir / "cv_results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: v for k, v in row.items() if not k.endswith("_time")} for row in rows]


THREE_WAY = os.environ.get("HPT_REMOTE_THREE_WAY", "") not in ("", "0")


def test_same_experiment_same_cv_results_on_local_remote_and_spark(
    prepared: dict[str, Any], tmp_path: Path
) -> None:
    conf = tmp_path / "conf"
    for group in ("compute", "experiment", "search_space"):
        (conf / group).mkdir(parents=True)
    (conf / "compute" / "loopback.yaml").write_text(yaml.safe_dump(prepared))
    (conf / "experiment" / "iris_tree.yaml").write_text(EXPERIMENT)
    (conf / "search_space" / "iris_tree.yaml").write_text(
        "max_depth: [1, 2, 3]\ncriterion: [gini, entropy]\n"
    )
    targets = [["compute=local"], ["compute=loopback"]]
    if THREE_WAY:
        targets.append(["compute=spark", "compute.master='local[2]'"])
    tables = {}
    for compute in targets:
        before = set(run_dirs(tmp_path))
        done = run_hpt(["experiment=iris_tree", *compute], cwd=tmp_path)
        assert done.code == 0, done
        (run_dir,) = set(run_dirs(tmp_path)) - before
        tables[compute[0]] = table(run_dir)
        assert (run_dir / "model.joblib").is_file()
        assert json.loads((run_dir / "best.json").read_text())["best_params"] is not None
        if compute[0] == "compute=loopback":
            remote = json.loads((run_dir / "remote.json").read_text())
            assert (run_dir / "journal.jsonl").read_bytes() == (
                Path(remote["remote_dir"]) / "journal.jsonl"
            ).read_bytes()
    assert len(tables["compute=local"]) == 6
    assert tables["compute=loopback"] == tables["compute=local"]
    if THREE_WAY:
        assert tables["compute=spark"] == tables["compute=local"]
