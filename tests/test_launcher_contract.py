"""The launcher contract (hpt.testing.launchers) on the in-memory and local launchers; Spark's
subclass lives in tests/spark."""

from __future__ import annotations

from hpt.launcher import Launcher
from hpt.testing.launchers import LauncherContract
from hpt.testing.memory import InMemoryLauncher
from launchers.local import LocalLauncher


class TestInMemoryLauncher(LauncherContract):
    def make_launcher(self, capacity: int) -> Launcher:
        return InMemoryLauncher(capacity=capacity)


class TestLocalLauncher(LauncherContract):
    def make_launcher(self, capacity: int) -> Launcher:
        return LocalLauncher(capacity=capacity)
