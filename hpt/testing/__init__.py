"""Contract suites that a policy, sampler or launcher of one's own proves conformance with.

Each suite is a pytest class to subclass in one's own tests, overriding one fixture (in the
manner of Optuna's ``SamplerTestCase`` and Hydra's ``LauncherTestSuite``):

* :class:`hpt.testing.policies.PolicyContract` -- early-termination policies (fixture
  ``policy``);
* :class:`hpt.testing.samplers.SamplerContract` -- samplers (fixture ``make_sampler``);
* :class:`hpt.testing.launchers.LauncherContract` -- compute targets (``make_launcher``).

:class:`hpt.testing.memory.InMemoryLauncher` runs trials on threads, for fast sweep-loop tests.

The suites need pytest (and Hypothesis for the policy suite's random histories); they are
imported on first use, so ``import hpt.testing`` works without either.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpt.testing.launchers import LauncherContract
    from hpt.testing.memory import InMemoryLauncher
    from hpt.testing.policies import PolicyContract
    from hpt.testing.samplers import SamplerContract

__all__ = ["InMemoryLauncher", "LauncherContract", "PolicyContract", "SamplerContract"]

# Re-exported name -> the submodule that defines it, imported when the name is first used (so
# that importing hpt.testing needs neither pytest nor hypothesis). Add new suites here.
_LAZY = {
    "InMemoryLauncher": "hpt.testing.memory",
    "LauncherContract": "hpt.testing.launchers",
    "PolicyContract": "hpt.testing.policies",
    "SamplerContract": "hpt.testing.samplers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hpt.testing' has no attribute {name!r}")
