"""Compute targets: where trials run. Each implements :class:`hpt.launcher.Launcher`."""

from hpt.launcher import Launcher

__all__ = ["Launcher"]
