"""``trainer=script``: command line, metric parsing, outcomes, failures, stops and validation."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import hpt
from hpt.errors import ConfigError
from hpt.trainers import TrialStopped
from hpt.trainers._script import ScriptFailed, ScriptTrainer, parse_metric_line
from hpt.trial import TrialSpec, TrialStatus

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def script_config(script: str, search_space: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A script-mode sweep config over ``search_space`` (primary metric: accuracy)."""
    cfg: dict[str, Any] = {
        "trainer": {"kind": "script", "script": str(SCRIPTS / script)},
        "search_space": search_space,
        "metric": {"primary_metric": "accuracy", "goal": "maximize"},
        "resources": {"max_concurrent_runs": 2},
        "refit": False,
    }
    cfg.update(overrides)
    return cfg


def process_gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state == "Z"


def wait_gone(pids: list[int], patience: float = 20.0) -> list[int]:
    """The pids still running after waiting up to ``patience`` s for them to end (no timing is
    asserted: a slow machine only waits longer)."""
    deadline = time.monotonic() + patience
    alive = [p for p in pids if not process_gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if not process_gone(p)]
    return alive


def run_direct(
    trainer: ScriptTrainer, params: dict[str, Any], stop_after_reports: int | None = None
) -> tuple[list[dict[str, Any]], Any]:
    """Run one trial in this process; ``stop_after_reports`` asks it to stop after that many."""
    events: list[dict[str, Any]] = []

    def should_stop() -> bool:
        reports = sum(1 for e in events if e["event"] == "report")
        return stop_after_reports is not None and reports >= stop_after_reports

    outcome = trainer.run(TrialSpec("0007", 7, 1, params), events.append, should_stop)
    return events, outcome


# -- command line and parsing -----------------------------------------------------------------


def test_command_line_fixed_args_first_then_hyperparameters() -> None:
    trainer = ScriptTrainer("train.py", "accuracy", args=["--epochs", 3, "--data", "x.csv"])
    command = trainer.command({"lr": 0.1, "depth": 3, "booster": "gbtree", "shuffle": True})
    assert command == [
        sys.executable,
        "train.py",
        "--epochs",
        "3",
        "--data",
        "x.csv",
        "--lr",
        "0.1",
        "--depth",
        "3",
        "--booster",
        "gbtree",
        "--shuffle",
        "True",
    ]
    assert ScriptTrainer("t.py", "m", python="/opt/py").command({})[0] == "/opt/py"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('@hpt {"metric": "accuracy", "value": 0.91}\n', ("accuracy", 0.91)),
        ('@hpt {"metric": "loss", "value": 3}', ("loss", 3.0)),
        ("accuracy=0.91\n", ("accuracy", 0.91)),
        ("  val/loss = -1.5e-3  ", ("val/loss", -0.0015)),
        ("accuracy=nan", ("accuracy", float("nan"))),
        ("INFO: accuracy=0.91", None),  # a log message that mentions a metric
        ("accuracy=0.91 (epoch 3)", None),
        ("training with lr=0.1 for 3 epochs", None),
        ("accuracy=high", None),
        ("accuracy: 0.91", None),
        ("@hpt not json", None),
        ('@hpt {"metric": "accuracy", "value": "0.9"}', None),
        ('@hpt {"metric": "accuracy", "value": true}', None),
        ("", None),
    ],
)
def test_metric_lines(line: str, expected: tuple[str, float] | None) -> None:
    parsed = parse_metric_line(line)
    if expected is None or parsed is None:
        assert parsed == expected
    else:
        assert parsed[0] == expected[0]
        assert parsed[1] == pytest.approx(expected[1], nan_ok=True)


# -- running a trial --------------------------------------------------------------------------


def test_every_primary_report_is_one_interval_and_the_last_is_the_value(tmp_path: Path) -> None:
    trainer = ScriptTrainer(SCRIPTS / "curve.py", "accuracy", log_dir=tmp_path)
    events, outcome = run_direct(trainer, {"curve": "0.5,0.7,0.6"})
    reports = [e for e in events if e["event"] == "report"]
    assert [(e["interval"], e["value"]) for e in reports] == [(1, 0.5), (2, 0.7), (3, 0.6)]
    assert outcome.value == 0.6  # the last report, not the best
    trial_dir = tmp_path / "0007"
    assert (trial_dir / "stdout.log").read_text().count("epoch") == 3
    assert len((trial_dir / "metrics.jsonl").read_text().splitlines()) == 3


def test_any_metric_name_and_other_metrics_are_kept(tmp_path: Path) -> None:
    trainer = ScriptTrainer(SCRIPTS / "plain_no_hpt.py", "loss", log_dir=tmp_path)
    events, outcome = run_direct(trainer, {"lr": 0.1})
    assert [e["value"] for e in events if e["event"] == "report"] == [0.4, 0.3, 0.2]
    assert outcome.extra["metrics"] == {"accuracy": 0.8}
    assert '"metric": "accuracy"' in (tmp_path / "0007" / "metrics.jsonl").read_text()


def test_script_that_cannot_import_hpt_reports_with_plain_lines(tmp_path: Path) -> None:
    result = hpt.tune(
        script_config("plain_no_hpt.py", {"lr": [0.1, 0.05]}), run_dir=tmp_path / "run"
    )
    first, second = result.state.ordered()
    assert first.status is TrialStatus.COMPLETED and second.status is TrialStatus.COMPLETED
    # "INFO: accuracy=0.99 ..." and "training with lr=0.1 ..." are not reports.
    assert first.values == (0.6, 0.7, 0.8) and first.value == 0.8
    assert second.values == (0.55, 0.6, 0.65) and second.value == 0.65
    assert result.best_trial_id == "0000"
    trial_dir = tmp_path / "run" / "trials" / "0000"
    stdout = (trial_dir / "stdout.log").read_text()
    assert "training with lr=0.1 for 3 epochs" in stdout and "loss = 0.2" in stdout
    assert (trial_dir / "stderr.log").read_text() == "done\n"


def test_failing_scripts_are_failed_with_their_stderr_kept(tmp_path: Path) -> None:
    result = hpt.tune(
        script_config("fail.py", {"mode": ["raise", "silent"]}), run_dir=tmp_path / "run"
    )
    raised, silent = result.state.ordered()
    assert raised.status is TrialStatus.FAILED and silent.status is TrialStatus.FAILED
    assert raised.error == (
        "ScriptFailed: fail.py exited with code 1: "
        "ValueError: learning rate too high: loss diverged"
    )
    error_text = (tmp_path / "run" / "trials" / "0000" / "error.txt").read_text()
    assert "loading data" in error_text and "Traceback (most recent call last)" in error_text
    assert "raise ValueError" in error_text  # the script's own traceback, from its stderr
    assert "loading data" in (tmp_path / "run" / "trials" / "0000" / "stderr.log").read_text()
    assert raised.values == (0.5,)  # what it reported before failing is kept
    assert silent.error is not None
    assert "exited with code 0 without reporting the primary metric 'accuracy'" in silent.error
    assert "(it reported loss)" in silent.error
    assert result.best_trial_id is None


def test_a_misnamed_metric_is_named_in_the_failure() -> None:
    trainer = ScriptTrainer(SCRIPTS / "fail.py", "accuracy")
    with pytest.raises(ScriptFailed, match=r"'accuracy' \(it reported acc\); log it with"):
        run_direct(trainer, {"mode": "wrong_name"})


# -- stopping ---------------------------------------------------------------------------------


def test_stop_ends_the_script_and_what_it_started(tmp_path: Path) -> None:
    trainer = ScriptTrainer(
        SCRIPTS / "sleepy.py", "accuracy", args=["--pid-dir", tmp_path, "--child"]
    )
    events: list[dict[str, Any]] = []
    with pytest.raises(TrialStopped):
        trainer.run(TrialSpec("0001", 1, 1, {}), events.append, lambda: bool(events))
    assert [e["value"] for e in events] == [0.5]  # stopped long before its second report
    pids = [int(p) for p in (tmp_path / "0001.pid").read_text().split()]
    assert len(pids) == 2
    assert wait_gone(pids) == []


def test_stop_kills_a_script_that_ignores_sigterm(tmp_path: Path) -> None:
    trainer = ScriptTrainer(
        SCRIPTS / "sleepy.py", "accuracy", args=["--pid-dir", tmp_path, "--ignore-term"]
    )
    events: list[dict[str, Any]] = []
    with pytest.raises(TrialStopped):
        trainer.run(TrialSpec("0002", 2, 1, {}), events.append, lambda: bool(events))
    (pid,) = [int(p) for p in (tmp_path / "0002.pid").read_text().split()]
    assert wait_gone([pid]) == []


# -- configuration ----------------------------------------------------------------------------


def test_missing_script_is_a_config_error_before_anything_runs(tmp_path: Path) -> None:
    cfg = script_config("curve.py", {"curve": ["0.5"]})
    cfg["trainer"]["script"] = None
    with pytest.raises(ConfigError, match=r"trainer.script: is not set.*trainer.script=path"):
        hpt.tune(cfg, run_dir=tmp_path / "run")
    cfg["trainer"]["script"] = str(tmp_path / "nope.py")
    with pytest.raises(ConfigError, match=r"trainer.script: .*nope.py' is not a file.*fix the"):
        hpt.tune(cfg, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"policy": {"interval_unit": "round"}}, "policy.interval_unit"),
        ({"trainer": {"args": [["a", "b"]]}}, r"trainer.args\[0\]"),
        ({"trainer": {"python": "/no/such/python"}}, "trainer.python"),
    ],
)
def test_invalid_script_settings_name_their_key(
    tmp_path: Path, change: dict[str, Any], key: str
) -> None:
    cfg = script_config("curve.py", {"curve": ["0.5"]})
    for group, values in change.items():
        cfg[group] = {**cfg.get(group, {}), **values}
    with pytest.raises(ConfigError, match=rf"^{key}: "):
        hpt.tune(cfg, run_dir=tmp_path / "run")


def test_script_group_composes_from_the_command_line() -> None:
    from hpt.cli import compose
    from hpt.experiment import Experiment

    cfg = compose(
        [
            "trainer=script",
            f"trainer.script={SCRIPTS / 'curve.py'}",
            "trainer.args=[--pause,0]",
            "+search_space.curve=[0.5]",
            "metric.primary_metric=val_loss",
            "metric.goal=minimize",
        ]
    )
    exp = Experiment.from_config(cfg)
    assert exp.trainer_kind == "script" and exp.goal == "minimize"
    trainer = ScriptTrainer.from_config(cfg, exp.metric)
    assert trainer.command({"curve": 0.5})[1:] == [
        str(SCRIPTS / "curve.py"),
        "--pause",
        "0",
        "--curve",
        "0.5",
    ]
