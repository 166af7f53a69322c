"""A training script whose trials take a moment: ``accuracy = 1 - (x - 0.3)^2``."""

import sys
import time

args = dict(zip(sys.argv[1::2], sys.argv[2::2], strict=False))
time.sleep(float(args.get("--pause", "0.7")))
x = float(args["--x"])
print(f"accuracy={1 - (x - 0.3) ** 2}")
