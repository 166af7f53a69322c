"""A training script that goes wrong, for the failure tests.

    python fail.py --mode raise|silent|wrong_name

``raise``: reports once, then raises (exit code 1, a traceback on stderr). ``silent``: exits 0
having reported only another metric. ``wrong_name``: reports ``acc`` where ``accuracy`` is expected.
"""

from __future__ import annotations

import argparse
import sys

import hpt

parser = argparse.ArgumentParser()
parser.add_argument("--mode", required=True)
args, _ = parser.parse_known_args()

if args.mode == "raise":
    hpt.log("accuracy", 0.5)
    print("loading data", file=sys.stderr)
    raise ValueError("learning rate too high: loss diverged")
if args.mode == "silent":
    hpt.log("loss", 0.3)
elif args.mode == "wrong_name":
    hpt.log("acc", 0.9)
