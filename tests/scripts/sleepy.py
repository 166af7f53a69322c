"""A training script that reports once and then sleeps, for the stop and time-limit tests.

    python sleepy.py --pid-dir DIR [--seconds 60] [--ignore-term] [--child]

Writes its pid (and, with ``--child``, the pid of a child process it starts) to ``DIR/<trial
id>.pid`` so the tests can check that the processes are gone afterwards. ``--ignore-term``
ignores SIGTERM, so only SIGKILL ends it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--pid-dir", type=Path, required=True)
parser.add_argument("--seconds", type=float, default=60.0)
parser.add_argument("--ignore-term", action="store_true")
parser.add_argument("--child", action="store_true")
args, _ = parser.parse_known_args()

if args.ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
pids = [os.getpid()]
if args.child:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    pids.append(child.pid)
trial = os.environ.get("HPT_TRIAL_ID", "standalone")
args.pid_dir.mkdir(parents=True, exist_ok=True)
(args.pid_dir / f"{trial}.pid").write_text(" ".join(map(str, pids)))
print("accuracy=0.5", flush=True)
time.sleep(args.seconds)
print("accuracy=0.6", flush=True)
