"""Trial artifacts: small files a trainer returns with a completed trial (see
:attr:`hpt.trainers.TrialOutcome.artifacts`).

They travel base64-encoded in the attempt's final event (events are JSON on every compute
target) and the driver writes them as ``trials/<trial_id>/<name>`` in the run dir before it
journals the completion, so a completed trial's artifacts are on disk once the journal says so.
A name is a plain file name (no directories), so a worker cannot write outside its trial's
folder.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def encode(artifacts: Mapping[str, bytes]) -> dict[str, str]:
    """``artifacts`` as JSON-safe strings."""
    return {name: base64.b64encode(data).decode("ascii") for name, data in artifacts.items()}


def keep(trials_dir: Path, trial_id: str, encoded: Mapping[str, str]) -> list[str]:
    """Write the encoded artifacts of ``trial_id`` atomically; returns the names written.
    Names that are not plain file names are skipped."""
    written = []
    folder = trials_dir / trial_id
    for name, text in encoded.items():
        if not name or name != Path(name).name or name.startswith("."):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64decode(text))
            os.chmod(tmp, 0o644)
            os.replace(tmp, folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(name)
    return written
