"""Early-termination policies: pure functions from metric history to the trials to stop.

HyperDrive's ``NoTerminationPolicy``, ``BanditPolicy``, ``MedianStoppingPolicy`` and
``TruncationSelectionPolicy``, plus ``AshaPolicy`` (asynchronous successive halving). See
:class:`TerminationPolicy` for the shared contract.
"""

from hpt.policies._asha import AshaPolicy
from hpt.policies._bandit import BanditPolicy
from hpt.policies._base import StopReason, TerminationPolicy
from hpt.policies._median import MedianStoppingPolicy
from hpt.policies._none import NoTerminationPolicy
from hpt.policies._truncation import TruncationSelectionPolicy

__all__ = [
    "AshaPolicy",
    "BanditPolicy",
    "MedianStoppingPolicy",
    "NoTerminationPolicy",
    "StopReason",
    "TerminationPolicy",
    "TruncationSelectionPolicy",
]
