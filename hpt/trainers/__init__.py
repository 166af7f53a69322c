"""Trainers evaluate one configuration on a worker and report intervals. See :class:`Trainer`."""

from hpt.trainers._base import Emit, ShouldStop, Trainer, TrialOutcome, TrialStopped
from hpt.trainers._cv import CrossValidationTrainer

__all__ = [
    "CrossValidationTrainer",
    "Emit",
    "ShouldStop",
    "Trainer",
    "TrialOutcome",
    "TrialStopped",
]
