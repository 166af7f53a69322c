"""The worker process of ``compute=local``: ``python -m launchers._local_worker FD``.

Started as a plain subprocess (not ``multiprocessing``), so it never re-runs the user's main script:
``hpt.tune`` works from a script or notebook without an ``if __name__ == "__main__"`` guard.

Protocol over the inherited socket ``FD`` (``multiprocessing.connection`` framing):
the driver sends the trainer once (``hpt.data._shared`` pickle bytes: its big arrays are
``.npy`` files this process maps read-only), then JSON messages ``{"run": spec}`` /
``{"stop": number}`` / ``null`` (exit); the worker sends events as ``hpt.events.encode`` JSON.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection

from hpt.data._shared import loads_shared
from hpt.events import encode
from hpt.trainers import Trainer
from hpt.trial import TrialSpec
from hpt.worker import execute


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the driver dies (even by SIGKILL): no orphans."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
    # The driver already died before the request took effect: we were re-parented. (Compared with
    # the driver's pid, not with 1: inside a container the driver itself may be pid 1.)
    expected = os.environ.get("HPT_DRIVER_PID")
    if os.getppid() != (int(expected) if expected else os.getppid()):
        os._exit(1)


def main(fd: int, modules: list[str]) -> None:
    _die_with_parent()
    # Ctrl-C reaches the whole process group; the driver decides what happens to running trials.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in modules:  # import the estimator's library while the driver still loads data
        try:
            importlib.import_module(name)
        except Exception:
            pass  # unpickling the trainer will raise the real error, with context
    conn = Connection(fd)
    trainer: Trainer = loads_shared(conn.recv_bytes())
    trainer.setup()
    runs: list[TrialSpec] = []
    stopped: set[int] = set()
    wake = threading.Condition()
    send_lock = threading.Lock()

    def reader() -> None:
        """Receive control messages while the main thread runs a trial."""
        while True:
            try:
                message = json.loads(conn.recv_bytes())
            except (EOFError, OSError):
                message = None
            with wake:
                if message is None:
                    runs.append(TrialSpec("", -1, 0, {}))  # sentinel: exit
                elif "stop" in message:
                    stopped.add(int(message["stop"]))
                else:
                    runs.append(TrialSpec.from_json(message["run"]))
                wake.notify_all()
            if message is None:
                return

    def send(event: dict[str, object]) -> None:
        line = encode(event).encode()
        with send_lock:
            conn.send_bytes(line)

    threading.Thread(target=reader, name="hpt-control", daemon=True).start()
    while True:
        with wake:
            while not runs:
                wake.wait()
            spec = runs.pop(0)
            stopped.discard(spec.number)
        if spec.number < 0:
            return

        def should_stop(number: int = spec.number) -> bool:
            return number in stopped

        execute(trainer, spec, send, should_stop)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
