"""``automl=classification|regression``: AzureML's settings mapped onto the sweep, and bad ones."""

from __future__ import annotations

import pytest

from hpt.automl import AutoMLSampler
from hpt.automl.kind import ENSEMBLE_RESERVE
from hpt.compose import compose
from hpt.errors import ConfigError
from hpt.experiment import Experiment


def plain(**automl: object) -> dict[str, object]:
    """A config without Hydra (composing costs a second or two per call)."""
    return {
        "dataset": {"kind": "sklearn", "name": "digits"},
        "features": {"sets": None},
        "trainer": {"kind": "automl"},
        "automl": {"iterations": 5, **automl},
    }


BASE = ["automl=classification", "dataset=digits", "features=none"]


def test_settings_become_the_sweep() -> None:
    exp = Experiment.from_config(
        compose(
            [
                *BASE,
                "automl.iterations=7",
                "automl.iteration_timeout_minutes=2",
                "automl.experiment_timeout_minutes=30",
                "automl.experiment_exit_score=0.99",
                "automl.max_concurrent_iterations=3",
                "automl.n_cross_validations=4",
                "automl.primary_metric=log_loss",
                "automl.blocked_models=[svm]",
            ]
        )
    )
    assert exp.kind.name == "automl"
    assert (exp.metric, exp.goal) == ("log_loss", "minimize")
    assert isinstance(exp.sampler, AutoMLSampler) and "svm" not in exp.sampler.models
    limits = exp.limits
    assert (limits.max_total_runs, limits.trial_timeout_minutes) == (7, 2)
    # The VotingEnsemble's refit counts within the experiment's time: the search ends earlier.
    assert limits.max_duration_minutes == pytest.approx(30 * (1 - ENSEMBLE_RESERVE))
    assert limits.stop_at_score == 0.99
    assert exp.capacity == 3 and exp.n_folds == 4
    assert exp.space.names == ["model"]
    alone = Experiment.from_config(
        compose(
            [
                *BASE,
                "automl.experiment_timeout_minutes=30",
                "automl.enable_voting_ensemble=false",
            ]
        )
    )
    assert alone.limits.max_duration_minutes == 30


def test_a_validation_split_is_one_fold() -> None:
    exp = Experiment.from_config(plain(validation_size=0.25))
    assert exp.n_folds == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"primary_metric": "r2_score"}, "not a classification metric"),
        ({"allowed_models": ["xgbost"]}, "did you mean xgboost"),
        ({"iterations": 0}, "automl.iterations: must be an integer >= 1"),
        ({"validation_size": 1.5}, "automl.validation_size"),
        ({"task": "ranking"}, "automl.task"),
        ({"iterations": None}, "unbounded; set automl.iterations"),
    ],
)
def test_bad_settings_name_the_key_and_the_fix(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Experiment.from_config(plain(**settings))


def test_a_data_script_must_exist_and_define_get_data(tmp_path: object) -> None:
    from pathlib import Path

    cfg = plain()
    cfg["dataset"] = {"kind": "script", "script": None}
    with pytest.raises(ConfigError, match=r"dataset\.script: missing"):
        Experiment.from_config(cfg)
    script = Path(str(tmp_path)) / "data.py"
    script.write_text("def load():\n    return 1\n")
    cfg["dataset"] = {"kind": "script", "script": str(script)}
    with pytest.raises(ConfigError, match="defines no get_data"):
        Experiment.from_config(cfg)


def test_the_regression_option_composes() -> None:
    exp = Experiment.from_config(compose(["automl=regression", "dataset=digits", "features=none"]))
    assert (exp.metric, exp.goal) == ("normalized_root_mean_squared_error", "minimize")
    assert "logistic_regression" not in exp.sampler.models  # type: ignore[attr-defined]
