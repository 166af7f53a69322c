"""Remote compute targets: the whole sweep (its driver included) runs somewhere else.

:class:`RemoteTarget` is the seam ``hpt.tune`` and ``hpt.resume`` hand a sweep to when
``compute._target_`` names one; :class:`SshContainerTarget` (``compute=dsvm``) runs it in a
container on a machine reached over SSH. Importing this package does not import fabric.
"""

from hpt.remote._base import (
    REMOTE_FILE,
    Detached,
    RemoteDied,
    RemoteStatus,
    RemoteTarget,
    remote_target,
    target_of_run_dir,
)

__all__ = [
    "REMOTE_FILE",
    "Detached",
    "RemoteDied",
    "RemoteStatus",
    "RemoteTarget",
    "SshContainerTarget",
    "remote_target",
    "target_of_run_dir",
]


def __getattr__(name: str) -> object:
    if name == "SshContainerTarget":  # lazy: the target's module needs nothing heavy, fabric later
        from hpt.remote._target import SshContainerTarget

        return SshContainerTarget
    raise AttributeError(name)
