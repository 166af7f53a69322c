"""Resource limits end to end: max_duration_minutes, trial_timeout_minutes, max_total_runs.

The trials are training scripts that report once and then sleep, so they are surely running when
a limit strikes; the tests assert what is recorded and that no script process is left behind,
never how long anything took.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hpt
from hpt.errors import ConfigError
from hpt.trial import TrialStatus
from tests.trainers.test_script import script_config, wait_gone


def sleepy_config(pid_dir: Path, seconds: list[float], **resources: Any) -> dict[str, Any]:
    cfg = script_config("sleepy.py", {"seconds": seconds})
    cfg["trainer"]["args"] = ["--pid-dir", str(pid_dir)]
    cfg["resources"] = {"max_concurrent_runs": len(seconds), **resources}
    return cfg


def script_pids(pid_dir: Path) -> list[int]:
    """Pids the scripts wrote; a trial cancelled before its script started wrote none."""
    return [int(p) for f in sorted(pid_dir.glob("*.pid")) for p in f.read_text().split()]


def test_max_duration_cancels_the_running_trials(tmp_path: Path) -> None:
    pid_dir = tmp_path / "pids"
    cfg = sleepy_config(pid_dir, [600.0, 601.0, 602.0], max_duration_minutes=0.05)
    cfg["resources"]["max_concurrent_runs"] = 2
    result = hpt.tune(cfg, run_dir=tmp_path / "run")
    assert result.end_reason == "max_duration_minutes=0.05 reached"
    statuses = {t.trial_id: t.status for t in result.state.ordered()}
    # The two running trials are cancelled; the third was never started (no time left).
    assert statuses == {"0000": TrialStatus.CANCELLED, "0001": TrialStatus.CANCELLED}
    assert wait_gone(script_pids(pid_dir)) == []


def test_trial_timeout_times_out_only_the_slow_trial(tmp_path: Path) -> None:
    pid_dir = tmp_path / "pids"
    cfg = sleepy_config(pid_dir, [0.0, 600.0], trial_timeout_minutes=0.1)
    result = hpt.tune(cfg, run_dir=tmp_path / "run")
    fast, slow = result.state.ordered()
    assert fast.status is TrialStatus.COMPLETED and fast.value == 0.6
    assert slow.status is TrialStatus.TIMED_OUT
    assert slow.error == "trial exceeded trial_timeout_minutes=0.1"
    assert slow.values == (0.5,)
    assert result.end_reason == "search space exhausted"
    # The worker was killed; the script went with it (parent-death signal).
    assert wait_gone(script_pids(pid_dir)) == []


def test_max_total_runs_ends_the_sweep(tmp_path: Path) -> None:
    cfg = script_config(
        "curve.py",
        {"curve": ["0.1", "0.2", "0.3", "0.4", "0.5"]},
        sampler={"_target_": "hpt.samplers.RandomSampler", "seed": 1},
        resources={"max_total_runs": 3, "max_concurrent_runs": 10},
    )
    result = hpt.tune(cfg, run_dir=tmp_path / "run")
    assert result.end_reason == "max_total_runs=3 reached"
    assert [t.status for t in result.state.ordered()] == [TrialStatus.COMPLETED] * 3


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_total_runs", 0),
        ("max_concurrent_runs", -1),
        ("max_duration_minutes", 0),
        ("trial_timeout_minutes", -5),
    ],
)
def test_bad_limits_are_rejected_before_anything_runs(tmp_path: Path, key: str, value: Any) -> None:
    cfg = script_config("curve.py", {"curve": ["0.5"]}, resources={key: value})
    with pytest.raises(ConfigError, match=rf"^resources.{key}: must be"):
        hpt.tune(cfg, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
