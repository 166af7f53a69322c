"""The launcher contract (hpt.testing.launchers) on Spark's local[2] master."""

from __future__ import annotations

from typing import Any

import pytest

from hpt.launcher import Launcher
from hpt.testing.launchers import LauncherContract
from launchers.spark import SparkLauncher


class TestSparkLauncher(LauncherContract):
    @pytest.fixture(autouse=True)
    def _context(self, spark_local_context: Any) -> None:
        self.context = spark_local_context

    def make_launcher(self, capacity: int) -> Launcher:
        return SparkLauncher(capacity=capacity, spark_context=self.context)
