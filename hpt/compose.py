"""Config composition: hpt's packaged config tree plus the user's own ``conf/``.

The config groups ship inside the package (``hpt/conf`` in a wheel; the checkout's top-level
``conf/`` in an editable install), so ``hpt`` works wherever it is installed. A user's config dir
comes first on Hydra's search path, so its ``experiment/mine.yaml``, ``model/my_lgbm.yaml`` or even
``model/xgboost.yaml`` extend or override the built-in groups. Which dirs, in order:

1. ``--config-dir DIR`` on the command line (the CLI turns it into ``HPT_CONFIG_DIR``);
2. ``HPT_CONFIG_DIR`` (several dirs separated by ``:``);
3. ``./conf`` when it exists (a project laid out as ``hpt init`` writes it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

CONFIG_NAME = "config"
ENV_CONFIG_DIR = "HPT_CONFIG_DIR"

_unique_dirs: dict[str, str] = {}


def packaged_conf_dir() -> Path:
    """The built-in config tree: ``hpt/conf`` when installed, the checkout's ``conf/`` otherwise."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "conf", package.parent / "conf"):
        if (candidate / f"{CONFIG_NAME}.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"hpt's config tree is missing next to {package}; reinstall hpt")


def user_conf_dirs() -> list[Path]:
    """The user's config dirs, highest priority first (see the module docstring)."""
    packaged = packaged_conf_dir()
    env = os.environ.get(ENV_CONFIG_DIR, "")
    candidates = [Path(p) for p in env.split(os.pathsep) if p] if env else [Path("conf")]
    dirs = []
    for path in candidates:
        resolved = path.expanduser().resolve()
        if resolved.is_dir() and resolved != packaged and resolved not in dirs:
            dirs.append(resolved)
    return dirs


def _unique_dir(path: str) -> str:
    """Resolver ``${hpt_unique:...}``: the path, or ``path-1``, ``path-2``... if taken.

    Memoised per process: Hydra resolves ``hydra.run.dir`` more than once, and every resolution in
    one sweep must give the same answer.
    """
    if path not in _unique_dirs:
        from hpt.rundir import claim_dir

        _unique_dirs[path] = str(claim_dir(Path(path)))
    return _unique_dirs[path]


def _search_path_plugin() -> type[Any]:
    from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
    from hydra.plugins.search_path_plugin import SearchPathPlugin

    class HptUserConf(SearchPathPlugin):
        """Puts the user's config dirs before hpt's own (so they can override built-ins)."""

        def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
            packaged = str(packaged_conf_dir())
            paths = [str(e.path).removeprefix("file://") for e in search_path.get_path()]
            if packaged not in paths:
                return  # another Hydra app in this process: leave it alone
            for directory in reversed(user_conf_dirs()):
                search_path.prepend(
                    provider="hpt-user",
                    path=f"file://{directory}",
                    anchor=SearchPathQuery(provider="main"),
                )

    return HptUserConf


def register() -> None:
    """Schemas, resolvers and the search-path plugin (idempotent); call before composing."""
    from hydra.core.plugins import Plugins
    from hydra.plugins.search_path_plugin import SearchPathPlugin

    from hpt.config import register_schemas

    register_schemas()
    if not OmegaConf.has_resolver("hpt_unique"):
        OmegaConf.register_new_resolver("hpt_unique", _unique_dir)
    plugins = Plugins.instance()
    if not any(p.__name__ == "HptUserConf" for p in plugins.discover(SearchPathPlugin)):
        plugins.register(_search_path_plugin())


def compose(overrides: Sequence[str]) -> DictConfig:
    """Compose ``config.yaml`` with ``overrides`` the way ``hpt`` does (no run dir)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register()
    with initialize_config_dir(
        config_dir=str(packaged_conf_dir()), version_base="1.3", job_name="hpt"
    ):
        return hydra_compose(config_name=CONFIG_NAME, overrides=list(overrides))
