"""Run the real ``hpt`` command in a subprocess, in a scratch working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str


def run_hpt(
    args: list[str], cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> Completed:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("HPT_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "hpt.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def run_dirs(cwd: Path) -> list[Path]:
    """Every sweep dir (one holding a journal) under ``cwd/outputs``."""
    return sorted(p.parent for p in (cwd / "outputs").rglob("journal.jsonl"))
