"""``report.html``: one self-contained page per run dir (summary, sortable trials, plots, the
early-termination audit, failures, config, environment), opened offline.

* :func:`write_report` builds it from the run dir's journal; it only reads the journal and never
  takes the writer lock, so it works while the sweep is still running (``hpt report RUN_DIR``).
* :class:`ReportWriter` is the sweep callback: it records the session's environment when the
  session starts and writes the report when it ends.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hpt.callbacks import SweepCallback
from hpt.report._data import collect
from hpt.report._environment import collect_environment, record_environment
from hpt.report._html import render
from hpt.state import SweepState

__all__ = [
    "REPORT_NAME",
    "ReportWriter",
    "build_report",
    "cmd_report",
    "collect",
    "collect_environment",
    "write_report",
]

REPORT_NAME = "report.html"
log = logging.getLogger("hpt")


def build_report(run_dir: str | Path) -> str:
    """The report of ``run_dir`` as HTML text."""
    return render(collect(Path(run_dir)))


def write_report(run_dir: str | Path, output: str | Path | None = None) -> Path:
    """Write the report (default ``run_dir/report.html``, atomically) and return its path."""
    from hpt.results import atomic_write_text

    path = Path(output) if output is not None else Path(run_dir) / REPORT_NAME
    atomic_write_text(path, build_report(run_dir))
    return path


class ReportWriter(SweepCallback):
    """Records the environment at the start of each session; writes ``report.html`` at its end."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def on_start(self, state: SweepState, *, resumed: bool) -> None:
        try:
            record_environment(self.run_dir)
        except OSError as err:
            log.warning("could not record the environment: %s", err)

    def on_end(self, state: SweepState, reason: str | None) -> None:
        try:
            path = write_report(self.run_dir)
        except Exception as err:  # the sweep's results matter more than its report
            log.warning("report not written (%s); build it with: hpt report %s", err, self.run_dir)
            return
        log.info("report: %s", path)


def cmd_report(argv: list[str]) -> int:
    """``hpt report RUN_DIR [-o FILE]``: (re)build the report, also while the sweep runs."""
    from hpt.errors import ConfigError
    from hpt.history import fail
    from hpt.journal import JOURNAL_NAME

    parser = argparse.ArgumentParser(prog="hpt report", description="build report.html")
    parser.add_argument("run_dir")
    parser.add_argument("-o", "--output", help="where to write it (default: RUN_DIR/report.html)")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir)
    if not (run_dir / JOURNAL_NAME).exists():
        return fail(
            ConfigError("run_dir", f"{args.run_dir!r} holds no sweep journal; check the path")
        )
    try:
        path = write_report(run_dir, args.output)
    except OSError as err:
        return fail(ConfigError("--output", f"cannot write the report: {err}"))
    print(path)
    return 0
