"""What the sweep ran with: Python, the libraries that decide results, hpt's git revision, the host.

:func:`record_environment` appends one entry per session to ``run_dir/environment.json`` (a
resume may run on another machine or with other versions); the report shows them all.
"""

from __future__ import annotations

import contextlib
import json
import platform
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ENVIRONMENT_NAME = "environment.json"
PACKAGES = (
    "hpt",
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "xgboost",
    "lightgbm",
    "pyspark",
    "hydra-core",
    "omegaconf",
    "mlflow",
)


def git_revision(path: Path) -> str | None:
    """``<commit>`` (``+dirty`` when the tree has changes) of the git checkout holding ``path``."""
    try:
        head = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def collect_environment() -> dict[str, Any]:
    """This process's environment as plain JSON data."""
    versions: dict[str, str] = {}
    for name in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    import hpt

    return {
        "recorded_at": round(time.time(), 3),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "packages": versions,
        "hpt_git": git_revision(Path(hpt.__file__).resolve().parent),
        "cwd_git": git_revision(Path.cwd()),
    }


def read_environment(run_dir: Path) -> list[dict[str, Any]]:
    """The recorded sessions' environments, oldest first (empty when none was recorded)."""
    path = run_dir / ENVIRONMENT_NAME
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def record_environment(run_dir: Path) -> None:
    """Append this session's environment to ``run_dir/environment.json`` (atomically)."""
    from hpt.results import atomic_write_text

    entries = [*read_environment(run_dir), collect_environment()]
    atomic_write_text(run_dir / ENVIRONMENT_NAME, json.dumps(entries, indent=1) + "\n")
