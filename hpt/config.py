"""Typed config schemas. Hydra merges the YAML groups of ``conf/`` into :class:`HptConfig`.

Groups whose keys are fixed (dataset, features, metric, cv, resources, trainer) are dataclasses, so a
typo such as ``resources.max_concurent_runs=3`` fails at composition with the full key path. Groups
that carry arbitrary constructor arguments (model, sampler, policy, compute, search_space) are
``Dict[str, Any]`` and are validated when the experiment is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf


@dataclass
class DatasetConfig:
    """Where the rows come from.

    ``kind`` is how the rows are read: ``talkingdata`` (the seed's seven files; generated when
    ``path`` is null), ``sklearn`` (a bundled dataset by ``name``), or ``file`` (a CSV/Parquet
    table with a ``target`` column). ``source`` is where the files come from (see
    :mod:`hpt.data`): ``local`` (``path``), ``generated`` (the TalkingData generator, by
    ``n_devices`` or ``scale``), ``sklearn``, or ``azure_blob`` (``container`` + ``blobs`` or
    ``prefix``, with a connection string, account name + key, or a SAS token); null picks it
    from ``kind`` and ``path``.
    """

    kind: str = "talkingdata"
    source: str | None = None
    name: str | None = None
    path: str | None = None
    target: str | None = None
    n_devices: int = 3000
    scale: float | None = None  # generated TalkingData at the real proportions (1 = Kaggle's size)
    seed: int = 0
    compress: bool = False
    sample_rows: int | None = None
    cache_features: bool = True  # keep computed feature matrices under $HPT_DATA_DIR
    # auto: float32 for an XGBoost model (exact: XGBoost trains on float32; half the memory),
    # float64 for any other model; or float64 / float32 as asked.
    dtype: str = "auto"
    # Azure Blob. Secrets must come from ${oc.env:...}; see hpt.secrets.
    # Columns of a file dataset that are not features: per-row fit/score weights, CV groups.
    weight: str | None = None
    groups: str | None = None
    # Keep a file dataset's features as a DataFrame (names, dtypes, text columns) for the model.
    as_frame: bool = False
    # kind=script: a Python file whose get_data() returns {"X": ..., "y": ...} (AzureML's
    # data_script); read by hpt.automl.data.
    script: str | None = None
    container: str | None = None
    blobs: list[str] | None = None
    prefix: str | None = None
    account_url: str | None = None
    account_name: str | None = None
    account_key: str | None = None
    connection_string: str | None = None
    sas_token: str | None = None


@dataclass
class FeaturesConfig:
    """Feature sets computed from the raw dataset; ``sets: null`` uses the table as it is."""

    name: str = "none"
    sets: list[str] | None = None


@dataclass
class MetricConfig:
    """HyperDrive's ``primary_metric_name`` / ``primary_metric_goal``."""

    primary_metric: str = "neg_log_loss"
    goal: str = "maximize"
    # More scikit-learn scorers computed on the same fits (reported, never ranked or refit on).
    also: list[str] = field(default_factory=list)


@dataclass
class CVConfig:
    """Cross-validation as scikit-learn makes it. ``kind``: ``auto`` (stratified for
    classifiers, else K-fold), ``kfold``, ``stratified``, ``group`` / ``stratified_group``
    (by ``dataset.groups``), ``time_series``, ``predefined`` (``dataset.groups`` holds each
    row's test fold, -1 for always-train)."""

    kind: str = "auto"
    n_splits: int = 5
    shuffle: bool = False
    seed: int = 0
    return_train_score: bool = False
    error_score: Any = "nan"


@dataclass
class ResourcesConfig:
    """HyperDrive's resource limits plus hpt's failure budget."""

    max_total_runs: int | None = None
    max_concurrent_runs: int | None = None
    max_duration_minutes: float | None = None
    trial_timeout_minutes: float | None = None
    max_retries: int = 2
    max_failed_runs: int | None = None
    threads_per_trial: int = 1
    stop_at_score: float | None = None  # end the sweep once a trial reaches it (goal-aware)


@dataclass
class TrainerConfig:
    """``kind: cv`` is the built-in cross-validation trainer; ``kind: script`` runs a user script."""

    kind: str = "cv"
    script: str | None = None
    args: list[Any] = field(default_factory=list)
    python: str | None = None


@dataclass
class TrackingConfig:
    """Experiment tracking: ``kind: none`` (default) or ``mlflow`` (see conf/tracking/mlflow.yaml)."""

    kind: str = "none"
    tracking_uri: str | None = None
    experiment_name: str | None = None
    log_model: bool = True


@dataclass
class AutoMLConfig:
    """AzureML's ``AutoMLConfig`` settings, under its names; used when ``trainer.kind=automl``
    (select ``automl=classification`` or ``automl=regression``). ``hpt.automl`` maps them onto the
    generic sections (metric, sampler, cv, resources) before the experiment is built."""

    task: str = "classification"
    primary_metric: str | None = None  # null: AzureML's default (accuracy / spearman_correlation)
    iterations: int | None = None
    iteration_timeout_minutes: float | None = None
    experiment_timeout_minutes: float | None = None
    experiment_exit_score: float | None = None
    n_cross_validations: int | None = 5
    validation_size: float | None = None  # a held-out fraction instead of n_cross_validations
    max_concurrent_iterations: int | None = None
    allowed_models: list[str] | None = None
    blocked_models: list[str] | None = None
    preprocess: bool = False
    explain: bool = False
    enable_voting_ensemble: bool = True  # the best iterations averaged, when that scores better
    search: str = "tpe"  # tpe (adaptive) | random


@dataclass
class SweepConfig:
    """How the sweep loop runs trials (never what they compute: results do not depend on it).

    ``share_work``: share exact work across trials (see ``hpt.trainers._shared``). Each worker
    builds every fold's matrices once for all trials, and configurations that differ only in
    ``n_estimators`` (XGBoost, LightGBM gbdt, scikit-learn gradient boosting; no early stopping,
    no DART) run as one attempt: one fit per fold at the largest ``n_estimators``, each scored at
    its own round count, bit-identical to separate fits. Each keeps its own trial id, journal
    records and ``cv_results`` row; its ``fit_time`` is the shared fit's time split evenly across
    the configurations it served. ``false`` fits every configuration from scratch.
    """

    share_work: bool = True


@dataclass
class HptConfig:
    name: str = "default"
    seed: int = 0
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    model: dict[str, Any] = field(default_factory=dict)
    search_space: dict[str, Any] = field(default_factory=dict)
    sampler: dict[str, Any] = field(
        default_factory=lambda: {"_target_": "hpt.samplers.GridSampler"}
    )
    policy: dict[str, Any] = field(
        default_factory=lambda: {"_target_": "hpt.policies.NoTerminationPolicy"}
    )
    metric: MetricConfig = field(default_factory=MetricConfig)
    cv: CVConfig = field(default_factory=CVConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    compute: dict[str, Any] = field(
        default_factory=lambda: {"_target_": "launchers.local.LocalLauncher"}
    )
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    refit: bool = True
    automl: AutoMLConfig = field(default_factory=AutoMLConfig)
    experiment: Any = None


def as_config(cfg: Any) -> DictConfig:
    """``cfg`` as a typed config: a composed DictConfig as is, a plain dict merged over the schema."""
    if isinstance(cfg, DictConfig):
        return cfg
    merged = OmegaConf.merge(OmegaConf.structured(HptConfig), OmegaConf.create(cfg))
    assert isinstance(merged, DictConfig)
    return merged


def register_schemas() -> None:
    """Make ``schema`` available to ``conf/config.yaml``'s defaults list (idempotent)."""
    ConfigStore.instance().store(name="schema", node=HptConfig)


# Keys whose changes alter results; resume refuses to continue across a change to any of them.
RESULT_KEYS: tuple[str, ...] = (
    "dataset",
    "features",
    "model",
    "search_space",
    "sampler",
    "metric",
    "cv",
    "trainer",
    "seed",
    "policy",
)


def config_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Human-readable differences between two plain config trees (``key: old -> new``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                if new[key] is not None:  # a key newer than the sweep, left at its default
                    out.append(f"{path}: added {new[key]!r}")
            elif key not in new:
                out.append(f"{path}: removed (was {old[key]!r})")
            else:
                out.extend(config_differences(old[key], new[key], path))
        return out
    return [] if old == new else [f"{prefix}: {old!r} -> {new!r}"]
