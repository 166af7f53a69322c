"""Which modules travel by value with the trainer (hpt._shipping)."""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from hpt._shipping import dumps_with_user_code, is_user_module


def test_user_modules_are_the_ones_outside_the_installed_libraries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ship_probe_mod.py").write_text(
        "class Probe:\n    def value(self):\n        return 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("ship_probe_mod")
    assert is_user_module("ship_probe_mod")
    assert is_user_module("tests.sklearn_api.test_shipping")  # a test module of a project
    for installed in ("sklearn", "numpy.linalg", "json", "hpt._search", "launchers.local"):
        importlib.import_module(installed)
        assert not is_user_module(installed), installed
    # The pickled object loads in a fresh interpreter that cannot import the module.
    data = dumps_with_user_code(module.Probe())
    code = "import pickle, sys; print(pickle.loads(sys.stdin.buffer.read()).value())"
    done = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, timeout=60, cwd="/"
    )
    assert done.stdout.strip() == b"42", done.stderr
    # By reference (plain pickle) it does not: what the workers saw before.
    plain = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(module.Probe()),
        capture_output=True,
        timeout=60,
        cwd="/",
    )
    assert plain.returncode != 0
    assert b"No module named 'ship_probe_mod'" in plain.stderr
