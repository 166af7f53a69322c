"""The user's own code travels with the trainer: modules the workers cannot import go by value.

A trainer holds the user's estimator, scorers and fit parameters. Their classes and functions may
live in modules only the driver can import: a project file next to the script, a notebook's
``__main__``, a pytest test module. Pickled by reference (plain ``pickle``, and cloudpickle for
anything importable) they fail on the worker with ``ModuleNotFoundError``. :class:`ShipsUserCode`
makes a trainer pickle its state with cloudpickle, every *user module* registered
``register_pickle_by_value`` for the duration, so the code goes with the data whatever the
launcher (local processes, Spark, a remote container) and nothing is installed anywhere.

A user module is a loaded pure-Python module whose file is outside the interpreter's prefixes
and site-packages (installed libraries are there on every worker of a well-formed environment)
and is not hpt's own. A compiled module outside them cannot travel by value: one warning line
names it and how to make it importable.
"""

from __future__ import annotations

import logging
import os
import pickle
import site
import sys
import sysconfig
from functools import cache
from typing import Any

log = logging.getLogger("hpt")

# hpt itself is importable wherever a worker runs (it is what runs the worker).
_OWN = ("hpt", "launchers")
_SOURCE_SUFFIXES = (".py", ".pyc")


def _cloudpickle() -> Any:
    """cloudpickle as scikit-learn's joblib ships it: present wherever scikit-learn is."""
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - joblib always vendors it
        from joblib.externals import cloudpickle
    return cloudpickle


@cache
def _installed_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    try:
        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
    except AttributeError:  # pragma: no cover - some embedded interpreters lack them
        pass
    # Libraries reached through a path entry of another environment (a .pth line, PYTHONPATH)
    roots.update(p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages"))
    return tuple(sorted(os.path.realpath(r) for r in roots if r))


@cache
def _distributed_packages() -> frozenset[str]:
    """Top-level names that an installed distribution provides (they are libraries)."""
    import importlib.metadata

    return frozenset(importlib.metadata.packages_distributions())


def _module_file(name: str) -> str | None:
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    return os.path.realpath(file) if isinstance(file, str) else None


def is_user_module(name: str) -> bool:
    """Whether module ``name`` (loaded) is the user's own code rather than an installed library."""
    top = name.partition(".")[0]
    if name == "__main__" or top in _OWN or top in sys.stdlib_module_names:
        return False  # __main__ is always pickled by value by cloudpickle
    if top in _distributed_packages():
        return False
    file = _module_file(name)
    if file is None:
        return False
    return not any(file.startswith(root + os.sep) for root in _installed_roots())


def user_modules() -> tuple[list[str], list[str]]:
    """The loaded user modules: (pure-Python ones, which can go by value; compiled ones)."""
    shippable: list[str] = []
    compiled: list[str] = []
    for name in list(sys.modules):
        if not is_user_module(name):
            continue
        file = _module_file(name) or ""
        (shippable if file.endswith(_SOURCE_SUFFIXES) else compiled).append(name)
    return shippable, compiled


def dumps_with_user_code(obj: Any) -> bytes:
    """``obj`` pickled with cloudpickle, every loaded user module by value."""
    cloudpickle = _cloudpickle()
    shippable, compiled = user_modules()
    for name in compiled:
        log.warning(
            "module %s (%s) is compiled and cannot be shipped to the workers; make it importable "
            "there (pip install it on every worker, or sc.addPyFile on Spark)",
            name,
            _module_file(name),
        )
    registered: list[Any] = []
    try:
        for name in shippable:
            module = sys.modules[name]
            try:
                cloudpickle.register_pickle_by_value(module)
            except ValueError:  # not importable under its own name (e.g. loaded from a path)
                continue
            registered.append(module)
        data: bytes = cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        return data
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


def _rebuild(code: bytes, data: dict[str, Any]) -> Any:
    cls, state = pickle.loads(code)
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    obj.__dict__.update(data)
    return obj


class ShipsUserCode:
    """Mixin for trainers: pickling sends the instance with the user's code by value.

    The class and every attribute except those named in ``_data_fields`` -- the estimator,
    scorers, fit parameters -- go through :func:`dumps_with_user_code` (a subclass defined in a
    script or test module travels too). The ``_data_fields`` (the training data) stay with the
    outer pickler, so a launcher that pickles with out-of-band buffers still gets them.
    """

    _data_fields: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[Any, tuple[bytes, dict[str, Any]]]:
        state = dict(self.__dict__)
        data = {name: state.pop(name) for name in self._data_fields if name in state}
        return _rebuild, (dumps_with_user_code((type(self), state)), data)
