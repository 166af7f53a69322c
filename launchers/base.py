"""Kept for compatibility: the launcher interface lives in the core, :mod:`hpt.launcher`."""

from hpt.launcher import Launcher

__all__ = ["Launcher"]
