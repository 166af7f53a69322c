"""``hpt prepare``, ``hpt attach``, ``hpt cancel``, ``hpt status``: the remote target's commands.

``hpt status`` also answers for a local run dir (from its journal and writer lock).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hpt.errors import ConfigError, HptError, SweepAborted
from hpt.remote._base import RemoteStatus


def cmd_prepare(argv: list[str]) -> int:
    """``hpt prepare [overrides]``: build (or reuse) the image of the experiment's remote target."""
    from hpt.cli import _precheck, _use_config_dir, fail, quote_expressions, setup_console_logging
    from hpt.remote import remote_target

    setup_console_logging()
    try:
        overrides = quote_expressions(_use_config_dir(list(argv)))
        experiments = _precheck(overrides, False)
        target = remote_target(experiments[0])
        if target is None:
            raise ConfigError(
                "compute", "is not a remote target; hpt prepare is for e.g. compute=dsvm"
            )
        print(target.prepare(experiments[0]))
    except Exception as err:
        return fail(err)
    return 0


def _run_dir_arg(name: str, argv: list[str]) -> Path:
    parser = argparse.ArgumentParser(prog=f"hpt {name}")
    parser.add_argument("run_dir")
    return Path(parser.parse_args(argv).run_dir)


def cmd_attach(argv: list[str]) -> int:
    """``hpt attach RUN_DIR``: mirror a remote sweep again, from where the local copy ends."""
    from hpt.cli import EXIT_ABORTED, EXIT_INTERRUPTED, fail, print_summary, setup_console_logging
    from hpt.remote import target_of_run_dir

    run_dir = _run_dir_arg("attach", argv)
    setup_console_logging()
    try:
        result = target_of_run_dir(run_dir).attach(run_dir)
    except SweepAborted as err:
        sys.stderr.write(f"hpt: sweep aborted: {err}\n")
        return EXIT_ABORTED
    except KeyboardInterrupt as err:
        sys.stderr.write(f"hpt: interrupted; {err}\n")
        return EXIT_INTERRUPTED
    except (ConfigError, HptError) as err:
        return fail(err)
    print_summary(result)
    return 0


def cmd_cancel(argv: list[str]) -> int:
    """``hpt cancel RUN_DIR``: stop the remote sweep; the results so far are copied and kept."""
    from hpt.cli import fail, setup_console_logging
    from hpt.remote import target_of_run_dir

    run_dir = _run_dir_arg("cancel", argv)
    setup_console_logging()
    try:
        status = target_of_run_dir(run_dir).cancel(run_dir)
    except (ConfigError, HptError) as err:
        return fail(err)
    for line in status.lines():
        print(line)
    print(f"results so far are in {run_dir}; continue with: hpt resume {run_dir}")
    return 0


def cmd_status(argv: list[str]) -> int:
    """``hpt status RUN_DIR``: running / finished / died, trials done, the best so far."""
    from hpt.cli import fail
    from hpt.remote import REMOTE_FILE, target_of_run_dir

    run_dir = _run_dir_arg("status", argv)
    try:
        if (run_dir / REMOTE_FILE).is_file():
            status = target_of_run_dir(run_dir).status(run_dir)
        else:
            status = _local_status(run_dir)
    except (ConfigError, HptError) as err:
        return fail(err)
    for line in status.lines():
        print(line)
    return 0


def _local_status(run_dir: Path) -> RemoteStatus:
    from hpt.journal import read_journal
    from hpt.remote._target import status_of
    from hpt.rundir import lock_holder
    from hpt.state import SweepState

    events = read_journal(run_dir)
    if not events:
        raise ConfigError("run_dir", f"{str(run_dir)!r} holds no sweep journal; check the path")
    state = SweepState.replay(events)
    holder = lock_holder(run_dir)
    if holder is not None:
        what, detail = "running", f"pid {holder.get('pid')} on {holder.get('host')}"
    elif state.finished:
        what, detail = ("aborted" if state.aborted else "finished"), state.end_reason or ""
    else:
        what, detail = "stopped", f"continue with: hpt resume {run_dir}"
    return status_of(state, what, detail, [])
