"""One SSH connection to the remote machine (fabric/paramiko), with host-key checking, timeouts
and reconnection.

* Host keys are checked against the configured ``known_hosts`` only: an unknown host is refused
  with the one command that trusts it (fabric's default would add it silently), a changed key is
  refused too.
* Every connect and every command has a timeout.
* Authentication by key file, or by a password read from an environment variable named in the
  settings; the password exists only in this process's memory.
* :meth:`Ssh.retrying` re-runs an operation across dropped connections with exponential backoff.
"""

from __future__ import annotations

import logging
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hpt.errors import ConfigError, HptError

log = logging.getLogger("hpt")

T = TypeVar("T")


class Unreachable(HptError):
    """The remote machine could not be reached (within the reconnect budget)."""


@dataclass(frozen=True)
class SshSettings:
    host: str
    port: int
    user: str
    known_hosts: str
    key_file: str | None = None
    password_env: str | None = None
    connect_timeout: float = 15.0
    command_timeout: float = 60.0
    reconnect_seconds: float = 600.0

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def trust_command(self) -> str:
        return f"ssh-keyscan -p {self.port} {self.host} >> {self.known_hosts}"


def _fabric() -> Any:
    try:
        import fabric
    except ImportError:
        raise ConfigError(
            "compute", "the SSH target needs fabric; install it with: pip install 'hpt[remote]'"
        ) from None
    return fabric


def _transient_errors() -> tuple[type[BaseException], ...]:
    import paramiko
    from invoke.exceptions import CommandTimedOut

    return (OSError, EOFError, paramiko.SSHException, CommandTimedOut)


class Ssh:
    """A lazily opened, re-openable connection to ``settings.host``."""

    def __init__(self, settings: SshSettings) -> None:
        self.settings = settings
        self._conn: Any = None
        self._sftp: Any = None

    # -- connecting ------------------------------------------------------------------------------
    def _connect(self) -> Any:
        import paramiko

        s = self.settings
        fabric = _fabric()
        logging.getLogger("paramiko").setLevel(logging.WARNING)  # not one line per connection
        known = Path(s.known_hosts).expanduser()
        if not known.is_file():
            raise ConfigError(
                "compute.known_hosts",
                f"{str(known)!r} does not exist, so {s.host} cannot be checked; trust the host "
                f"with: {s.trust_command()}",
            )
        kwargs: dict[str, Any] = {
            "look_for_keys": False,
            "allow_agent": False,
            "banner_timeout": s.connect_timeout,
            "auth_timeout": s.connect_timeout,
        }
        if s.key_file:
            kwargs["key_filename"] = str(Path(s.key_file).expanduser())
        if s.password_env:
            password = os.environ.get(s.password_env)
            if not password:
                raise ConfigError(
                    "compute.password_env",
                    f"the environment variable {s.password_env} is not set; export it (the "
                    "password is read from there only)",
                )
            kwargs["password"] = password
        config = fabric.Config(overrides={"load_ssh_configs": False})
        conn = fabric.Connection(
            s.host,
            user=s.user,
            port=s.port,
            config=config,
            connect_timeout=max(1, round(s.connect_timeout)),
            connect_kwargs=kwargs,
        )
        conn.client.load_host_keys(str(known))  # only these keys; a new host is never added
        conn.client.set_missing_host_key_policy(_refuse_unknown(s))
        try:
            conn.open()
        except paramiko.BadHostKeyException:
            raise ConfigError(
                "compute.host",
                f"the host key of {s.host}:{s.port} differs from the one in {s.known_hosts}; if "
                "the machine was rebuilt, remove its old line there and trust it again with: "
                f"{s.trust_command()}",
            ) from None
        except paramiko.AuthenticationException:
            how = f"key file {s.key_file}" if s.key_file else f"the password in ${s.password_env}"
            raise ConfigError(
                "compute.user",
                f"{s.where} refused {how}; check compute.user, compute.key_file or "
                "compute.password_env",
            ) from None
        return conn

    def connection(self) -> Any:
        if self._conn is None or not self._conn.is_connected:
            self.close()
            self._conn = self._connect()
        return self._conn

    def sftp(self) -> Any:
        if self._sftp is None:
            self._sftp = self.connection().sftp()
            self._sftp.get_channel().settimeout(self.settings.command_timeout)
        return self._sftp

    def close(self) -> None:
        for thing in (self._sftp, self._conn):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # a dead connection may fail to close; it is gone either way
                    log.debug("closing the SSH connection failed", exc_info=True)
        self._sftp = None
        self._conn = None

    # -- commands --------------------------------------------------------------------------------
    def run(self, command: str, *, timeout: float | None = None) -> tuple[int, str, str]:
        """Run ``command`` in the remote shell; returns (exit code, stdout, stderr)."""
        result = self.connection().run(
            command,
            hide=True,
            warn=True,
            in_stream=False,
            timeout=timeout or self.settings.command_timeout,
        )
        return int(result.exited), str(result.stdout), str(result.stderr)

    def check(self, command: str, *, timeout: float | None = None, what: str = "") -> str:
        """Run ``command``; its stdout, or :class:`HptError` with its stderr when it fails."""
        code, out, err = self.run(command, timeout=timeout)
        if code != 0:
            detail = (err.strip() or out.strip()).splitlines()[-3:]
            raise HptError(
                f"{what or 'a remote command'} failed on {self.settings.host} (exit {code}): "
                + " | ".join(detail)
            )
        return out

    def write_private(self, path: str, data: bytes) -> None:
        """Write ``data`` to the remote ``path``, readable by the remote user only (0600 from the
        start: the file is created empty under umask 077 before anything is written)."""
        self.check(f"umask 077 && : > {shlex.quote(path)}", what="creating a private file")
        with self.sftp().open(path, "wb") as handle:
            handle.write(data)

    def retrying(self, what: str, operation: Callable[[], T]) -> T:
        """``operation()``, retried with backoff while the connection drops (up to
        ``reconnect_seconds``); configuration errors are not retried."""
        transient = _transient_errors()
        deadline = time.monotonic() + self.settings.reconnect_seconds
        delay = 0.5
        while True:
            try:
                return operation()
            except ConfigError:
                raise
            except transient as err:
                self.close()
                if time.monotonic() + delay > deadline:
                    raise Unreachable(
                        f"cannot reach {self.settings.where} ({type(err).__name__}: {err}) while "
                        f"{what}; gave up after {self.settings.reconnect_seconds:.0f} s"
                    ) from None
                log.warning(
                    "connection to %s lost while %s (%s: %s); retrying in %.1f s",
                    self.settings.host,
                    what,
                    type(err).__name__,
                    err,
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, 15.0)


class UnknownHost(ConfigError):
    """The host's key is not in known_hosts."""


def _refuse_unknown(settings: SshSettings) -> Any:
    """paramiko's RejectPolicy, failing with the command that trusts the host."""
    import paramiko

    class RefuseUnknown(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            raise UnknownHost(
                "compute.host",
                f"{hostname} is not in {settings.known_hosts}, so hpt will not connect; if it is "
                f"your machine, trust it with: {settings.trust_command()}",
            )

    return RefuseUnknown()
