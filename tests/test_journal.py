"""The journal: append-only, replayable, tolerant of a torn last line."""

from __future__ import annotations

from pathlib import Path

from hpt.journal import JOURNAL_NAME, Journal, read_journal
from hpt.state import SweepState
from hpt.trial import TrialStatus


def _write_sweep(run_dir: Path) -> None:
    journal = Journal(run_dir)
    journal.append("sweep_created", config={}, max_total_runs=2)
    journal.append("proposed", trial_id="0000", number=0, params={"a": 1})
    journal.append("started", trial_id="0000", attempt=1)
    journal.append(
        "fold", trial_id="0000", attempt=1, fold=0, test_score=0.5, fit_time=0.1, score_time=0.01
    )
    journal.append("report", trial_id="0000", attempt=1, interval=1, value=0.5, fold=0)
    journal.close()


def test_replay_rebuilds_state(tmp_path: Path) -> None:
    _write_sweep(tmp_path)
    state = SweepState.replay(read_journal(tmp_path))
    trial = state.trials["0000"]
    assert trial.status is TrialStatus.RUNNING
    assert trial.values == (0.5,)
    assert list(trial.folds) == [0]
    assert state.unfinished() == [trial]
    spec = trial.resume_spec()
    assert (
        spec.attempt == 2 and [f.fold for f in spec.done_folds] == [0] and spec.reported == (0.5,)
    )


def test_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path: Path) -> None:
    _write_sweep(tmp_path)
    path = tmp_path / JOURNAL_NAME
    with open(path, "a") as handle:
        handle.write('{"seq":5,"t":1.0,"event":"fold","trial_id":"0000","fol')  # power cut here
    events = read_journal(tmp_path)
    assert [e["event"] for e in events][-1] == "report"
    journal = Journal(tmp_path)
    journal.append("completed", trial_id="0000", attempt=1, value=0.5)
    journal.close()
    lines = path.read_text().splitlines()
    assert all(line.startswith("{") and line.endswith("}") for line in lines)
    events = read_journal(tmp_path)
    assert [e["seq"] for e in events] == list(range(6))
    assert SweepState.replay(events).trials["0000"].status is TrialStatus.COMPLETED


def test_torn_line_without_newline_in_the_middle_of_json(tmp_path: Path) -> None:
    _write_sweep(tmp_path)
    path = tmp_path / JOURNAL_NAME
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # cut inside the last event
    assert [e["event"] for e in read_journal(tmp_path)][-1] == "fold"


def test_time_limit_counts_only_running_time() -> None:
    events = [
        {"seq": 0, "t": 100.0, "event": "sweep_created", "config": {}},
        {"seq": 1, "t": 130.0, "event": "proposed", "trial_id": "0000", "number": 0, "params": {}},
        # the driver died here; resumed an hour later
        {"seq": 2, "t": 3730.0, "event": "sweep_resumed"},
        {"seq": 3, "t": 3750.0, "event": "requeued", "trial_id": "0000"},
    ]
    assert SweepState.replay(events).elapsed_seconds() == 50.0


def test_run_dirs_are_collision_proof(tmp_path: Path) -> None:
    from hpt.compose import _unique_dir
    from hpt.rundir import new_run_dir

    dirs = {new_run_dir(tmp_path) for _ in range(5)}
    assert len(dirs) == 5 and all(d.is_dir() for d in dirs)
    first = _unique_dir(str(tmp_path / "x" / "12-00-00"))
    assert _unique_dir(str(tmp_path / "x" / "12-00-00")) == first  # memoised within a process
    import hpt.compose

    hpt.compose._unique_dirs.clear()  # a second process starting in the same second
    assert _unique_dir(str(tmp_path / "x" / "12-00-00")) == first + "-1"
