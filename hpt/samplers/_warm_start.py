"""Earlier sweeps' finished trials as prior observations (HyperDrive's ``resume_from``, no limit).

Each run dir's journal is replayed (:class:`hpt.state.SweepState`); its finished trials that
inform a model (see :func:`hpt.samplers._bayesian.observation`) are mapped into the new space.
A trial is dropped when one of its values lies outside the new space, when it lacks a searched
dimension, or when it differs from a now-fixed value; dimensions the new space no longer has are
ignored. One log line per run dir says how many were used and why the others were dropped. A run
whose ``metric.goal`` differs from this sweep's is skipped whole (its values point the other way).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from hpt.errors import ConfigError
from hpt.journal import JOURNAL_NAME, read_journal
from hpt.samplers._observations import Observation, observation
from hpt.samplers._optuna_space import OptunaSpace
from hpt.state import SweepState

log = logging.getLogger("hpt")
KEY = "sampler.warm_start_from"


def load_warm_start(run_dirs: Sequence[str], space: OptunaSpace, goal: str) -> list[Observation]:
    """Observations from every run dir, in order (run dirs as given, trials by number)."""
    if isinstance(run_dirs, str):
        run_dirs = [run_dirs]
    observations: list[Observation] = []
    for entry in run_dirs:
        directory = Path(str(entry)).expanduser()
        if not (directory / JOURNAL_NAME).is_file():
            what = "does not exist" if not directory.exists() else f"has no {JOURNAL_NAME}"
            raise ConfigError(
                KEY, f"{str(entry)!r} {what}; list the output dirs of earlier sweeps (hpt runs)"
            )
        state = SweepState.replay(read_journal(directory))
        parent_goal = state.header.get("config", {}).get("metric", {}).get("goal", goal)
        if parent_goal != goal:
            log.warning(
                "warm start: skipping %s, its metric.goal is %s and this sweep's is %s",
                directory,
                parent_goal,
                goal,
            )
            continue
        used = 0
        dropped: Counter[str] = Counter()
        for record in state.records():
            internal, why = space.to_internal(record.params)
            if internal is None:
                if record.status.is_finished():
                    dropped[why or "outside the space"] += 1
                continue
            obs = observation(record, internal)
            if obs is None or (obs.value is None and not obs.stopped_early):
                continue  # failed without a value, or never finished: nothing learnt
            observations.append(obs)
            used += 1
        reasons = "; ".join(f"{why} ({n})" for why, n in sorted(dropped.items()))
        log.info(
            "warm start: %d trial(s) from %s used%s",
            used,
            directory,
            f", {sum(dropped.values())} dropped: {reasons}" if dropped else "",
        )
    return observations
