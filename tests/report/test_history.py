"""``hpt runs/show/best/compare`` on real run dirs; ``hpt best``'s overrides re-run the best
configuration exactly."""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path

import pytest

from hpt.history import header_and_tail, run_info
from tests.cli_helpers import run_dirs, run_hpt
from tests.report.conftest import SECRET


@pytest.fixture(scope="module")
def rerun(swept: tuple[Path, str], sweep_home: Path) -> tuple[Path, dict[str, object]]:
    """``hpt best --json`` of the sweep, then ``hpt <its overrides>``: the second run dir."""
    run_dir, _ = swept
    best = run_hpt(["best", str(run_dir), "--json"], sweep_home)
    assert best.code == 0, best.stderr
    answer = json.loads(best.stdout)
    before = set(run_dirs(sweep_home))
    again = run_hpt(["-q", *answer["overrides"]], sweep_home, env={"HPT_TEST_SECRET": SECRET})
    assert again.code == 0, again.stderr
    (second,) = set(run_dirs(sweep_home)) - before
    # -q: the console shows only the summary; the run's log keeps the per-trial lines.
    assert "ITERATION" not in again.stdout and "search space:" not in again.stdout
    assert again.stdout.startswith("sweep finished: ") and "best accuracy: " in again.stdout
    assert "ITERATION  PARAMS" in (second / "hpt.log").read_text()
    return second, answer


def test_best_prints_params_and_a_command_that_reruns_them(
    swept: tuple[Path, str], sweep_home: Path, rerun: tuple[Path, dict[str, object]]
) -> None:
    run_dir, _ = swept
    second, answer = rerun
    assert answer["trial_id"] == "0001"
    assert answer["best_params"] == {"criterion": "gini", "max_depth": 4, "min_samples_leaf": 1}
    text = run_hpt(["best", str(run_dir)], sweep_home).stdout
    assert "best accuracy: " in text and "max_depth: 4" in text
    command = text.strip().splitlines()[-1].strip()
    assert shlex.split(command) == ["hpt", *answer["overrides"]]  # shell-quoted as needed
    # The re-run evaluated exactly that configuration and got exactly that score.
    result = json.loads((second / "best.json").read_text())
    assert result["n_trials"] == 1 and result["best_params"] == answer["best_params"]
    assert math.isclose(result["best_score"], answer["best_score"], rel_tol=0, abs_tol=1e-12)


def test_runs_lists_both_sweeps_from_header_and_tail(
    swept: tuple[Path, str], sweep_home: Path, rerun: tuple[Path, dict[str, object]]
) -> None:
    run_dir, _ = swept
    second, _ = rerun
    done = run_hpt(["runs", "--root", str(sweep_home / "outputs")], sweep_home)
    assert done.code == 0, done.stderr
    header, *rows = done.stdout.strip().splitlines()
    assert header.split()[:7] == [
        "WHEN",
        "EXPERIMENT",
        "SAMPLER",
        "COMPUTE",
        "TRIALS",
        "BEST",
        "STATUS",
    ]
    assert len(rows) == 2
    first_row, second_row = rows  # oldest first
    assert str(run_dir) in first_row and str(second) in second_row
    for row, trials in ((first_row, "5"), (second_row, "1")):
        cells = row.split()
        assert "GridSampler" in cells and "LocalLauncher" in cells and "finished" in cells
        assert trials in cells
    info = run_info(run_dir)
    assert info is not None and info.best is not None and f"{info.best:.5f}" in first_row
    first, tail = header_and_tail(run_dir)
    assert first is not None and first["event"] == "sweep_created"
    assert tail[-1]["event"] == "sweep_finished"


def test_show_and_compare(
    swept: tuple[Path, str], sweep_home: Path, rerun: tuple[Path, dict[str, object]]
) -> None:
    run_dir, _ = swept
    second, _ = rerun
    shown = run_hpt(["show", str(run_dir)], sweep_home)
    assert shown.code == 0, shown.stderr
    assert "1 completed, 1 failed, 3 terminated" in shown.stdout
    assert "best:       accuracy" in shown.stdout and "(trial 0001)" in shown.stdout
    assert f"report:     {run_dir / 'report.html'}" in shown.stdout
    compared = run_hpt(["compare", str(run_dir), str(second)], sweep_home)
    assert compared.code == 0, compared.stderr
    out = compared.stdout
    assert "1 completed, 1 failed, 3 terminated" in out and "1 completed" in out
    assert "config differences (A -> B):" in out
    assert (
        "search_space.max_depth: '[-1, 4, 1, 6, 2]' -> 4" in out or "search_space.max_depth" in out
    )
    assert (
        "policy._target_: 'hpt.policies.BanditPolicy' -> 'hpt.policies.NoTerminationPolicy'" in out
    )


def test_history_commands_refuse_a_dir_without_a_sweep(tmp_path: Path) -> None:
    for args in (
        ["show", str(tmp_path)],
        ["best", str(tmp_path)],
        ["runs", "--root", str(tmp_path / "nope")],
    ):
        done = run_hpt(args, tmp_path)
        assert done.code == 2, args
        assert done.stderr.startswith("hpt: error: ") and "Traceback" not in done.stderr
