"""The local live copy of a remote run dir.

The remote journal only grows, and the local copy is always a byte-for-byte prefix of it (only
complete lines are copied), so the local file's size is the offset to read from next: nothing is
copied twice, and an interrupted mirror picks up where its file ends. The other files are copied
once the remote sweep has ended.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from hpt.journal import JOURNAL_NAME
from hpt.remote._ssh import Ssh

# Remote files the mirror never copies: the journal (mirrored line by line), the config (the local
# one names the remote target, the shipped one compute=local), the lock and the shipped inputs.
_NOT_COPIED = {JOURNAL_NAME, "hpt_config.yaml", ".hpt.lock", "inputs"}
# The remote driver's log keeps its own name: the local hpt.log is this process's (Hydra's) log.
_RENAMED = {"hpt.log": "hpt.remote.log"}


def pull_journal(ssh: Ssh, remote_dir: str, local_dir: Path) -> list[dict[str, Any]]:
    """Append the remote journal's new complete lines to the local copy; return their events."""
    local = local_dir / JOURNAL_NAME
    offset = local.stat().st_size if local.exists() else 0
    sftp = ssh.sftp()
    remote = f"{remote_dir}/{JOURNAL_NAME}"
    try:
        size = sftp.stat(remote).st_size
    except FileNotFoundError:
        return []
    if size is None or size <= offset:
        return []
    with sftp.open(remote, "rb") as handle:
        handle.seek(offset)
        data = handle.read(size - offset)
    end = data.rfind(b"\n")
    if end < 0:
        return []  # the remote writer is mid-line; take it next time
    data = data[: end + 1]
    with open(local, "ab") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def read_remote_journal(ssh: Ssh, remote_dir: str) -> list[dict[str, Any]]:
    """The whole remote journal's complete events (for ``hpt status``; writes nothing)."""
    try:
        with ssh.sftp().open(f"{remote_dir}/{JOURNAL_NAME}", "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return []
    events = []
    for line in data[: data.rfind(b"\n") + 1].splitlines():
        if line.strip():
            events.append(json.loads(line))
    return events


def fetch_results(ssh: Ssh, remote_dir: str, local_dir: Path) -> list[str]:
    """Copy every remote result file (tables, model, logs, trial dirs) into ``local_dir``, each
    replaced atomically; returns the relative paths copied."""
    sftp = ssh.sftp()
    copied: list[str] = []
    pending = [PurePosixPath(".")]
    while pending:
        relative = pending.pop()
        for entry in sftp.listdir_attr(f"{remote_dir}/{relative}"):
            name = entry.filename
            path = relative / name
            if str(relative) == "." and (name in _NOT_COPIED or name.startswith(".env")):
                continue
            if stat.S_ISDIR(entry.st_mode or 0):
                pending.append(path)
                continue
            local_name = _RENAMED.get(str(path), str(path))
            target = local_dir / local_name
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            sftp.get(f"{remote_dir}/{path}", str(partial))
            os.replace(partial, target)
            copied.append(local_name)
    return sorted(copied)
