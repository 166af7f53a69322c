"""Test utilities shipped with hpt, for hpt's own tests and for anyone extending it.

* :mod:`hpt.testing.launchers`: ``LauncherContract``, the suite a compute target passes with one
  subclass;
* :mod:`hpt.testing.memory`: ``InMemoryLauncher``, trials on threads, for fast sweep-loop tests.

The suites need pytest (and some hypothesis): ``pip install hpt[dev]``.
"""
