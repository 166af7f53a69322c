"""Automated ML over whole pipelines (AzureML's ``AutoMLConfig``), as a trainer kind + sampler.

``hpt automl=classification dataset=digits automl.iterations=20`` (or ``automl=regression``);
see :mod:`hpt.automl.kind` for how the settings map onto the sweep, :mod:`hpt.automl.space` for
the conditional space and :mod:`hpt.automl.sampler` for the adaptive search.
"""

from __future__ import annotations

from hpt.automl.kind import AutoMLKind
from hpt.automl.sampler import AutoMLSampler

__all__ = ["AutoMLKind", "AutoMLSampler"]
