"""hpt as a user gets it: a wheel installed (not editable) into a fresh virtualenv, run from an
empty directory, far from this checkout. Also the package's own structure: no import cycle, no
oversized module."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("hpt", "launchers")
MAX_MODULE_LINES = 500


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding hpt's wheel; its dependencies come from the test interpreter's
    site-packages (a path entry only: that environment's editable hpt is not visible)."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = root.glob("hpt-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "_hpt_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _hpt(venv: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HPT_DEBUG")}
    return subprocess.run(
        [str(venv / "bin" / "hpt"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_the_wheel_ships_configs_and_types(installed: Path) -> None:
    (wheel,) = installed.parent.glob("hpt-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hpt/py.typed" in names
    assert "hpt/conf/config.yaml" in names
    assert sum(n.startswith("hpt/conf/") and n.endswith(".yaml") for n in names) >= 30
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import hpt; print(hpt.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    ).stdout
    assert str(installed) in where and str(REPO) not in where


def test_installed_hpt_runs_the_default_experiment(installed: Path, tmp_path: Path) -> None:
    """``hpt`` with no argument (the generated sample made smaller to keep the test short)."""
    done = _hpt(installed, ["dataset.n_devices=2000"], tmp_path)
    assert done.returncode == 0, done.stderr
    (run_dir,) = [p.parent for p in (tmp_path / "outputs").rglob("journal.jsonl")]
    lines = (run_dir / "sweeping_results.txt").read_text().splitlines()
    assert lines[0] == "metric =  neg_log_loss" and len(lines) == 5
    # the seed's format and parameter set, in ParameterGrid order
    assert lines[1].startswith("mean: -") and ", std: " in lines[1]
    assert "'n_estimators': 300" in lines[1] and "'max_depth': 3" in lines[1]
    assert "'n_estimators': 400" in lines[2] and "'max_depth': 3" in lines[2]
    assert "'objective': 'multi:softprob'" in lines[1] and "'colsample_bylevel': 0.1" in lines[1]
    for name in ["cv_results.csv", "best.json", "model.joblib", "metrics.csv"]:
        assert (run_dir / name).is_file(), name
    best = json.loads((run_dir / "best.json").read_text())
    assert best["metric"] == "neg_log_loss" and best["best_score"] < 0
    assert "best neg_log_loss:" in done.stdout and "ITERATION  PARAMS" in done.stdout


def test_init_then_a_user_experiment_and_validate(installed: Path, tmp_path: Path) -> None:
    init = _hpt(installed, ["init"], tmp_path)
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "conf" / "experiment" / "mine.yaml").is_file()
    again = _hpt(installed, ["init"], tmp_path)
    assert (
        again.returncode == 2 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
    )

    valid = _hpt(installed, ["validate", "experiment=mine"], tmp_path)
    assert valid.returncode == 0, valid.stderr
    assert "config OK" in valid.stdout and not (tmp_path / "outputs").exists()

    # The user's conf/ also overrides a built-in option of the same name.
    (tmp_path / "conf" / "model" / "xgboost.yaml").write_text(
        "_target_: sklearn.tree.DecisionTreeClassifier\nrandom_state: 0\n"
    )
    shadow = _hpt(
        installed, ["validate", "experiment=mine", "model=xgboost", "search_space=tree"], tmp_path
    )
    assert shadow.returncode == 0, shadow.stderr

    run = _hpt(installed, ["experiment=mine", "resources.max_total_runs=4"], tmp_path)
    assert run.returncode == 0, run.stderr
    (run_dir,) = [p.parent for p in (tmp_path / "outputs").rglob("journal.jsonl")]
    assert run_dir.is_relative_to(tmp_path / "outputs")
    assert len((run_dir / "cv_results.csv").read_text().splitlines()) == 5


# -- structure ----------------------------------------------------------------------------------
def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "conf" in path.relative_to(REPO).parts:
                continue
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Modules of ours that ``path`` imports, at module level or inside functions (but not
    under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in known and m != name}


def test_no_import_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(path, name, set(modules)) for name, path in modules.items()}
    # A package's __init__ re-exporting its own submodules is not a cycle of the design.
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not name.startswith(d + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep) :], dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                walk(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)


def test_the_core_does_not_import_compute_targets() -> None:
    modules = _modules()
    for name, path in modules.items():
        if name.startswith("hpt") and name != "hpt.spark":  # the drop-in is Spark's by design
            bad = {m for m in _imports(path, name, set(modules)) if m.startswith("launchers")}
            assert not bad, f"{name} imports {bad}"


def test_no_module_is_oversized() -> None:
    for name, path in _modules().items():
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines (max {MAX_MODULE_LINES})"
