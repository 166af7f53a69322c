"""Compute targets: where trials run. Each implements :class:`launchers.base.Launcher`."""

from launchers.base import Launcher

__all__ = ["Launcher"]
