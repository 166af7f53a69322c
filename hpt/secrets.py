"""Secrets never reach disk: values taken from the environment are redacted in everything saved.

Write a secret as ``${oc.env:AZURE_STORAGE_KEY}`` in YAML or as an override
``dataset.account_key='${oc.env:AZURE_STORAGE_KEY}'``. A literal value given on the command line
for a secret-looking key is refused before anything runs.
"""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from hpt.errors import ConfigError

REDACTED = "***"
SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|account_key|access_key|api_key|private_key|sas|"
    r"connection_string|credential)",
    re.IGNORECASE,
)
_ENV = re.compile(r"\$\{\s*oc\.env\s*:")


def _walk(node: Any) -> Any:
    if isinstance(node, DictConfig):
        out: dict[str, Any] = {}
        for key in node:
            raw = OmegaConf.to_container(node, resolve=False)[key]  # type: ignore[index]
            if isinstance(raw, str) and _ENV.search(raw):
                out[str(key)] = REDACTED
            else:
                out[str(key)] = (
                    _walk(node[key])
                    if isinstance(node[key], DictConfig | ListConfig)
                    else node[key]
                )
        return out
    if isinstance(node, ListConfig):
        return [_walk(v) if isinstance(v, DictConfig | ListConfig) else v for v in node]
    return node


def redact_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as plain data, with every value that came from ``oc.env`` redacted."""
    result = _walk(cfg)
    assert isinstance(result, dict)
    return result


def check_overrides(overrides: list[str]) -> None:
    """Refuse ``key=literal`` overrides whose key looks like a secret."""
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep:
            continue
        leaf = key.lstrip("+~").rsplit(".", 1)[-1]
        if SECRET_KEY.search(leaf) and value and not _ENV.search(value) and value != "null":
            raise ConfigError(
                key.lstrip("+~"),
                "looks like a secret and was given as a plain value, which would be saved in the "
                f"run dir; export it and pass {key}='${{oc.env:YOUR_VAR}}' instead",
            )
