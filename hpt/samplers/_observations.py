"""What a model-based sampler learns from a trial of the history (or of a warm-start run)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hpt.trial import TrialRecord, TrialStatus


@dataclass(frozen=True)
class Observation:
    """What the model learns from one trial: internal params and the outcome."""

    params: dict[str, Any]
    value: float | None  # final value; None for a trial still in flight
    intermediate: tuple[float, ...] = ()  # interval values of a trial stopped early
    stopped_early: bool = False


def observation(record: TrialRecord, internal: dict[str, Any]) -> Observation | None:
    """The model's view of one trial, or ``None`` when it teaches nothing (failed, no value)."""
    values = tuple(v for v in record.values if math.isfinite(v))
    if not record.status.is_finished():
        return Observation(internal, None)
    if record.status is TrialStatus.COMPLETED or record.status is TrialStatus.FAILED:
        if record.value is not None and math.isfinite(record.value):
            return Observation(internal, float(record.value))
        return None
    if values:  # terminated, timed out or cancelled after reporting intervals
        return Observation(internal, None, values, stopped_early=True)
    return None
