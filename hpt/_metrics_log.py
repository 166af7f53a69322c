"""``hpt.log(name, value)``: how a training script reports metrics (HyperDrive's ``run.log``).

Each call prints one line ``@hpt {"metric": name, "value": value}`` to standard output, flushed at
once; the script trainer parses these lines (and plain ``name=value`` lines from scripts that cannot
import hpt). Outside a sweep the line is harmless.
"""

from __future__ import annotations

import json
import math
import sys

PREFIX = "@hpt "


def log(name: str, value: float) -> None:
    """Report ``value`` of metric ``name``; each report of the primary metric is one interval."""
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"hpt.log({name!r}, ...): value is NaN")
    sys.stdout.write(PREFIX + json.dumps({"metric": str(name), "value": number}) + "\n")
    sys.stdout.flush()
