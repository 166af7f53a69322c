"""Shared work across trials, exact: fold matrices built once, nested boosting rounds fitted once.

* Worker side (:mod:`._group`): :func:`fold_data` and :func:`run_nested`, which
  ``CrossValidationTrainer.run_group`` calls for an attempt with ``members``.
* Driver side (:mod:`._plan`): :func:`round_sharing` decides whether a sweep can nest rounds
  (``sweep.share_work``, the model, the policy) and groups pending trials into attempts;
  :func:`plan_line` describes it for ``hpt validate``.
* What nests exactly, and how a fit is truncated: :mod:`._nesting`.
"""

from hpt.trainers._folds import fold_data
from hpt.trainers._shared._group import run_nested
from hpt.trainers._shared._nesting import ROUNDS_PARAM, Truncated, nesting_library, refusal
from hpt.trainers._shared._plan import RoundSharing, plan_line, round_sharing

__all__ = [
    "ROUNDS_PARAM",
    "RoundSharing",
    "Truncated",
    "fold_data",
    "nesting_library",
    "plan_line",
    "refusal",
    "round_sharing",
    "run_nested",
]
