"""report.html of a real sweep with completed, failed and terminated trials: every section, no
secret, opened in headless Chromium (no console errors, plots drawn, sorting), and ``hpt report``
on a run dir another process is writing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hpt.journal import read_journal
from hpt.report import REPORT_NAME, collect
from hpt.report._html import SECTIONS
from hpt.rundir import RunDirLock
from tests.cli_helpers import run_hpt
from tests.report.conftest import SECRET, open_page


def _data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="hpt-data">(.*?)</script>', html, re.S)
    assert match is not None
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_report_is_written_at_the_end_and_holds_every_section(swept: tuple[Path, str]) -> None:
    run_dir, stdout = swept
    html = (run_dir / REPORT_NAME).read_text()
    assert f"report: {run_dir.resolve()}/{REPORT_NAME}" in stdout.replace(
        str(run_dir), str(run_dir.resolve())
    )
    for key, _title in SECTIONS:
        assert f'<section id="{key}"><h2>' in html, key
    data = _data(html)
    assert data["status"] == "finished"
    assert data["counts"] == {"completed": 1, "failed": 1, "terminated": 3}
    assert data["best"]["trial"] == "0001" and data["best"]["params"]["max_depth"] == 4
    assert data["param_names"] == ["max_depth"]  # the fixed dimensions are in the config only
    # The early-termination audit: which trial, at which interval, the value and the threshold.
    audit = {row["trial"]: row for row in data["audit"] if row["outcome"] == "terminated"}
    assert sorted(audit) == ["0002", "0003", "0004"]
    for tid, row in audit.items():
        assert row["rule"] == "bandit" and row["interval"] == 1, tid
        assert row["value"] < row["threshold"], tid
    assert 'id="audit-table"' in html and html.count("<td>bandit</td>") >= 3
    et = data["early_termination"]
    ran = [len(t["values"]) for t in data["trials"] if t["status"] == "terminated"]
    assert et["terminated"] == 3 and et["full_intervals"] == 5
    assert et["intervals_skipped"] == sum(5 - n for n in ran) > 0  # a stop lands within a fold
    # Failures with their tracebacks; per-fold scores of the completed trial.
    assert "InvalidParameterError" in html and "Traceback" in html
    (best,) = [t for t in data["trials"] if t["id"] == "0001"]
    assert len(best["folds"]) == 5 and all(isinstance(v, float) for v in best["folds"])
    assert len(best["values"]) == 5
    # Resolved config with the secret redacted, and the environment with versions and revision.
    assert SECRET not in html
    assert data["config"]["dataset"]["account_key"] == "***"
    assert "account_key: &#x27;***&#x27;" in html
    assert data["config"]["model"]["_target_"] == "sklearn.tree.DecisionTreeClassifier"
    (env,) = data["environment"]
    assert env["packages"]["scikit-learn"] and env["python"]
    assert "hpt_git" in env
    # Self-contained: no external script, stylesheet or image.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)


def test_report_in_headless_chromium(swept: tuple[Path, str], browser: Any, tmp_path: Path) -> None:
    run_dir, _ = swept
    page, errors = open_page(browser, run_dir / REPORT_NAME)
    try:
        data = _data((run_dir / REPORT_NAME).read_text())
        with_values = [t for t in data["trials"] if any(v is not None for v in t["values"])]
        assert page.locator("#trials-table tbody tr").count() == 5
        assert page.get_attribute("#plot-intervals", "data-marks") == str(len(with_values))
        lines = page.locator(
            "#plot-intervals svg .marks polyline, #plot-intervals svg .marks circle"
        )
        assert lines.count() >= len(with_values)
        assert page.locator("#plot-intervals svg circle.stop").count() == 3  # where each stopped
        assert page.locator("#plot-best svg polyline.best-line").count() == 1
        assert page.locator("#plot-parallel svg .marks polyline").count() == 1  # one final value
        assert page.locator("#plot-folds svg .marks circle").count() == 5  # its five folds
        # Sorting: best first by the metric; a click on "trial" sorts by trial number.
        first = page.locator("#trials-table tbody tr:first-child td:first-child")
        assert first.inner_text() == "0001"
        page.click("#trials-table th[data-col='0']")
        order = page.locator("#trials-table tbody tr td:first-child").all_inner_texts()
        assert order == sorted(order)
        page.click("#trials-table th[data-col='0']")
        order = page.locator("#trials-table tbody tr td:first-child").all_inner_texts()
        assert order == sorted(order, reverse=True)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
        assert errors == []
    finally:
        page.close()


def test_hpt_report_reads_a_run_dir_being_written(swept: tuple[Path, str], tmp_path: Path) -> None:
    """``hpt report`` never takes the writer lock nor writes the journal."""
    run_dir, _ = swept
    before = (run_dir / "journal.jsonl").read_bytes()
    output = tmp_path / "again.html"
    with RunDirLock(run_dir, "test holds it like a running sweep"):
        done = run_hpt(["report", str(run_dir), "-o", str(output)], tmp_path)
    assert done.code == 0, done.stderr
    assert done.stdout.strip() == str(output)
    assert (run_dir / "journal.jsonl").read_bytes() == before
    assert _data(output.read_text())["n_trials"] == 5


def test_report_of_a_journal_still_in_flight(tmp_path: Path, swept: tuple[Path, str]) -> None:
    """A journal cut in the middle of the sweep (a trial running, a torn last line) still makes a
    report: the running trial is shown, nothing is finished."""
    run_dir, _ = swept
    events = read_journal(run_dir)
    cut = next(
        i for i, e in enumerate(events) if e["event"] == "report" and e["trial_id"] == "0002"
    )
    partial = tmp_path / "partial"
    partial.mkdir()
    lines = (run_dir / "journal.jsonl").read_text().splitlines()[: cut + 1]
    (partial / "journal.jsonl").write_text("\n".join(lines) + '\n{"seq": 9999, "ev')
    data = collect(partial)
    assert data["status"] == "interrupted"  # nobody writes it and it has no end event
    statuses = {t["id"]: t["status"] for t in data["trials"]}
    assert statuses["0002"] == "running" and statuses["0001"] == "completed"
    assert data["environment"] == [] and data["config"]["metric"]["primary_metric"] == "accuracy"


def test_hpt_report_refuses_a_dir_without_journal(tmp_path: Path) -> None:
    done = run_hpt(["report", str(tmp_path)], tmp_path)
    assert done.code == 2
    assert "holds no sweep journal" in done.stderr and "Traceback" not in done.stderr
