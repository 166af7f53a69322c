"""A training script that cannot use hpt: it reports by printing plain ``name=value`` lines.

    python plain_no_hpt.py --lr 0.1 [--epochs 3]

Prints, per epoch, noise that must not count as a report, an ``accuracy=...`` line (the primary
metric in the tests) and a ``loss=...`` line (another metric).
"""

from __future__ import annotations

import argparse
import sys

sys.modules["hpt"] = None  # type: ignore[assignment]  # `import hpt` fails, as where it is not installed

try:
    import hpt  # noqa: F401
except ImportError:
    pass
else:  # pragma: no cover
    raise SystemExit("hpt should not be importable here")

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()

print(f"training with lr={args.lr} for {args.epochs} epochs")  # not a whole-line report
print("INFO: accuracy=0.99 (a log message, not a report)")
for epoch in range(1, args.epochs + 1):
    accuracy = round(0.5 + args.lr * epoch, 6)
    print(f"epoch {epoch}/{args.epochs}")
    print(f"accuracy={accuracy}")
    print(f"loss = {round(1 - accuracy, 6)}")
print("done", file=sys.stderr)
