"""Run directories: claiming a new one, and the one-writer lock of an existing one.

A sweep, ``hpt resume`` and ``hpt rerun-failed`` hold :class:`RunDirLock` on their run dir for as
long as they write it. The lock is an ``flock`` on ``run_dir/.hpt.lock``, so the kernel releases it
when its holder dies, however it dies (SIGKILL included): the next writer takes it over without
any stale-lock guesswork. The file also says who holds it (pid, host, since when, the command), for
the refusal message and for ``hpt status``. Readers (``hpt validate``, reports, the remote mirror)
never take the lock and never write the journal.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from hpt.errors import HptError

LOCK_NAME = ".hpt.lock"


class RunDirBusy(HptError):
    """Another process holds the run dir's lock."""


class OutputDirError(HptError):
    """The run dir cannot be created or written."""


def describe_os_error(err: OSError, path: Path) -> str:
    """One line for an OS error on ``path`` that says what to do."""
    reason = os.strerror(err.errno) if err.errno else str(err)
    if err.errno == errno.ENOSPC:
        fix = "free some space (or point hydra.run.dir at another disk)"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a directory you can write, e.g. hydra.run.dir=outputs/mine"
    else:
        fix = "choose another directory with hydra.run.dir=..."
    return f"cannot write the output dir {str(path)!r}: {reason}; {fix}"


def claim_dir(base: Path) -> Path:
    """Create and return ``base``, or ``base-1``, ``base-2``, ... if it exists (atomic claim)."""
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        candidate, n = base, 0
        while True:
            try:
                candidate.mkdir()  # atomic: two sweeps in the same second get different dirs
                return candidate
            except FileExistsError:
                n += 1
                candidate = base.with_name(f"{base.name}-{n}")
    except OSError as err:
        raise OutputDirError(describe_os_error(err, base)) from None


def new_run_dir(root: str | os.PathLike[str] = "outputs") -> Path:
    """``root/YYYY-MM-DD/HH-MM-SS``, suffixed ``-1``, ``-2``, ... if a sweep already took it."""
    now = datetime.now()
    return claim_dir(Path(root) / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S"))


def ensure_dir(path: Path) -> Path:
    """``path`` created (with its parents) and writable, or :class:`OutputDirError`."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".hpt-write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise OutputDirError(describe_os_error(err, path)) from None
    return path


def lock_holder(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Who holds ``run_dir``'s lock now (pid, host, since, command), or ``None`` if nobody."""
    path = Path(run_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or {"pid": None, "host": None, "since": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        data = os.pread(fd, 4096, 0)
        holder = json.loads(data)
        if isinstance(holder, dict):
            return holder
    return None


def _holder_text(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another process"
    since = holder.get("since")
    when = (
        datetime.fromtimestamp(float(since)).strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(since, int | float)
        else "?"
    )
    return (
        f"pid {holder.get('pid')} on {holder.get('host')} (since {when}: {holder.get('command')})"
    )


class RunDirLock:
    """The exclusive writer's lock of a run dir. Use as a context manager or acquire/release.

    ``acquire`` never blocks: a run dir another process writes is refused with
    :class:`RunDirBusy` naming the holder and what to do.
    """

    def __init__(self, run_dir: str | os.PathLike[str], purpose: str = "sweep") -> None:
        self.run_dir = Path(run_dir)
        self.purpose = purpose
        self._fd: int | None = None

    def acquire(self) -> RunDirLock:
        path = self.run_dir / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise OutputDirError(describe_os_error(err, self.run_dir)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunDirBusy(
                f"{self.run_dir} is being written by {_holder_text(holder)}; wait for it to end "
                f"(hpt status {self.run_dir}) or stop it first, then run hpt resume {self.run_dir}"
            ) from None
        # Whatever the file still says is stale: the kernel released the lock, so its holder is
        # gone (killed, or its machine lost). Overwrite it with ourselves.
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": round(time.time(), 3),
            "command": " ".join([os.path.basename(sys.argv[0] or "python"), *sys.argv[1:]])[:300],
            "purpose": self.purpose,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
