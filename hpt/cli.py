"""The ``hpt`` command.

* ``hpt [overrides]`` / ``hpt -m [sweeps]`` -- run a sweep (a Hydra app over ``conf/``);
* ``hpt validate [overrides]`` -- check everything and print the plan; launches nothing;
* ``hpt resume RUN_DIR [--force] [--extend N] [overrides]`` -- continue an interrupted sweep;
* ``hpt rerun-failed RUN_DIR`` -- run the failed trials of a sweep again.

User mistakes print one line ``hpt: error: <key>: <problem>; <fix>`` and exit 2, before any run dir
is created. ``HPT_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hpt.errors import ConfigError, HptError, SweepAborted

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
CONFIG_NAME = "config"
SUBCOMMANDS = ("validate", "resume", "rerun-failed")

EXIT_ABORTED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

log = logging.getLogger("hpt")
_unique_dirs: dict[str, str] = {}


def _unique_dir(path: str) -> str:
    """Resolver ``${hpt_unique:...}``: the path, or ``path-1``, ``path-2``... if taken.

    Memoised per process: Hydra resolves ``hydra.run.dir`` more than once, and every resolution in
    one sweep must give the same answer.
    """
    if path not in _unique_dirs:
        from hpt.api import claim_dir

        _unique_dirs[path] = str(claim_dir(Path(path)))
    return _unique_dirs[path]


def _register() -> None:
    from hpt.config import register_schemas

    register_schemas()
    if not OmegaConf.has_resolver("hpt_unique"):
        OmegaConf.register_new_resolver("hpt_unique", _unique_dir)


def debug() -> bool:
    return os.environ.get("HPT_DEBUG", "") not in ("", "0", "false")


def _first_line(text: str) -> str:
    return " ".join(line.strip() for line in text.strip().splitlines()[:1])


def one_line(err: BaseException) -> str:
    """A single-line message for a composition or validation error (ours or Hydra's/OmegaConf's)."""
    if isinstance(err, ConfigError):
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


def _parse_hydra_args(argv: Sequence[str]) -> argparse.Namespace:
    from hydra._internal.utils import get_args_parser

    return get_args_parser().parse_args(list(argv))


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


def compose(overrides: Sequence[str]) -> DictConfig:
    """Compose ``conf/config.yaml`` with ``overrides`` the way ``hpt`` does (no run dir)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    _register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="hpt"):
        return hydra_compose(config_name=CONFIG_NAME, overrides=list(overrides))


def validate_config(cfg: DictConfig) -> Any:
    """Every check a sweep makes before starting; returns the built :class:`Experiment`."""
    from hpt.experiment import Experiment

    return Experiment.from_config(cfg)


def _fail(err: BaseException, code: int = EXIT_USAGE) -> int:
    if debug():
        raise err
    sys.stderr.write(f"hpt: error: {one_line(err)}\n")
    sys.stderr.flush()
    return code


def _precheck(overrides: list[str], multirun: bool) -> list[Any]:
    from hpt.secrets import check_overrides

    check_overrides(overrides)
    experiments = []
    for job in _job_overrides(overrides, multirun):
        experiments.append(validate_config(compose(job)))
    return experiments


# -- the Hydra task ----------------------------------------------------------------------------
def _task(cfg: DictConfig) -> Any:
    from hydra.core.hydra_config import HydraConfig

    from hpt.api import tune

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        result = tune(cfg, run_dir)
    except SweepAborted as err:
        sys.stderr.write(f"hpt: sweep aborted: {err}\nhpt: results so far are in {run_dir}\n")
        sys.exit(EXIT_ABORTED)
    except (ConfigError, HptError) as err:
        (run_dir / "FAILED").write_text(f"{one_line(err)}\n")
        sys.exit(_fail(err))
    except KeyboardInterrupt:
        sys.stderr.write(f"hpt: interrupted; continue with: hpt resume {run_dir}\n")
        sys.exit(EXIT_INTERRUPTED)
    _print_summary(result)
    return result.best_score_


def _print_summary(result: Any) -> None:
    print(f"sweep finished: {result.end_reason}")
    if result.best_params_ is not None:
        print(f"best {result.metric}: {result.best_score_:.5f} (trial {result.best_trial_id})")
        print(f"best params: {result.best_params_}")
    else:
        print("no trial completed")
    print(f"output dir: {result.run_dir.resolve()}")


def _run_hydra(argv: list[str]) -> int:
    import hydra

    _register()
    entry: Callable[[], Any] = hydra.main(
        version_base="1.3", config_path=str(CONF_DIR), config_name=CONFIG_NAME
    )(_task)
    saved = sys.argv
    sys.argv = [saved[0] if saved else "hpt", *argv]
    try:
        entry()
    finally:
        sys.argv = saved
    return 0


def _cmd_run(argv: list[str]) -> int:
    args = _parse_hydra_args(argv)
    info_mode = args.help or args.hydra_help or args.cfg or args.info or args.shell_completion
    if not info_mode and not args.config_dir and not args.config_path and not args.config_name:
        try:
            _precheck(list(args.overrides), bool(args.multirun))
        except SweepAborted as err:
            return _fail(err, EXIT_ABORTED)
        except Exception as err:  # composition/validation: one line, nothing created
            return _fail(err)
    return _run_hydra(argv)


def _cmd_validate(argv: list[str]) -> int:
    args = _parse_hydra_args(argv)
    try:
        experiments = _precheck(list(args.overrides), bool(args.multirun))
    except Exception as err:
        return _fail(err)
    for i, exp in enumerate(experiments):
        if len(experiments) > 1:
            print(f"== job {i}")
        from hpt.data import check_dataset

        if exp.trainer_kind == "cv":
            check_dataset(exp.cfg.dataset, exp.cfg.features)
        for line in exp.plan():
            print(line)
    print("config OK: nothing was launched")
    return 0


def _cmd_resume(argv: list[str], *, rerun_failed: bool = False) -> int:
    from hpt.api import resume

    parser = argparse.ArgumentParser(prog=f"hpt {'rerun-failed' if rerun_failed else 'resume'}")
    parser.add_argument("run_dir")
    parser.add_argument(
        "--force", action="store_true", help="accept config changes that alter results"
    )
    parser.add_argument("--extend", type=int, default=None, help="add N trials to the budget")
    parser.add_argument("overrides", nargs="*", help="key=value changes, e.g. compute=spark")
    args = parser.parse_intermixed_args(argv)
    _register()
    _setup_console_logging()
    try:
        result = resume(
            args.run_dir,
            overrides=list(args.overrides),
            force=args.force,
            extend=args.extend,
            rerun_failed=rerun_failed,
        )
    except SweepAborted as err:
        sys.stderr.write(f"hpt: sweep aborted: {err}\n")
        return EXIT_ABORTED
    except KeyboardInterrupt:
        sys.stderr.write(f"hpt: interrupted; continue with: hpt resume {args.run_dir}\n")
        return EXIT_INTERRUPTED
    except Exception as err:
        if isinstance(err, ConfigError | HptError) or not debug():
            if not isinstance(err, ConfigError | HptError):
                raise
            return _fail(err)
        raise
    if result is not None:
        _print_summary(result)
    return 0


def _setup_console_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hpt`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "validate":
        return _cmd_validate(args[1:])
    if args and args[0] == "resume":
        return _cmd_resume(args[1:])
    if args and args[0] == "rerun-failed":
        return _cmd_resume(args[1:], rerun_failed=True)
    if args and args[0] == "data":
        from hpt.data._cli import main as data_main

        return data_main(args[1:])
    return _cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
