"""``compute=dsvm`` settings are checked before anything connects; mistakes are one line."""

from __future__ import annotations

from typing import Any

import pytest

from hpt.errors import ConfigError
from hpt.experiment import Experiment
from hpt.remote._settings import DsvmSettings
from hpt.remote._target import env_names
from tests.remote.conftest import iris_config

GOOD = {"host": "vm", "user": "u", "key_file": "~/.ssh/id_ed25519"}


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"host": "???"}, "compute.host", "is required"),
        ({"runtime": "lxc"}, "compute.runtime", "docker or podman"),
        ({"work_dir": "hpt"}, "compute.work_dir", "absolute"),
        ({"key_file": None}, "compute.key_file", "password_env"),
        ({"hostname": "vm"}, "compute.hostname", "is not a setting"),
        ({"env": ["NOT-A-NAME"]}, "compute.env", "not an environment variable"),
    ],
)
def test_bad_settings_name_the_key(change: dict[str, Any], key: str, words: str) -> None:
    compute = {"_target_": "hpt.remote.SshContainerTarget", **GOOD, **change}
    with pytest.raises(ConfigError) as err:
        Experiment.from_config(iris_config(compute))
    assert err.value.key == key and words in str(err.value)


def test_env_names_are_the_configs_oc_env_references() -> None:
    text = "a: ${oc.env:AZURE_KEY}\nb: ${oc.env: OTHER,default}\nc: plain\n"
    assert env_names(text, ["EXTRA"]) == ["AZURE_KEY", "EXTRA", "OTHER"]
    assert DsvmSettings.from_dict(GOOD).runtime == "docker"


def test_resume_with_another_compute_drops_the_saved_compute_keys() -> None:
    from hpt.api import _without_replaced_groups

    saved = ["experiment=quick", "compute=dsvm", "compute.host=vm", "+compute.cores=4", "seed=1"]
    assert _without_replaced_groups(saved, ["compute=local"]) == ["experiment=quick", "seed=1"]
    assert _without_replaced_groups(saved, ["compute.poll_seconds=1"]) == saved
