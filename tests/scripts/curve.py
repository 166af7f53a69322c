"""A training script that reports a scripted learning curve, one value per interval.

    python curve.py --curve 0.5,0.6,0.7 [--metric accuracy] [--plain] [--pause 0.05]
                    [--journal RUN_DIR/journal.jsonl --trials N]

Each value of ``--curve`` is reported as the primary metric, with ``hpt.log`` or, with
``--plain``, as a printed ``name=value`` line. Unknown arguments (the other hyperparameters hpt
passes) are ignored.

**Lockstep (``--journal``).** Early-termination policies see only the reports the driver has
received, so on a busy machine the order of reports decides what a policy sees. With the sweep's
journal and the number of trials, trials report in a fixed round-robin order, by trial number:
trial ``k`` prints its value at interval ``n`` only once every earlier trial has reported ``n``
values and every later one ``n - 1`` values (or has ended or been asked to stop), and waits for
its own report to be journaled before going on. The driver therefore receives the reports one at
a time, in one known order, and applies the policy after each: the history the policy sees at
every step is fixed, whatever the machine's load. A trial asked to stop reports nothing more and
waits to be stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ENDED = {"stop_requested", "completed", "failed", "terminated", "timed_out", "cancelled"}


class JournalView:
    """Incremental reader of the sweep's journal: report counts and ended trials."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.reports: dict[str, int] = {}
        self.ended: set[str] = set()

    def refresh(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        self.offset += end
        for raw in data[:end].splitlines():
            event = json.loads(raw)
            tid = event.get("trial_id")
            if event["event"] == "report":
                self.reports[tid] = self.reports.get(tid, 0) + 1
            elif event["event"] in ENDED:
                self.ended.add(tid)

    def wait(self, condition: object, poll: float = 0.02) -> None:
        while True:
            self.refresh()
            if condition():  # type: ignore[operator]
                return
            time.sleep(poll)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--curve", required=True)
    parser.add_argument("--metric", default=os.environ.get("HPT_PRIMARY_METRIC", "accuracy"))
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--journal", type=Path)
    parser.add_argument("--trials", type=int, default=1)
    args, _ = parser.parse_known_args()
    values = [float(v) for v in args.curve.split(",")]

    if args.plain:

        def report(value: float) -> None:
            print(f"{args.metric}={value!r}", flush=True)
    else:
        import hpt

        def report(value: float) -> None:
            hpt.log(args.metric, value)

    number = int(os.environ.get("HPT_TRIAL_NUMBER", "0"))
    me = os.environ.get("HPT_TRIAL_ID", f"{number:04d}")
    view = JournalView(args.journal) if args.journal else None
    others = [f"{j:04d}" for j in range(args.trials) if j != number]
    for n, value in enumerate(values, start=1):
        if view is not None:

            def my_turn(n: int = n) -> bool:
                if me in view.ended:
                    return False  # asked to stop: never report again
                return all(
                    tid in view.ended or view.reports.get(tid, 0) >= (n if tid < me else n - 1)
                    for tid in others
                )

            view.wait(lambda: me in view.ended or my_turn())
            if me in view.ended:
                while True:  # wait for hpt to stop this process
                    time.sleep(1)
        print(f"epoch {n}: training...", flush=True)  # noise that is not a report
        report(value)
        if view is not None:
            view.wait(lambda n=n: view.reports.get(me, 0) >= n)
        time.sleep(args.pause)


if __name__ == "__main__":
    main()
