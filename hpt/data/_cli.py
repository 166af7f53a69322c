"""``hpt data ...``: put local files into a blob container, generate TalkingData files.

::

    hpt data upload DIR_OR_FILES... --container dataset [--prefix talkingdata/] [--create-container]
    hpt data generate talkingdata --scale 1 --out DIR [--seed 0] [--compress]

Credentials for ``upload`` come from the environment only (never the command line, which ``ps``
shows): ``AZURE_STORAGE_CONNECTION_STRING``, or ``AZURE_STORAGE_ACCOUNT`` +
``AZURE_STORAGE_KEY``, or ``AZURE_STORAGE_ACCOUNT`` (or ``--account-url``) +
``AZURE_STORAGE_SAS_TOKEN``; ``--*-env`` options name other variables.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from hpt.errors import ConfigError, HptError

__all__ = ["main"]


class _Bar:
    """A one-line progress bar on stderr (redrawn at most 10 times a second)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = max(1, total)
        self.done_before = 0  # bytes of the files already finished
        self.stream = stream or sys.stderr
        self.last = 0.0
        self.started = time.monotonic()

    def update(self, name: str, current: int, total: int | None, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        done = self.done_before + current
        share = min(1.0, done / self.total)
        width = 30
        filled = round(share * width)
        rate = done / max(1e-6, now - self.started) / 1e6
        line = (
            f"\r[{'#' * filled}{'.' * (width - filled)}] {share:6.1%} "
            f"{done / 1e6:8.1f}/{self.total / 1e6:.1f} MB {rate:6.1f} MB/s  {name[-40:]}"
        )
        self.stream.write(line)
        self.stream.flush()


def _files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for text in paths:
        path = Path(text).expanduser()
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError("upload", f"no such file or directory {text!r}")
    if not files:
        raise ConfigError("upload", f"nothing to upload in {paths}")
    return files


def _service(args: argparse.Namespace) -> object:
    from hpt.data._blob import blob_service

    connection = os.environ.get(args.connection_string_env)
    key = os.environ.get(args.account_key_env)
    sas = os.environ.get(args.sas_token_env)
    account = args.account_name or os.environ.get("AZURE_STORAGE_ACCOUNT")
    if connection:
        return blob_service(connection_string=connection, key_prefix="upload.")
    if key or sas:
        return blob_service(
            account_url=args.account_url,
            account_name=account,
            account_key=key,
            sas_token=None if key else sas,
            key_prefix="upload.",
        )
    raise ConfigError(
        "upload",
        f"no credentials: export {args.connection_string_env}, or AZURE_STORAGE_ACCOUNT + "
        f"{args.account_key_env}, or {args.sas_token_env} (with --account-url or "
        "AZURE_STORAGE_ACCOUNT)",
    )


def _upload(args: argparse.Namespace) -> int:
    from hpt.data._blob import upload_files

    files = _files(args.paths)
    service = _service(args)
    bar = _Bar(sum(f.stat().st_size for f in files))
    prefix = args.prefix or ""
    names: list[str] = []
    for file in files:  # one at a time, so the bar knows the bytes already done
        names += upload_files(
            service,
            args.container,
            [file],
            prefix=prefix,
            create_container=args.create_container,
            progress=bar.update,
        )
        bar.done_before += file.stat().st_size
        bar.update(names[-1], 0, None, force=True)
    sys.stderr.write("\n")
    for name in names:
        print(f"uploaded {args.container}/{name}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from hpt.data import talkingdata

    if args.dataset != "talkingdata":
        raise ConfigError("generate", f"unknown dataset {args.dataset!r}; use talkingdata")
    if (args.scale is None) == (args.devices is None):
        raise ConfigError(
            "generate", "give exactly one of --scale S (1 = Kaggle's size) or --devices N"
        )
    out = Path(args.out).expanduser()
    started = time.monotonic()
    try:
        if args.scale is not None:
            path = talkingdata.generate_scale(
                out, args.scale, seed=args.seed, compress=args.compress, overwrite=args.overwrite
            )
        else:
            path = talkingdata.generate(
                out, args.devices, seed=args.seed, compress=args.compress, overwrite=args.overwrite
            )
    except (ValueError, FileExistsError) as err:
        raise ConfigError("generate", str(err).replace("overwrite=True", "--overwrite")) from None
    size = sum(p.stat().st_size for p in path.iterdir())
    print(f"wrote {path} ({size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hpt data", description="Data sets for hpt sweeps.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upload", help="upload local files into a blob container")
    up.add_argument("paths", nargs="+", help="files, or directories (their files)")
    up.add_argument("--container", required=True)
    up.add_argument("--prefix", default="", help="blob name prefix, e.g. talkingdata/")
    up.add_argument("--create-container", action="store_true")
    up.add_argument("--account-url", default=None, help="endpoint (Azurite, sovereign clouds)")
    up.add_argument("--account-name", default=None)
    up.add_argument("--connection-string-env", default="AZURE_STORAGE_CONNECTION_STRING")
    up.add_argument("--account-key-env", default="AZURE_STORAGE_KEY")
    up.add_argument("--sas-token-env", default="AZURE_STORAGE_SAS_TOKEN")
    gen = sub.add_parser("generate", help="write a generated dataset")
    gen.add_argument("dataset", help="talkingdata")
    gen.add_argument("--scale", type=float, default=None, help="1 = Kaggle's sizes")
    gen.add_argument("--devices", type=int, default=None, help="or: this many devices")
    gen.add_argument("--out", required=True)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--compress", action="store_true", help=".csv.zip files, as Kaggle's")
    gen.add_argument("--overwrite", action="store_true")
    return parser


def main(argv: list[str]) -> int:
    """``hpt data ARGS``; returns the exit code (2 bad input, 1 other failures)."""
    args = _parser().parse_args(argv)
    try:
        return _upload(args) if args.command == "upload" else _generate(args)
    except ConfigError as err:
        sys.stderr.write(f"hpt: error: {err}\n")
        return 2
    except HptError as err:
        sys.stderr.write(f"hpt: error: {err}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\nhpt: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
