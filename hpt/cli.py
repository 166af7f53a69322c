"""The ``hpt`` command: argument handling only; the work is in :mod:`hpt.api` and the subcommands.

* ``hpt [overrides]`` / ``hpt -m [sweeps]`` -- run a sweep (a Hydra app over the config tree);
* ``hpt <subcommand> ...`` -- see :data:`COMMANDS` (``hpt help`` lists them).

User mistakes print one line ``hpt: error: <key>: <problem>; <fix>`` and exit 2, before any run dir
is created. ``HPT_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from hpt.compose import CONFIG_NAME, ENV_CONFIG_DIR, compose, packaged_conf_dir, register
from hpt.errors import ConfigError, HptError, SweepAborted

EXIT_ABORTED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: ``hpt NAME ...`` runs ``module:function(argv) -> exit code``; imported only when used.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("hpt.cli:cmd_validate", "check everything and print the plan; launches nothing"),
    "resume": ("hpt.cli:cmd_resume", "continue a sweep: hpt resume RUN_DIR [--extend N] [k=v]"),
    "rerun-failed": ("hpt.cli:cmd_rerun_failed", "run the failed trials of a sweep again"),
    "init": ("hpt.starter:cmd_init", "write a starter conf/ (experiment, model, search space)"),
    "data": ("hpt.data._cli:main", "hpt data upload ... | hpt data generate talkingdata ..."),
    "help": ("hpt.cli:cmd_help", "list the subcommands"),
    "prepare": (
        "hpt.remote.cli:cmd_prepare",
        "build the remote target's image: hpt prepare compute=dsvm",
    ),
    "attach": ("hpt.remote.cli:cmd_attach", "follow a remote sweep again: hpt attach RUN_DIR"),
    "cancel": (
        "hpt.remote.cli:cmd_cancel",
        "stop a remote sweep, keeping its results: hpt cancel RUN_DIR",
    ),
    "status": (
        "hpt.remote.cli:cmd_status",
        "where a sweep stands (remote or local): hpt status RUN_DIR",
    ),
    "report": ("hpt.report:cmd_report", "write RUN_DIR/report.html (also while the sweep runs)"),
    "runs": ("hpt.history:cmd_runs", "list past sweeps: hpt runs [--root outputs]"),
    "show": ("hpt.history:cmd_show", "summarise a sweep: hpt show RUN_DIR"),
    "best": ("hpt.history:cmd_best", "the best params and the overrides that re-run them"),
    "compare": ("hpt.history:cmd_compare", "two sweeps side by side: hpt compare A B"),
}

log = logging.getLogger("hpt")


def debug() -> bool:
    return os.environ.get("HPT_DEBUG", "") not in ("", "0", "false")


def _first_line(text: str) -> str:
    return " ".join(line.strip() for line in text.strip().splitlines()[:1])


def one_line(err: BaseException) -> str:
    """A single-line message for a composition or validation error (ours or Hydra's/OmegaConf's)."""
    if isinstance(err, ConfigError | HptError):
        return str(err)
    text = str(err)
    missing = re.search(r"Could not find '([^']+)/([^']+)'", text)
    if missing:
        group, option = missing.groups()
        options = re.findall(r"^\t(\S+)$", text, flags=re.MULTILINE)
        hint = f"; available: {', '.join(options)}" if options else ""
        return f"{group}={option}: no such option in conf/{group}/{hint}"
    missing_primary = re.search(r"Cannot find primary config '([^']+)'", text)
    if missing_primary:
        return f"experiment config {missing_primary.group(1)!r} not found; check --config-name"
    parsing = re.match(r"Error parsing override '([^=']+)=(.*)'", _first_line(text))
    if parsing:
        key, value = parsing.groups()
        return (
            f"{key}: cannot parse the value {value!r}; put it in quotes the shell keeps, "
            f"e.g. {key}=\"'{value}'\""
        )
    cause = err.__cause__ or err.__context__
    full_key = re.search(r"full_key: (\S+)", text) or (
        cause and re.search(r"full_key: (\S+)", str(cause))
    )
    head = _first_line(text)
    if "Could not override" in head or "Could not append" in head:
        key_match = re.search(r"'([^']+)'", head)
        key = key_match.group(1) if key_match else "override"
        reason = _first_line(str(cause)) if cause else ""
        if "not in struct" in reason or "Key '" in reason:
            return f"{key}: no such key; check the spelling, or add a new key with +{key}=..."
        return f"{key}: {reason or head}"
    merging = re.match(r"Error merging override (\S+?)=(.*)", head)
    if merging:
        key, value = merging.groups()
        reason = _first_line(str(cause)) if cause else "invalid value"
        return f"{key}: {reason}; give a value of the right type (got {value!r})"
    if full_key:
        return f"{full_key.group(1)}: {head}"
    return head


def fail(err: BaseException, code: int = EXIT_USAGE) -> int:
    """Print ``err`` as hpt's one-line error (or raise it with ``HPT_DEBUG=1``)."""
    if debug():
        raise err
    sys.stderr.write(f"hpt: error: {one_line(err)}\n")
    sys.stderr.flush()
    return code


# -- overrides ----------------------------------------------------------------------------------
_EXPRESSION = re.compile(r"^([+~]{0,2}search_space\.[\w.]+)=\s*([A-Za-z_]\w*\s*\(.*\))\s*$")


def quote_expressions(overrides: Sequence[str]) -> list[str]:
    """Quote search-space expressions for Hydra: ``search_space.x=uniform(1, 9)`` (what bash
    passes for ``search_space.x='uniform(1, 9)'``) becomes ``search_space.x='uniform(1, 9)'``.

    Only values under ``search_space.`` whose function is one of the space's distributions are
    touched, so Hydra's own sweep functions elsewhere (``sampler=choice(grid,random)``) keep their
    meaning. Under ``search_space.``, ``choice(...)`` is always the distribution, never a Hydra
    sweep.
    """
    from hpt.space import DISTRIBUTIONS

    out = []
    for override in overrides:
        match = _EXPRESSION.match(override)
        name = match.group(2).split("(", 1)[0].strip() if match else ""
        if match and name in DISTRIBUTIONS:
            value = match.group(2).replace("\\", "\\\\").replace("'", "\\'")
            override = f"{match.group(1)}='{value}'"
        out.append(override)
    return out


def _job_overrides(overrides: list[str], multirun: bool) -> list[list[str]]:
    """Expand sweep syntax (``sampler=grid,random``) into one override list per job."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    if not multirun:
        sweeps = [o.input_line or "" for o in parsed if o.is_sweep_override()]
        if sweeps:
            raise ConfigError(
                sweeps[0].split("=")[0],
                f"{sweeps[0]!r} is a sweep; run it with hpt -m (multirun), or give one value",
            )
        return [overrides]
    batches = BasicSweeper.split_arguments(parsed, None)
    return [list(job) for batch in batches for job in batch]


def _explicit_run_dir(overrides: list[str]) -> Path | None:
    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+") == "hydra.run.dir" and value and "${" not in value:
            return Path(value.strip("'\""))
    return None


def _claim_explicit_run_dir(path: Path) -> None:
    """An explicit ``hydra.run.dir`` must be writable and free: take its writer lock now, before
    Hydra writes ``.hydra/`` into it (the sweep reuses this process's lock)."""
    from hpt.journal import read_journal
    from hpt.rundir import ensure_dir
    from hpt.session import held_lock

    ensure_dir(path)
    held_lock(path)
    if read_journal(path):
        raise HptError(f"{path} already holds a sweep; continue it with: hpt resume {path}")


def validate_config(cfg: DictConfig) -> Any:
    """Every check a sweep makes before starting; returns the built :class:`Experiment`."""
    from hpt.experiment import Experiment

    return Experiment.from_config(cfg)


def _precheck(overrides: list[str], multirun: bool) -> list[Any]:
    from hpt.secrets import check_overrides

    check_overrides(overrides)
    return [validate_config(compose(job)) for job in _job_overrides(overrides, multirun)]


def _parse_hydra_args(argv: Sequence[str]) -> argparse.Namespace:
    from hydra._internal.utils import get_args_parser

    return get_args_parser().parse_args(list(argv))


def _use_config_dir(argv: list[str]) -> list[str]:
    """``--config-dir DIR`` (or ``-cd DIR``) becomes ``HPT_CONFIG_DIR``: the user's configs are put
    before the built-in ones (Hydra's own flag would only append them)."""
    out: list[str] = []
    items = iter(argv)
    for arg in items:
        if arg in ("--config-dir", "-cd"):
            value = next(items, None)
            if value is None:
                raise ConfigError("--config-dir", "needs a directory; e.g. --config-dir conf")
        elif arg.startswith("--config-dir="):
            value = arg.split("=", 1)[1]
        else:
            out.append(arg)
            continue
        if not Path(value).is_dir():
            raise ConfigError("--config-dir", f"{value!r} is not a directory; check the path")
        os.environ[ENV_CONFIG_DIR] = str(Path(value).resolve())
    return out


# -- the Hydra task ----------------------------------------------------------------------------
def _task(cfg: DictConfig) -> Any:
    from hydra.core.hydra_config import HydraConfig

    from hpt.api import tune
    from hpt.progress import quiet_console

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    quiet_console()  # -q: Hydra has just set up the console's log handler
    try:
        result = tune(cfg, run_dir)
    except SweepAborted as err:
        sys.stderr.write(f"hpt: sweep aborted: {err}\nhpt: results so far are in {run_dir}\n")
        sys.exit(EXIT_ABORTED)
    except (ConfigError, HptError) as err:
        from hpt.rundir import RunDirBusy

        if not isinstance(err, RunDirBusy):
            with contextlib.suppress(OSError):
                (run_dir / "FAILED").write_text(f"{one_line(err)}\n")
        sys.exit(fail(err))
    except KeyboardInterrupt as err:
        from hpt.remote import Detached

        hint = str(err) if isinstance(err, Detached) else f"continue with: hpt resume {run_dir}"
        sys.stderr.write(f"hpt: interrupted; {hint}\n")
        sys.exit(EXIT_INTERRUPTED)
    print_summary(result)
    return result.best_score_


def print_summary(result: Any) -> None:
    print(f"sweep finished: {result.end_reason}")
    if result.best_params_ is not None:
        print(f"best {result.metric}: {result.best_score_:.5f} (trial {result.best_trial_id})")
        print(f"best params: {result.best_params_}")
    else:
        print("no trial completed")
    print(f"output dir: {result.run_dir.resolve()}")


def _run_hydra(argv: list[str]) -> int:
    import hydra

    register()
    entry: Callable[[], Any] = hydra.main(
        version_base="1.3", config_path=str(packaged_conf_dir()), config_name=CONFIG_NAME
    )(_task)
    saved = sys.argv
    sys.argv = [saved[0] if saved else "hpt", *argv]
    try:
        entry()
    finally:
        sys.argv = saved
    return 0


def _console_flags(argv: list[str]) -> list[str]:
    """``-q``/``--quiet`` and ``-v``/``--verbose`` set the console's verbosity (Hydra has neither)."""
    from hpt.progress import configure_console

    verbosity = 0
    rest = []
    for arg in argv:
        if arg in ("-q", "--quiet"):
            verbosity = -1
        elif arg in ("-v", "--verbose"):
            verbosity = 1
        else:
            rest.append(arg)
    configure_console(verbosity)
    return rest


def cmd_run(argv: list[str]) -> int:
    """``hpt [overrides]``: check everything, then hand over to Hydra to run the sweep."""
    argv = _console_flags(argv)
    try:
        argv = quote_expressions(_use_config_dir(argv))
        args = _parse_hydra_args(argv)
        info_mode = args.help or args.hydra_help or args.cfg or args.info or args.shell_completion
        if not info_mode and not args.config_path and not args.config_name:
            _precheck(list(args.overrides), bool(args.multirun))
            explicit = None if args.multirun else _explicit_run_dir(list(args.overrides))
            if explicit is not None:
                _claim_explicit_run_dir(explicit)
    except SweepAborted as err:
        return fail(err, EXIT_ABORTED)
    except Exception as err:  # composition/validation: one line, nothing created
        return fail(err)
    return _run_hydra(argv)


def cmd_validate(argv: list[str]) -> int:
    """``hpt validate [overrides]``: every check of a sweep, and its plan; launches nothing."""
    from hpt.data import check_dataset

    try:
        argv = quote_expressions(_use_config_dir(argv))
        args = _parse_hydra_args(argv)
        experiments = _precheck(list(args.overrides), bool(args.multirun))
        for i, exp in enumerate(experiments):
            if len(experiments) > 1:
                print(f"== job {i}")
            if exp.kind.needs_dataset:
                check_dataset(exp.cfg.dataset, exp.cfg.features)
            for line in exp.plan():
                print(line)
    except Exception as err:
        return fail(err)
    print("config OK: nothing was launched")
    return 0


def _resume_parser(name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"hpt {name}")
    parser.add_argument("run_dir")
    parser.add_argument(
        "--force", action="store_true", help="accept config changes that alter results"
    )
    parser.add_argument("--extend", type=int, default=None, help="add N trials to the budget")
    parser.add_argument("overrides", nargs="*", help="key=value changes, e.g. compute=spark")
    return parser


def _resume(argv: list[str], *, rerun_failed: bool) -> int:
    from hpt.api import resume

    args = _resume_parser("rerun-failed" if rerun_failed else "resume").parse_intermixed_args(argv)
    register()
    setup_console_logging()
    try:
        result = resume(
            args.run_dir,
            overrides=quote_expressions(list(args.overrides)),
            force=args.force,
            extend=args.extend,
            rerun_failed=rerun_failed,
        )
    except SweepAborted as err:
        sys.stderr.write(f"hpt: sweep aborted: {err}\n")
        return EXIT_ABORTED
    except KeyboardInterrupt as err:
        from hpt.remote import Detached

        hint = (
            str(err) if isinstance(err, Detached) else f"continue with: hpt resume {args.run_dir}"
        )
        sys.stderr.write(f"hpt: interrupted; {hint}\n")
        return EXIT_INTERRUPTED
    except (ConfigError, HptError) as err:
        return fail(err)
    if result is not None:
        print_summary(result)
    return 0


def cmd_resume(argv: list[str]) -> int:
    return _resume(argv, rerun_failed=False)


def cmd_rerun_failed(argv: list[str]) -> int:
    return _resume(argv, rerun_failed=True)


def cmd_help(argv: list[str]) -> int:
    print("usage: hpt [overrides]         run a sweep (hpt --help: Hydra's options)")
    for name, (_, text) in sorted(COMMANDS.items()):
        print(f"       hpt {name:<18} {text}")
    return 0


def setup_console_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hpt`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        module, _, function = COMMANDS[args[0]][0].partition(":")
        handler: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
        return handler(args[1:])
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
