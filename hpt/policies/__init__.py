"""Early-termination policies: pure functions from metric history to the trials to stop.

HyperDrive's ``NoTerminationPolicy``, ``BanditPolicy``, ``MedianStoppingPolicy`` and
``TruncationSelectionPolicy``, plus ``AshaPolicy`` (asynchronous successive halving). See
:class:`TerminationPolicy` for the shared contract, :class:`Snapshot` and :func:`as_written` for
what a policy of one's own builds on, and ``hpt.testing.policies`` for the suite it must pass.
"""

from hpt.policies._asha import AshaPolicy
from hpt.policies._bandit import BanditPolicy
from hpt.policies._base import Cutoff, Snapshot, StopReason, TerminationPolicy, as_written
from hpt.policies._median import MedianStoppingPolicy
from hpt.policies._none import NoTerminationPolicy
from hpt.policies._truncation import TruncationSelectionPolicy

__all__ = [
    "AshaPolicy",
    "BanditPolicy",
    "Cutoff",
    "MedianStoppingPolicy",
    "NoTerminationPolicy",
    "Snapshot",
    "StopReason",
    "TerminationPolicy",
    "TruncationSelectionPolicy",
    "as_written",
]
