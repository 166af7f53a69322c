"""Short stable hashes for cache keys and fingerprints."""

from __future__ import annotations

import hashlib
import json


def digest(*parts: object) -> str:
    """A short stable hash of JSON-able parts (for cache keys and fingerprints)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
