"""The settings of ``compute=dsvm`` (conf/compute/dsvm.yaml), checked without connecting."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from hpt.errors import ConfigError
from hpt.remote._ssh import SshSettings

RUNTIMES = ("docker", "podman")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class DsvmSettings:
    """Where and how the remote sweep runs. See conf/compute/dsvm.yaml for each key's meaning."""

    host: str
    user: str
    port: int = 22
    key_file: str | None = None
    password_env: str | None = None
    known_hosts: str = "~/.ssh/known_hosts"
    runtime: str = "docker"
    image: str = "hpt-runner:latest"
    base_image: str = "python:3.11-slim"
    python: str = "python"
    work_dir: str = "/var/tmp/hpt"
    cores: int | None = None
    requirements: list[str] | None = None
    wheel: str | None = None
    pip_args: list[str] = field(default_factory=list)
    build_args: list[str] = field(default_factory=list)
    run_args: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    connect_timeout: float = 15.0
    command_timeout: float = 60.0
    build_timeout: float = 1800.0
    reconnect_minutes: float = 10.0
    poll_seconds: float = 2.0

    @classmethod
    def from_dict(cls, settings: dict[str, Any]) -> DsvmSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in settings.items() if k != "_target_"}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"compute.{unknown[0]}",
                f"is not a setting of the SSH target; the settings are {', '.join(sorted(names))}",
            )
        for key in ("host", "user"):
            if not values.get(key) or values[key] == "???":  # ??? is OmegaConf's "missing"
                raise ConfigError(f"compute.{key}", f"is required; e.g. compute.{key}=myvm")
        if "password" in values:  # never reached through the schema, but say why if it is tried
            raise ConfigError("compute.password", "use compute.password_env=VAR instead")
        for key in ("pip_args", "build_args", "run_args", "volumes", "env"):
            values[key] = [str(v) for v in values.get(key) or []]
        if values.get("requirements") is not None:
            values["requirements"] = [str(v) for v in values["requirements"]]
        try:
            result = cls(**values)
        except TypeError as err:
            raise ConfigError("compute", str(err)) from None
        result._check()
        return result

    def _check(self) -> None:
        if self.runtime not in RUNTIMES:
            raise ConfigError("compute.runtime", f"must be docker or podman, got {self.runtime!r}")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ConfigError("compute.port", f"must be a TCP port number, got {self.port!r}")
        if not self.work_dir.startswith("/"):
            raise ConfigError(
                "compute.work_dir",
                f"must be an absolute path on the remote machine, got "
                f"{self.work_dir!r}; e.g. /var/tmp/hpt",
            )
        if self.key_file is None and self.password_env is None:
            raise ConfigError(
                "compute.key_file", "set compute.key_file=PATH or compute.password_env=VAR"
            )
        for name in [*self.env, *([self.password_env] if self.password_env else [])]:
            if not _ENV_NAME.match(name):
                raise ConfigError("compute.env", f"{name!r} is not an environment variable name")
        if self.cores is not None and (not isinstance(self.cores, int) or self.cores < 1):
            raise ConfigError("compute.cores", f"must be an integer >= 1, got {self.cores!r}")
        for key in ("connect_timeout", "command_timeout", "build_timeout", "poll_seconds"):
            if float(getattr(self, key)) <= 0:
                raise ConfigError(f"compute.{key}", f"must be > 0, got {getattr(self, key)!r}")

    @property
    def work_path(self) -> str:
        return self.work_dir.rstrip("/") or "/"

    def ssh(self) -> SshSettings:
        return SshSettings(
            host=self.host,
            port=self.port,
            user=self.user,
            known_hosts=self.known_hosts,
            key_file=self.key_file,
            password_env=self.password_env,
            connect_timeout=float(self.connect_timeout),
            command_timeout=float(self.command_timeout),
            reconnect_seconds=float(self.reconnect_minutes) * 60,
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
