"""The remote sweep's entry point, inside the container: ``python -m hpt.remote._inside RUN_DIR
tune|resume [--force] [--extend N] [--rerun-failed] [--require VAR ...] [override ...]``.

It is the only writer of the remote run dir: it runs :func:`hpt.api.tune` on the shipped
``hpt_config.yaml`` (whose compute target is ``local``), or :func:`hpt.api.resume`. SIGTERM (what
``docker stop`` sends) interrupts the sweep the way Ctrl-C does, so the journal ends cleanly.
Exit codes: 0 done, 1 sweep aborted, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

EXIT_ABORTED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _logging(run_dir: Path) -> None:
    formatter = logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    root = logging.getLogger()
    for handler in (logging.FileHandler(run_dir / "hpt.log"), logging.StreamHandler(sys.stdout)):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.INFO)


def _as_init(argv: list[str]) -> int:
    """Run the driver as a child of this PID 1 and act as its init: forward SIGTERM/SIGINT, reap
    orphans, exit with the driver's code. (A driver that is PID 1 itself would look orphaned to
    its own workers, which exit when their parent is PID 1; and PID 1 must reap zombies.)"""
    import subprocess

    child = subprocess.Popen(
        [sys.executable, "-m", "hpt.remote._inside", *argv], env={**os.environ, _CHILD: "1"}
    )

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if pid == child.pid:
            return os.waitstatus_to_exitcode(status) % 256


_CHILD = "HPT_INSIDE_DRIVER"


def main(argv: list[str]) -> int:
    if os.getpid() == 1 and _CHILD not in os.environ:
        return _as_init(argv)
    parser = argparse.ArgumentParser(prog="hpt.remote._inside")
    parser.add_argument("run_dir")
    parser.add_argument("mode", choices=["tune", "resume"])
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--extend", type=int, default=None)
    parser.add_argument("--rerun-failed", action="store_true")
    parser.add_argument("--require", action="append", default=[])
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir)
    # PID 1 ignores signals it has no handler for: without this, docker stop would SIGKILL.
    signal.signal(signal.SIGTERM, _interrupt)
    _logging(run_dir)
    log = logging.getLogger("hpt")
    from omegaconf import OmegaConf

    from hpt import api
    from hpt.errors import ConfigError, HptError, SweepAborted

    missing = [name for name in args.require if name not in os.environ]
    if missing:
        log.error("the container lacks the environment variable(s) %s", ", ".join(missing))
        return EXIT_USAGE
    try:
        if args.mode == "tune":
            api.tune(OmegaConf.load(run_dir / api.CONFIG_NAME), run_dir)
        else:
            api.resume(
                run_dir,
                overrides=list(args.overrides),
                force=args.force,
                extend=args.extend,
                rerun_failed=args.rerun_failed,
            )
    except SweepAborted as err:
        log.error("sweep aborted: %s", err)
        return EXIT_ABORTED
    except (ConfigError, HptError) as err:
        log.error("hpt: error: %s", err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        log.warning("interrupted (stopped); continue with hpt resume")
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
