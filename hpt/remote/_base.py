"""The remote-target interface: a compute target that takes the whole sweep, not single trials.

A :class:`hpt.launcher.Launcher` runs trial attempts for a driver in this process. A
:class:`RemoteTarget` instead runs the driver itself elsewhere (a container on a VM), detached, so
the sweep survives this process; this process keeps a live mirror of the remote run dir. ``tune``
and ``resume`` hand the sweep over when ``compute._target_`` is a subclass; ``hpt attach``,
``hpt cancel`` and ``hpt status`` find the target again from the run dir's :data:`REMOTE_FILE`.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from hpt.errors import ConfigError, HptError

if TYPE_CHECKING:
    from hpt.experiment import Experiment
    from hpt.session import TuneResult

#: Written into the local run dir at submission: which target holds the sweep and where.
REMOTE_FILE = "remote.json"


class Detached(KeyboardInterrupt):
    """Ctrl-C while mirroring a remote sweep: this process stops watching, the sweep goes on.

    A :class:`KeyboardInterrupt` so that code which cleans up on interrupts still does; its message
    says how to come back (``hpt attach RUN_DIR``).
    """


class RemoteDied(HptError):
    """The remote sweep's process ended without finishing the sweep (its last log lines included);
    the results so far are in the local run dir and ``hpt resume`` continues it."""


@dataclass
class RemoteStatus:
    """Where a remote sweep stands, as ``hpt status`` prints it."""

    state: str  # running | finished | aborted | died | cancelled | unknown
    detail: str = ""
    trials_done: int = 0
    trials_planned: int | None = None
    best: dict[str, Any] | None = None
    log_tail: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        planned = f"/{self.trials_planned}" if self.trials_planned else ""
        out = [f"state: {self.state}" + (f" ({self.detail})" if self.detail else "")]
        out.append(f"trials done: {self.trials_done}{planned}")
        if self.best:
            out.append(
                f"best {self.best['metric']}: {self.best['value']:.5f} "
                f"(trial {self.best['trial_id']}, {self.best['params']})"
            )
        out += [f"  | {line}" for line in self.log_tail]
        return out


class RemoteTarget(ABC):
    """A compute target that runs a whole sweep elsewhere and mirrors it into the local run dir.

    Contract:

    * ``submit(cfg, exp, run_dir)`` ships the sweep, starts it detached, then mirrors it until it
      ends and returns the :class:`hpt.session.TuneResult` built from the mirrored run dir, which
      then holds the same files as a local run's (plus :data:`REMOTE_FILE`). The remote side is the
      only writer of the remote run dir; the mirror holds the local run dir's writer lock while it
      writes its copy. Ctrl-C raises :class:`Detached` and leaves the sweep running.
    * ``attach(run_dir)`` mirrors again from where the local copy ends (never re-copies it).
    * ``status(run_dir)`` reads only; ``cancel(run_dir)`` stops the remote sweep, keeping (and
      mirroring) the results so far.
    * ``resume(run_dir, ...)`` continues a sweep that is no longer running (same options as
      :func:`hpt.api.resume`), remotely.
    * A sweep that ends badly remotely raises :class:`RemoteDied` (or
      :class:`hpt.errors.SweepAborted` when the sweep itself aborted), after mirroring.
    * Secrets (``${oc.env:VAR}`` values, passwords) are never written to a file, a log or a command
      line; they travel in the environment.
    """

    @classmethod  # noqa: B027 - optional hook
    def preflight(cls, settings: dict[str, Any]) -> None:
        """Check the ``compute`` settings cheaply (no connection); :class:`ConfigError` if bad."""

    def prepare(self, exp: Experiment) -> str:
        """Make the remote side ready for ``exp`` (e.g. build its image); returns a summary line."""
        return "nothing to prepare"

    @abstractmethod
    def submit(self, cfg: DictConfig, exp: Experiment, run_dir: Path) -> TuneResult:
        """Start the sweep remotely and mirror it to its end (see the class docstring)."""

    @abstractmethod
    def attach(self, run_dir: Path) -> TuneResult:
        """Mirror a submitted sweep again until it ends."""

    @abstractmethod
    def status(self, run_dir: Path) -> RemoteStatus:
        """Where the sweep stands; reads only."""

    @abstractmethod
    def cancel(self, run_dir: Path) -> RemoteStatus:
        """Stop the remote sweep; the results so far are mirrored and kept."""

    @abstractmethod
    def resume(
        self,
        run_dir: Path,
        *,
        overrides: list[str],
        force: bool,
        extend: int | None,
        rerun_failed: bool,
    ) -> TuneResult | None:
        """Continue a sweep that is not running any more, remotely."""


def _compute_settings(cfg: DictConfig) -> dict[str, Any]:
    compute = OmegaConf.to_container(cfg.compute, resolve=True)
    assert isinstance(compute, dict)
    return {str(k): v for k, v in compute.items()}


def remote_target(exp: Experiment) -> RemoteTarget | None:
    """The experiment's compute target when it is a :class:`RemoteTarget`, else ``None``."""
    from hpt.experiment import construct, locate

    settings = _compute_settings(exp.cfg)
    cls = locate("compute._target_", settings.get("_target_"))
    if not (isinstance(cls, type) and issubclass(cls, RemoteTarget)):
        return None
    target = construct("compute", settings)
    assert isinstance(target, RemoteTarget)
    return target


def target_of_run_dir(run_dir: str | os.PathLike[str]) -> RemoteTarget:
    """The remote target a run dir was submitted to, from its :data:`REMOTE_FILE`."""
    from hpt.experiment import construct

    path = Path(run_dir) / REMOTE_FILE
    if not path.is_file():
        raise ConfigError(
            "run_dir",
            f"{str(run_dir)!r} holds no remote sweep ({REMOTE_FILE} is missing); check the path",
        )
    info = json.loads(path.read_text())
    target = construct("compute", {"_target_": info["target"], **info["settings"]})
    assert isinstance(target, RemoteTarget)
    return target
