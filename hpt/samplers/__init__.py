"""Samplers propose the next configuration from the history. See :class:`Sampler`."""

from hpt.samplers._base import Sampler
from hpt.samplers._bayesian import BayesianSampler
from hpt.samplers._grid import GridSampler
from hpt.samplers._random import RandomSampler

__all__ = ["BayesianSampler", "GridSampler", "RandomSampler", "Sampler"]
