"""The sweep's budget (HyperDrive's resource limits plus hpt's failure budget)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Limits:
    """The sweep's budget; ``None`` means unlimited."""

    max_total_runs: int | None = None
    max_duration_minutes: float | None = None
    trial_timeout_minutes: float | None = None
    max_retries: int = 2
    max_failed_runs: int | None = None
    error_score_raise: bool = False
    fail_fast: bool = True  # abort when the first trials all fail with the same kind of error
    # End the sweep once a completed trial reaches this value (>= when maximizing, <= when
    # minimizing); AzureML's experiment_exit_score.
    stop_at_score: float | None = None
