"""``trainer=script``: each trial runs the user's training script (HyperDrive's "estimator" mode).

**Command line.** ``<python> <script> <trainer.args...> --<name> <value> ...``: the fixed
arguments first, then each sampled hyperparameter as ``--name value`` in the search space's order
(``True``/``False`` for booleans, ``repr`` for floats, JSON for lists and dicts). ``python`` is
``trainer.python``, default the worker's own interpreter (``sys.executable``), so the same
script runs unchanged wherever the worker runs. The working directory is the worker's (the
directory ``hpt`` was started from, for ``compute=local``).

**Environment.** The worker's, plus ``HPT_TRIAL_ID``, ``HPT_TRIAL_NUMBER``, ``HPT_ATTEMPT``,
``HPT_PRIMARY_METRIC``, ``PYTHONUNBUFFERED=1`` (printed lines reach hpt at once, not when a
4 KiB buffer fills) and, unless already set, ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/
``OPENBLAS_NUM_THREADS`` = ``resources.threads_per_trial`` (concurrent trials would otherwise
each use every core).

**Reporting metrics.** The script writes to its standard output either

* ``hpt.log("accuracy", 0.91)``, which prints ``@hpt {"metric": "accuracy", "value": 0.91}``, or
* a plain line that is exactly ``accuracy=0.91`` (a metric name, ``=``, a number; spaces around
  ``=`` and around the line are allowed, nothing else), for scripts that cannot import hpt.

Only whole lines of these two forms count, and only on standard output, so log messages that
merely contain ``accuracy=0.91`` (``INFO: accuracy=0.91``) are not reports. Every report of the
primary metric (``metric.primary_metric``; any name) is one interval and is emitted to the
driver at once, where early-termination policies see it. Other metrics are kept in the trial's
``metrics.jsonl`` and in the outcome's ``extra["metrics"]`` (their last values).

**Outcome.** The trial's final value is the **last** primary value the script reported (as in
HyperDrive, the script decides what its final number is: log the best epoch's value last if
that is what should count). Exiting with a non-zero code fails the trial with the tail of its
standard error; exiting with 0 without ever reporting the primary metric fails it too, naming
the metric and the names that were reported.

**Stopping.** ``should_stop`` is polled every :data:`POLL_SECONDS` while the output is read, so
a stop asked by a policy reaches the script within about a second: ``SIGTERM`` to the script's
process group (it runs in a new session, so its own child processes get it too), then
``SIGKILL`` after :data:`GRACE_SECONDS`. A hard stop of the worker itself (``trial_timeout``,
``max_duration``: the launcher kills the worker process) takes the script with it on Linux,
where the script is started with ``PR_SET_PDEATHSIG``; processes the script started itself are
not covered by that.

**Output.** Standard output and error are kept per trial in ``<log_dir>/<trial id>/stdout.log``
and ``stderr.log`` (a later attempt of the same trial appends after a separator line), written
by the worker as the lines arrive, so a trial that is killed keeps what it printed. The driver
gives the trainer ``<run dir>/trials`` as ``log_dir``; a worker that cannot create it (a remote
machine without the driver's file system) runs the trial without these files.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from hpt._metrics_log import PREFIX
from hpt.errors import ConfigError, TrialError
from hpt.trainers._base import Emit, ShouldStop, Trainer, TrialOutcome, TrialStopped
from hpt.trial import TrialSpec

__all__ = ["ScriptFailed", "ScriptTrainer", "format_arg", "parse_metric_line"]

#: How often ``should_stop`` is polled while the script runs (seconds).
POLL_SECONDS = 0.1
#: Time between SIGTERM and SIGKILL when a trial is stopped (seconds).
GRACE_SECONDS = 2.0
#: How long to wait for the output to close after the script exited; longer means a process it
#: started in the background still holds it open, and that process is killed (seconds).
ORPHAN_SECONDS = 1.0
#: Lines of standard error kept for the failure message.
STDERR_TAIL_LINES = 40

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)"
_PLAIN_LINE = re.compile(
    rf"(?P<name>[A-Za-z_][A-Za-z0-9_.\-/]*)[ \t]*=[ \t]*(?P<value>{_NUMBER})", re.IGNORECASE
)
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class ScriptFailed(TrialError):
    """The training script exited with an error, or without reporting the primary metric."""


def parse_metric_line(line: str) -> tuple[str, float] | None:
    """``(name, value)`` if ``line`` is a metric report, else None.

    >>> parse_metric_line('@hpt {"metric": "accuracy", "value": 0.91}')
    ('accuracy', 0.91)
    >>> parse_metric_line("  val_loss = 1.5e-3 ")
    ('val_loss', 0.0015)
    >>> parse_metric_line("INFO: accuracy=0.91") is None, parse_metric_line("lr=0.1x") is None
    (True, True)
    """
    text = line.strip()
    if text.startswith(PREFIX.strip()):
        try:
            data = json.loads(text[len(PREFIX.strip()) :])
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        name, value = data.get("metric"), data.get("value")
        if not isinstance(name, str) or isinstance(value, bool):
            return None
        if not isinstance(value, int | float):
            return None
        return name, float(value)
    match = _PLAIN_LINE.fullmatch(text)
    if match is None:
        return None
    return match["name"], float(match["value"])


def format_arg(value: Any) -> str:
    """A hyperparameter or fixed argument as command-line text.

    >>> [format_arg(v) for v in (0.1, 3, True, "gbtree", None, [1, 2], Path("/d"))]
    ['0.1', '3', 'True', 'gbtree', 'None', '[1, 2]', '/d']
    """
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalars: np.float64(0.1) -> 0.1
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    return os.fspath(value) if isinstance(value, os.PathLike) else str(value)


def _parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the kernel SIGKILL the script when the worker dies (Linux).

    The launcher's hard stop kills the worker with SIGKILL, which the worker cannot catch to
    stop the script itself. None where ``prctl`` is unavailable.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def arm() -> None:  # runs in the child between fork and exec: no locks, no allocation
        prctl(pr_set_pdeathsig, int(signal.SIGKILL))
        if os.getppid() != parent:  # the worker died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


def _signal_group(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Send ``sig`` to the script's process group (the script and what it started)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, sig)
        elif sig == signal.SIGTERM:  # pragma: no cover - Windows
            process.terminate()
        else:  # pragma: no cover - Windows
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass  # already gone


class _TrialLogs:
    """``stdout.log``, ``stderr.log`` and ``metrics.jsonl`` of one trial (or nothing)."""

    def __init__(self, directory: Path | None, spec: TrialSpec) -> None:
        self._files: dict[str, IO[str]] = {}
        if directory is None:
            return
        trial_dir = directory / spec.trial_id
        try:
            trial_dir.mkdir(parents=True, exist_ok=True)
            for name in ("stdout.log", "stderr.log", "metrics.jsonl"):
                path = trial_dir / name
                started = path.exists() and path.stat().st_size > 0
                handle = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
                self._files[name] = handle
                if started and name != "metrics.jsonl":
                    handle.write(f"----- hpt: attempt {spec.attempt} -----\n")
        except OSError:
            self.close()  # e.g. a remote worker without the driver's file system

    def line(self, stream: str, text: str) -> None:
        handle = self._files.get(f"{stream}.log")
        if handle is not None:
            handle.write(text if text.endswith("\n") else text + "\n")

    def metric(self, name: str, value: float, interval: int | None, attempt: int) -> None:
        handle = self._files.get("metrics.jsonl")
        if handle is not None:
            record = {"metric": name, "value": value, "attempt": attempt}
            if interval is not None:
                record["interval"] = interval
            handle.write(json.dumps(record) + "\n")

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files = {}


def _pump(stream: IO[str], name: str, lines: queue.SimpleQueue[tuple[str, str | None]]) -> None:
    """Reader thread: forward each line of ``stream``, then ``None`` at end of file."""
    try:
        for line in stream:
            lines.put((name, line))
    except (OSError, ValueError):
        pass  # the pipe was closed under us
    finally:
        lines.put((name, None))


class ScriptTrainer(Trainer):
    """Runs ``script`` once per trial with the trial's hyperparameters as arguments.

    See the module documentation for the command line, the two reporting formats, the outcome
    and stopping rules. ``metric`` is the primary metric's name; ``log_dir`` the folder that
    receives ``<trial id>/stdout.log``, ``stderr.log`` and ``metrics.jsonl`` (None: no files).
    """

    def __init__(
        self,
        script: str | os.PathLike[str],
        metric: str,
        *,
        args: Sequence[Any] = (),
        python: str | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
    ) -> None:
        self.script = str(script)
        self.metric = metric
        self.args = [format_arg(a) for a in args]
        self.python = python
        self.log_dir = None if log_dir is None else str(log_dir)
        self.threads = threads

    # -- configuration -----------------------------------------------------------------------
    @staticmethod
    def validate(trainer_cfg: Any, *, interval_unit: str = "fold") -> None:
        """Raise :class:`~hpt.errors.ConfigError` for a ``trainer`` config that cannot run:
        no or a missing ``script``, non-scalar ``args``, an unknown ``python``, or
        ``policy.interval_unit=round`` (a script's intervals are its own reports)."""
        script = trainer_cfg.get("script")
        if not script:
            raise ConfigError(
                "trainer.script",
                "is not set; trainer=script runs your training script once per trial: pass "
                "trainer.script=path/to/train.py",
            )
        path = Path(str(script)).expanduser()
        if not path.is_file():
            where = path if path.is_absolute() else f"{path} from {Path.cwd()}"
            raise ConfigError(
                "trainer.script",
                f"{str(script)!r} is not a file ({where}); fix the path (a relative path is "
                "relative to the directory hpt runs in)",
            )
        for i, arg in enumerate(trainer_cfg.get("args") or ()):
            if arg is not None and not isinstance(arg, str | int | float):
                raise ConfigError(
                    f"trainer.args[{i}]",
                    f"must be a string or number, got {arg!r}; write each argument as one item, "
                    "e.g. trainer.args=[--epochs,10]",
                )
        python = trainer_cfg.get("python")
        if python and not (Path(str(python)).expanduser().is_file() or shutil.which(str(python))):
            raise ConfigError(
                "trainer.python",
                f"{python!r} is neither a file nor a command on PATH; give the interpreter's "
                "path, or omit it to use the one running hpt",
            )
        if interval_unit != "fold":
            raise ConfigError(
                "policy.interval_unit",
                f"is {interval_unit!r}, but a training script's intervals are its reports of the "
                "primary metric; remove policy.interval_unit (round is for the built-in cv "
                "trainer)",
            )

    @classmethod
    def from_config(
        cls, cfg: Any, metric: str, *, log_dir: str | os.PathLike[str] | None = None
    ) -> ScriptTrainer:
        """The trainer for a composed config (``cfg.trainer``, ``cfg.resources``); the script
        path is made absolute here, on the driver, so workers find it wherever they start."""
        from omegaconf import OmegaConf

        trainer_cfg = cfg.trainer
        ScriptTrainer.validate(trainer_cfg)
        args = OmegaConf.to_container(trainer_cfg.args, resolve=True) if trainer_cfg.args else []
        assert isinstance(args, list)
        resources = cfg.get("resources")
        threads = resources.get("threads_per_trial") if resources is not None else None
        return cls(
            Path(str(trainer_cfg.script)).expanduser().resolve(),
            metric,
            args=args,
            python=None if not trainer_cfg.get("python") else str(trainer_cfg.python),
            log_dir=None if log_dir is None else Path(log_dir).resolve(),
            threads=None if threads is None else int(threads),
        )

    def command(self, params: Mapping[str, Any]) -> list[str]:
        """The command line of a trial with ``params``."""
        command = [self.python or sys.executable, self.script, *self.args]
        for name, value in params.items():
            command += [f"--{name}", format_arg(value)]
        return command

    def _environment(self, spec: TrialSpec) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HPT_TRIAL_ID=spec.trial_id,
            HPT_TRIAL_NUMBER=str(spec.number),
            HPT_ATTEMPT=str(spec.attempt),
            HPT_PRIMARY_METRIC=self.metric,
            PYTHONUNBUFFERED="1",
        )
        if self.threads is not None:
            for name in _THREAD_VARIABLES:
                env.setdefault(name, str(self.threads))
        return env

    # -- running -----------------------------------------------------------------------------
    def run(self, spec: TrialSpec, emit: Emit, should_stop: ShouldStop) -> TrialOutcome:
        """Run the script for ``spec``; see the module documentation for the contract."""
        if should_stop():
            raise TrialStopped()
        logs = _TrialLogs(None if self.log_dir is None else Path(self.log_dir), spec)
        try:
            process = subprocess.Popen(
                self.command(spec.params),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._environment(spec),
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=os.name == "posix",
                preexec_fn=_parent_death_signal(),  # before the reader threads start
            )
        except OSError as err:
            logs.close()
            raise ScriptFailed(f"cannot start {self.script}: {err}") from None
        lines: queue.SimpleQueue[tuple[str, str | None]] = queue.SimpleQueue()
        readers = [
            threading.Thread(target=_pump, args=(stream, name, lines), daemon=True)
            for stream, name in ((process.stdout, "stdout"), (process.stderr, "stderr"))
        ]
        for reader in readers:
            reader.start()
        try:
            return self._follow(spec, process, lines, logs, emit, should_stop)
        finally:
            if process.poll() is None:  # an exception of our own (or the emit channel) broke out
                _signal_group(process, signal.SIGKILL)
                process.wait()
            for reader in readers:
                reader.join(timeout=1.0)
            logs.close()

    def _follow(
        self,
        spec: TrialSpec,
        process: subprocess.Popen[str],
        lines: queue.SimpleQueue[tuple[str, str | None]],
        logs: _TrialLogs,
        emit: Emit,
        should_stop: ShouldStop,
    ) -> TrialOutcome:
        """Read the script's output until it ends, reporting metrics and obeying stops."""
        interval = len(spec.reported)
        primary: float | None = None
        others: dict[str, float] = {}
        stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        open_streams = 2
        exited_at: float | None = None
        while open_streams:
            if should_stop():
                self._terminate(process)
                self._drain(lines, logs)
                raise TrialStopped()
            try:
                stream, line = lines.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if process.poll() is not None:
                    # The script is gone but its output is still open: something it started in
                    # the background holds it. Give it a moment, then end the process group.
                    exited_at = exited_at or time.monotonic()
                    if time.monotonic() - exited_at > ORPHAN_SECONDS:
                        _signal_group(process, signal.SIGKILL)
                        break
                continue
            if line is None:
                open_streams -= 1
                continue
            logs.line(stream, line)
            if stream == "stderr":
                stderr_tail.append(line.rstrip("\n"))
                continue
            parsed = parse_metric_line(line)
            if parsed is None:
                continue
            name, value = parsed
            if name == self.metric:
                interval += 1
                primary = value
                logs.metric(name, value, interval, spec.attempt)
                emit({"event": "report", "interval": interval, "value": value})
            else:
                others[name] = value
                logs.metric(name, value, None, spec.attempt)
        code = process.wait()
        if code != 0:
            raise self._failure(code, stderr_tail)
        if primary is None:
            seen = f" (it reported {', '.join(sorted(others))})" if others else ""
            raise ScriptFailed(
                f"{Path(self.script).name} exited with code 0 without reporting the primary "
                f"metric {self.metric!r}{seen}; log it with hpt.log({self.metric!r}, value) or "
                f"print a line {self.metric}=<value>"
            )
        extra: dict[str, Any] = {"intervals": interval}
        if others:
            extra["metrics"] = others
        return TrialOutcome(primary, extra=extra)

    def _failure(self, code: int, stderr_tail: deque[str]) -> ScriptFailed:
        """The failure of a script that exited with ``code``; its stderr tail as a note (which
        the worker's traceback text, hence the trial's ``error.txt``, includes)."""
        name = Path(self.script).name
        if code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        last = next((text.strip() for text in reversed(stderr_tail) if text.strip()), "")
        failure = ScriptFailed(f"{name} {how}" + (f": {last}" if last else ""))
        if stderr_tail:
            failure.add_note(f"stderr (last {len(stderr_tail)} lines):\n" + "\n".join(stderr_tail))
        return failure

    @staticmethod
    def _terminate(process: subprocess.Popen[str]) -> None:
        """SIGTERM to the script's group, SIGKILL after :data:`GRACE_SECONDS` if it lingers."""
        _signal_group(process, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=GRACE_SECONDS)
        # Also reaches children that ignored SIGTERM after the script itself exited.
        _signal_group(process, signal.SIGKILL)
        process.wait()

    @staticmethod
    def _drain(lines: queue.SimpleQueue[tuple[str, str | None]], logs: _TrialLogs) -> None:
        """Keep what the script printed before it was stopped (no more reports, though)."""
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                stream, line = lines.get(timeout=0.05)
            except queue.Empty:
                return
            if line is not None:
                logs.line(stream, line)
