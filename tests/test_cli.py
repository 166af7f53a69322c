"""The ``hpt`` command end to end: outputs, overrides, multirun, validate, and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hpt import cli
from tests.cli_helpers import Completed, run_dirs, run_hpt

QUICK = ["experiment=quick"]


def test_quick_run_writes_every_output(tmp_path: Path) -> None:
    done = run_hpt(QUICK, tmp_path)
    assert done.code == 0, done.stderr
    (run_dir,) = run_dirs(tmp_path)
    # outputs/YYYY-MM-DD/HH-MM-SS
    assert run_dir.parent.parent.name == "outputs"
    for name in [
        "sweeping_results.txt",
        "cv_results.csv",
        "best.json",
        "model.joblib",
        "journal.jsonl",
        "metrics.csv",
        "hpt.log",
        ".hydra/config.yaml",
        ".hydra/overrides.yaml",
    ]:
        assert (run_dir / name).is_file(), name
    best = json.loads((run_dir / "best.json").read_text())
    assert best["metric"] == "accuracy" and best["goal"] == "maximize"
    assert 0.8 < best["best_score"] <= 1.0
    assert f"output dir: {run_dir.resolve()}" in done.stdout
    assert "best accuracy:" in done.stdout
    rows = list(csv.DictReader(open(run_dir / "cv_results.csv")))
    assert len(rows) == 6 and {r["status"] for r in rows} == {"completed"}
    import joblib

    model = joblib.load(run_dir / "model.joblib")
    assert model.get_params()["max_depth"] == best["best_params"]["max_depth"]


def test_override_one_dimension_and_its_type(tmp_path: Path) -> None:
    done = run_hpt(
        [*QUICK, "search_space.max_depth='choice(2, 3)'", "resources.max_total_runs=3"], tmp_path
    )
    assert done.code == 0, done.stderr
    (run_dir,) = run_dirs(tmp_path)
    rows = list(csv.DictReader(open(run_dir / "cv_results.csv")))
    assert len(rows) == 3
    assert {int(r["param_max_depth"]) for r in rows} <= {2, 3}


def test_multirun_gives_each_sweep_its_own_dir(tmp_path: Path) -> None:
    done = run_hpt(
        [
            "-m",
            *QUICK,
            "sampler=grid,random",
            "search_space.max_depth=[2,3]",
            "search_space.min_samples_leaf=[1]",
            "search_space.criterion=[gini]",
        ],
        tmp_path,
    )
    assert done.code == 0, done.stderr
    dirs = run_dirs(tmp_path)
    assert len(dirs) == 2 and dirs[0] != dirs[1]
    samplers = [
        json.loads(open(d / "journal.jsonl").readline())["config"]["sampler"]["_target_"]
        for d in dirs
    ]
    assert sorted(samplers) == ["hpt.samplers.GridSampler", "hpt.samplers.RandomSampler"]


def test_validate_prints_the_plan_and_launches_nothing(tmp_path: Path) -> None:
    done = run_hpt(["validate", "sampler=grid", "search_space=seed_grid_spark"], tmp_path)
    assert done.code == 0, done.stderr
    assert "trials: 16, fits: 80 (16 x 5 folds)" in done.stdout
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sampler=grd"], "sampler=grd: no such option"),
        (["policy=bandt"], "policy=bandt: no such option"),
        (
            ["search_space.max_depth='unifrm(1, 3)'", "sampler=random"],
            "unknown distribution 'unifrm'",
        ),
        (["search_space.max_depth='uniform(1, 9)'"], "grid sampling needs discrete dimensions"),
        (["search_space.learning_rate='uniform(0.3, 0.1)'", "sampler=random"], "low <= high"),
        (["search_space.learning_rate='quniform(0.1, 0.3, 0)'", "sampler=random"], "q must be > 0"),
        (["search_space.learning_rate='normal(0.1, -1)'", "sampler=random"], "sigma must be > 0"),
        (
            ["search_space.learning_rate='loguniform(0, 1, bounds=linear)'", "sampler=random"],
            "must be > 0",
        ),
        (["search_space.learning_rate='loguniform(0.001, 0.1)'", "sampler=random"], "ambiguous"),
        (["search_space.max_depth=[]"], "empty list"),
        (["search_space.max_depth='choice()'"], "is empty"),
        (["metric.primary_metric=neg_logloss"], "did you mean neg_log_loss"),
        (["model._target_=xgboost.XGBClasifier"], "did you mean xgboost.XGBClassifier"),
        (["model._target_=nosuchpackage.Model"], "cannot import"),
        (["model._target_=collections.OrderedDict"], "not a scikit-learn-API estimator"),
        (
            ["resources.max_concurrent_runs=0"],
            "resources.max_concurrent_runs: must be an integer >= 1",
        ),
        (["resources.max_concurrent_runs=abc"], "could not be converted to Integer"),
        (["resources.max_concurent_runs=2"], "no such key"),
        (
            ["dataset=file", "features=none", "dataset.path=/no/such.csv", "dataset.target=y"],
            "no such file",
        ),
        (["sampler=random", "search_space.learning_rate='uniform(0.05, 0.2)'"], "never runs out"),
        (["search_space.max_dept=[3]"], "add a new key with +search_space.max_dept"),
        (["+search_space.max_dept=[3]"], "did you mean 'max_depth'"),
        (["sampler=grid,random"], "hpt -m"),
        (["compute=spark", "compute.master=bogus"], "is not a Spark master URL"),
        (["compute=spark", "compute.master=spark://127.0.0.1:1"], "cannot reach the Spark master"),
        (["+compute.workers=3"], "is not a setting of compute=local"),
        (["model.max_depth=uniform(1, 9)"], "cannot parse the value 'uniform(1, 9)'"),
        (["--config-dir", "/no/such/dir"], "--config-dir: '/no/such/dir' is not a directory"),
    ],
)
def test_bad_input_gives_one_line_and_creates_nothing(
    tmp_path: Path,
    args: list[str],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In-process: the same cli.main the console script calls, without an interpreter start per
    # case (test_bad_input_in_a_real_process covers the process boundary).
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HPT_DEBUG", raising=False)
    code = cli.main(args)
    out, err = capsys.readouterr()
    done = Completed(code, out, err)
    assert done.code == 2, (done.code, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("hpt: error: ")
    assert expected in lines[0], lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "outputs").exists()


def test_bad_input_in_a_real_process(tmp_path: Path) -> None:
    done = run_hpt(["sampler=grd"], tmp_path)
    assert done.code == 2 and done.stderr.startswith("hpt: error: sampler=grd: no such option")
    assert done.stderr.count("\n") == 1 and not (tmp_path / "outputs").exists()


def test_search_space_expressions_need_no_hydra_quotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What bash passes for ``search_space.max_depth='uniform(1, 9)'`` is accepted as is."""
    monkeypatch.chdir(tmp_path)
    args = ["validate", *QUICK, "search_space.max_depth=uniform(1, 9)"]
    assert cli.main(args) == 0, capsys.readouterr().err
    assert "max_depth: uniform(1.0, 9.0)" in capsys.readouterr().out
    assert cli.quote_expressions(
        ["search_space.x=choice(1, 2)", "sampler=choice(grid,random)"]
    ) == [
        "search_space.x='choice(1, 2)'",
        "sampler=choice(grid,random)",
    ]


def test_missing_target_column(tmp_path: Path) -> None:
    table = tmp_path / "table.csv"
    table.write_text("a,b,label\n1,2,0\n3,4,1\n")
    done = run_hpt(
        ["dataset=file", "features=none", f"dataset.path={table}", "dataset.target=y"], tmp_path
    )
    assert done.code == 2
    assert "dataset.target: column 'y' is not in table.csv (columns: a, b, label)" in done.stderr


def test_csv_dataset_runs(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame.to_csv(tmp_path / "iris.csv", index=False)
    done = run_hpt(
        [
            "dataset=file",
            "features=none",
            f"dataset.path={tmp_path / 'iris.csv'}",
            "dataset.target=target",
            "model=decision_tree",
            "search_space=tree",
            "sampler=random",
            "resources.max_total_runs=2",
            "metric=accuracy",
        ],
        tmp_path,
    )
    assert done.code == 0, done.stderr
    assert len(run_dirs(tmp_path)) == 1


def test_debug_env_shows_traceback(tmp_path: Path) -> None:
    done = run_hpt(["sampler=grd"], tmp_path, env={"HPT_DEBUG": "1"})
    assert done.code != 0
