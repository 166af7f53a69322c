"""``compute=dsvm``: the whole sweep runs in a container on a machine reached over SSH.

Submitting ships the composed experiment (its compute target switched to ``local``: the trials use
the remote machine's cores; ``${oc.env:...}`` secrets stay unresolved in the file and travel in
the container's environment), the training script and data files it names, then starts the
container detached (``docker run -d``), so the sweep survives the SSH connection. The submitting
process then mirrors the remote journal into the local run dir (:mod:`hpt.remote._mirror`), shows
progress, and copies the result files at the end. Ctrl-C detaches; ``hpt attach`` follows again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shlex
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hpt.errors import ConfigError, HptError, SweepAborted
from hpt.experiment import Experiment
from hpt.journal import read_journal
from hpt.remote._base import REMOTE_FILE, Detached, RemoteDied, RemoteStatus, RemoteTarget
from hpt.remote._mirror import fetch_results, pull_journal, read_remote_journal
from hpt.remote._settings import DsvmSettings
from hpt.remote._ssh import Ssh, Unreachable
from hpt.results import best_trial
from hpt.session import TuneResult, default_callbacks, held_lock, tune_result
from hpt.state import SweepState

log = logging.getLogger("hpt")

CONFIG_NAME = "hpt_config.yaml"
_ENV_REF = re.compile(r"\$\{\s*oc\.env\s*:\s*([A-Za-z_][A-Za-z0-9_]*)")
_RUNNING = {"running", "created", "configured", "initialized", "stopping", "paused", "restarting"}
_IN_CONTAINER_RUN_DIR = "/hpt/run"


def env_names(config_text: str, extra: list[str]) -> list[str]:
    """The environment variables the remote sweep needs: every ``${oc.env:VAR}`` of its config
    plus ``compute.env``."""
    return sorted({*_ENV_REF.findall(config_text), *extra})


class SshContainerTarget(RemoteTarget):
    """Runs the sweep's driver in a container on ``host`` (see conf/compute/dsvm.yaml)."""

    def __init__(self, **settings: Any) -> None:
        self.settings = DsvmSettings.from_dict(settings)

    @classmethod
    def preflight(cls, settings: dict[str, Any]) -> None:
        DsvmSettings.from_dict(settings)

    def _ssh(self) -> Ssh:
        return Ssh(self.settings.ssh())

    def describe(self) -> str:
        s = self.settings
        return f"{s.runtime} container {s.image} on {s.user}@{s.host}:{s.port}"

    # -- prepare ---------------------------------------------------------------------------------
    def prepare(self, exp: Experiment) -> str:
        from hpt.remote._image import prepare

        ssh = self._ssh()
        try:
            return prepare(ssh, self.settings, exp)
        finally:
            ssh.close()

    # -- submit ----------------------------------------------------------------------------------
    def submit(self, cfg: DictConfig, exp: Experiment, run_dir: Path) -> TuneResult:
        s = self.settings
        lock = held_lock(run_dir, "remote sweep")
        if read_journal(run_dir):
            lock.release()
            raise HptError(
                f"{run_dir} already holds a sweep; continue it with: hpt resume {run_dir}"
            )
        ssh = self._ssh()
        try:
            (run_dir / CONFIG_NAME).write_text(OmegaConf.to_yaml(cfg, resolve=False))
            code, _, _ = ssh.run(f"{s.runtime} image inspect {shlex.quote(s.image)} >/dev/null")
            if code != 0:
                raise ConfigError(
                    "compute.image",
                    f"{s.image!r} is not on {s.host}; build it first with: hpt prepare "
                    "(with the same experiment and compute= overrides)",
                )
            run_id = f"{run_dir.parent.name}_{run_dir.name}-{secrets.token_hex(3)}"
            remote_dir = f"{s.work_path}/runs/{run_id}"
            ssh.check(
                f"mkdir -p {shlex.quote(remote_dir)}/inputs {shlex.quote(s.work_path)}/cache",
                what="creating the remote run dir",
            )
            shipped = self._shipped_config(cfg, exp)
            with ssh.sftp().open(f"{remote_dir}/{CONFIG_NAME}", "w") as handle:
                handle.write(shipped)
            info: dict[str, Any] = {
                "target": f"{type(self).__module__.rsplit('.', 1)[0]}.{type(self).__name__}",
                "settings": s.as_dict(),
                "run_id": run_id,
                "remote_dir": remote_dir,
                "container": f"hpt-{run_id}",
                "mounts": self._ship_inputs(ssh, cfg, remote_dir),
                "workdir": os.getcwd(),
                "env": env_names(shipped, s.env),
                "submitted": round(time.time(), 3),
            }
            _write_info(run_dir, info)
            self._start(ssh, info, ["tune"])
            log.info(
                "submitted to %s: container %s, remote dir %s",
                s.host,
                info["container"],
                remote_dir,
            )
            log.info("Ctrl-C detaches (the sweep goes on); come back with: hpt attach %s", run_dir)
            return self._follow(ssh, run_dir, exp)
        except BaseException:
            ssh.close()
            lock.release()
            raise

    def _shipped_config(self, cfg: DictConfig, exp: Experiment) -> str:
        plain = OmegaConf.to_container(cfg, resolve=False)
        assert isinstance(plain, dict)
        plain["compute"] = {"_target_": "launchers.local.LocalLauncher"}
        resources = plain.setdefault("resources", {})
        if resources.get("max_concurrent_runs") is None and self.settings.cores:
            resources["max_concurrent_runs"] = self.settings.cores
        return OmegaConf.to_yaml(OmegaConf.create(plain))

    def _ship_inputs(self, ssh: Ssh, cfg: DictConfig, remote_dir: str) -> list[list[str]]:
        """Copy the script and data files the config names; they are mounted in the container at
        their local absolute paths, so the shipped config is the local one, unchanged."""
        paths: list[str] = []
        if str(cfg.trainer.kind) == "script" and cfg.trainer.script:
            paths.append(str(cfg.trainer.script))
        if cfg.dataset.path and str(cfg.dataset.kind) in ("file", "talkingdata"):
            paths.append(str(cfg.dataset.path))
        mounts: list[list[str]] = []
        sftp = ssh.sftp()
        for i, raw in enumerate(paths):
            local = Path(raw).expanduser().absolute()
            if not local.exists():
                continue  # the experiment's own check reports it where it is read
            copy = f"{remote_dir}/inputs/{i}-{local.name}"
            if local.is_dir():
                ssh.check(f"mkdir -p {shlex.quote(copy)}")
                for item in sorted(local.rglob("*")):
                    target = f"{copy}/{item.relative_to(local).as_posix()}"
                    if item.is_dir():
                        ssh.check(f"mkdir -p {shlex.quote(target)}")
                    else:
                        sftp.put(str(item), target)
            else:
                sftp.put(str(local), copy)
            mounts.append([copy, str(local)])
        return mounts

    def _start(self, ssh: Ssh, info: dict[str, Any], args: list[str]) -> None:
        """``runtime run -d`` the driver; secrets go through a 0600 env file deleted at once."""
        s = self.settings
        present = [name for name in info["env"] if name in os.environ]
        command = [
            s.runtime, "run", "-d", "--name", info["container"],
            "--label", f"hpt.run={info['run_id']}",
            "-v", f"{info['remote_dir']}:{_IN_CONTAINER_RUN_DIR}",
            "-v", f"{s.work_path}/cache:/hpt/cache",
            "-e", "HPT_DATA_DIR=/hpt/cache",
        ]  # fmt: skip
        # Relative paths in the config mean what they mean here: run in the same working dir when
        # a shipped input lives under it (its mount makes the dir exist in the container).
        cwd = info["workdir"].rstrip("/") + "/"
        inside_cwd = any(local.startswith(cwd) for _, local in info["mounts"])
        command += ["-w", info["workdir"] if inside_cwd else _IN_CONTAINER_RUN_DIR]
        for copy, local in info["mounts"]:
            command += ["-v", f"{copy}:{local}:ro"]
        for volume in s.volumes:
            command += ["-v", volume]
        env_file = f"{info['remote_dir']}/.env-{secrets.token_hex(4)}"
        if present:
            for name in present:
                if "\n" in os.environ[name]:
                    raise ConfigError(
                        "compute.env", f"${name} holds a newline; it cannot be passed"
                    )
            ssh.write_private(env_file, "".join(f"{n}={os.environ[n]}\n" for n in present).encode())
            command += ["--env-file", env_file]
        command += [*s.run_args, s.image, s.python, "-m", "hpt.remote._inside"]
        command += [_IN_CONTAINER_RUN_DIR, *args]
        for name in present:
            command += ["--require", name]
        line = " ".join(shlex.quote(c) for c in command)
        out = ssh.check(
            f"{line}; rc=$?; rm -f {shlex.quote(env_file)}; exit $rc", what="starting the container"
        )
        log.debug("container id %s", out.strip())

    # -- following -------------------------------------------------------------------------------
    def _container(self, ssh: Ssh, name: str) -> tuple[str, int | None]:
        """The container's (status, exit code); ("missing", None) when it does not exist. The
        answer carries a marker, so a command cut short (a dropped connection) is retried, never
        mistaken for a missing container."""
        fmt = shlex.quote("{{.State.Status}} {{.State.ExitCode}}")
        runtime, quoted = self.settings.runtime, shlex.quote(name)
        _, out, _ = ssh.run(
            f"if s=$({runtime} inspect --format {fmt} {quoted} 2>/dev/null); "
            'then echo "hpt-state $s"; else echo hpt-missing; fi'
        )
        words = out.split()
        if words[:1] == ["hpt-missing"]:
            return "missing", None
        if words[:1] != ["hpt-state"] or len(words) < 3:
            raise OSError(f"no answer about container {name} (got {out.strip()!r})")
        exit_code = words[2]
        return words[1], int(exit_code) if exit_code.lstrip("-").isdigit() else None

    def _log_tail(self, ssh: Ssh, name: str, lines: int = 12) -> list[str]:
        _, out, err = ssh.run(
            f"{self.settings.runtime} logs --tail {lines} {shlex.quote(name)} 2>&1"
        )
        return [line for line in (out or err).splitlines() if line.strip()][-lines:]

    def _follow(self, ssh: Ssh, run_dir: Path, exp: Experiment) -> TuneResult:
        """Mirror until the container ends; holds the local lock; closes ``ssh``."""
        info = _read_info(run_dir)
        lock = held_lock(run_dir, "remote mirror")
        hooks = default_callbacks(exp, run_dir)
        state = SweepState.replay(read_journal(run_dir))
        try:
            for hook in hooks:
                hook.on_start(state, resumed=bool(state.trials))
            try:
                while True:
                    self._apply(ssh, run_dir, info, state, hooks)
                    status, exit_code = ssh.retrying(
                        "checking the container", lambda: self._container(ssh, info["container"])
                    )
                    if status not in _RUNNING:
                        self._apply(ssh, run_dir, info, state, hooks)
                        break
                    time.sleep(self.settings.poll_seconds)
            except Unreachable as err:
                for hook in hooks:
                    hook.on_end(state, None)
                raise Unreachable(
                    f"{err}; the sweep goes on there if the machine is up: follow it again with "
                    f"hpt attach {run_dir}"
                ) from None
            except KeyboardInterrupt:
                for hook in hooks:
                    hook.on_end(state, None)
                raise Detached(
                    f"detached; the sweep goes on on {self.settings.host}. Follow it again with: "
                    f"hpt attach {run_dir} (stop it: hpt cancel {run_dir})"
                ) from None
            for hook in hooks:
                hook.on_end(state, state.end_reason)
            ssh.retrying(
                "copying the results", lambda: fetch_results(ssh, info["remote_dir"], run_dir)
            )
            tail = [] if state.finished else self._log_tail(ssh, info["container"])
            if state.finished and exit_code == 0:
                ssh.run(f"{self.settings.runtime} rm {shlex.quote(info['container'])}")
        finally:
            ssh.close()
            lock.release()
        return self._conclude(run_dir, exp, state, status, exit_code, tail)

    def _apply(
        self, ssh: Ssh, run_dir: Path, info: dict[str, Any], state: SweepState, hooks: list[Any]
    ) -> None:
        records = ssh.retrying(
            "mirroring the journal", lambda: pull_journal(ssh, info["remote_dir"], run_dir)
        )
        for record in records:
            state.apply(record)
            for hook in hooks:
                hook.on_event(record, state)

    def _conclude(
        self,
        run_dir: Path,
        exp: Experiment,
        state: SweepState,
        status: str,
        exit_code: int | None,
        tail: list[str],
    ) -> TuneResult:
        if state.aborted:
            raise SweepAborted(f"the remote sweep aborted ({state.end_reason}); see {run_dir}")
        if not state.finished or exit_code not in (0, None):
            lines = " | ".join(tail[-5:]) or "no output"
            raise RemoteDied(
                f"the remote sweep's container {status} (exit code {exit_code}) before the sweep "
                f"finished; its last lines: {lines}. The results so far are in {run_dir}; "
                f"continue with: hpt resume {run_dir}"
            )
        return result_of(run_dir, exp, state)

    # -- attach / status / cancel / resume -------------------------------------------------------
    def attach(self, run_dir: Path) -> TuneResult:
        exp = _local_experiment(run_dir)
        ssh = self._ssh()
        held_lock(run_dir, "remote mirror")
        log.info("attached to %s; Ctrl-C detaches again", self.settings.host)
        return self._follow(ssh, run_dir, exp)

    def status(self, run_dir: Path) -> RemoteStatus:
        info = _read_info(run_dir)
        ssh = self._ssh()
        try:
            container, exit_code = self._container(ssh, info["container"])
            events = read_remote_journal(ssh, info["remote_dir"])
            tail = [] if container in _RUNNING else self._log_tail(ssh, info["container"], 5)
        except (ConfigError, HptError):
            raise
        except Exception as err:  # unreachable: say so and show the local mirror
            state = SweepState.replay(read_journal(run_dir))
            return status_of(state, "unknown", f"{self.settings.host} unreachable: {err}", [])
        finally:
            ssh.close()
        state = SweepState.replay(events)
        if container in _RUNNING:
            return status_of(
                state, "running", f"container {info['container']} on {self.settings.host}", []
            )
        if state.finished:
            return status_of(
                state, "aborted" if state.aborted else "finished", state.end_reason or "", []
            )
        detail = f"container {container}, exit code {exit_code}; continue with hpt resume {run_dir}"
        stopped = bool(events) and events[-1].get("event") == "sweep_interrupted"
        return status_of(state, "stopped" if stopped else "died", detail, tail)

    def cancel(self, run_dir: Path) -> RemoteStatus:
        info = _read_info(run_dir)
        ssh = self._ssh()
        try:
            container, _ = self._container(ssh, info["container"])
            if container in _RUNNING:
                log.info("stopping container %s on %s", info["container"], self.settings.host)
                ssh.check(
                    f"{self.settings.runtime} stop -t 30 {shlex.quote(info['container'])}",
                    timeout=self.settings.command_timeout + 40,
                    what="stopping the container",
                )
            from hpt.rundir import RunDirBusy

            try:
                held_lock(run_dir, "remote mirror")
            except RunDirBusy:
                log.info("another hpt follows this sweep; it copies the results")
            else:
                try:
                    self._follow(ssh, run_dir, _local_experiment(run_dir))
                except (RemoteDied, SweepAborted):
                    pass  # a cancelled sweep ends unfinished: that is the point
        finally:
            ssh.close()
        return self.status(run_dir)

    def resume(
        self,
        run_dir: Path,
        *,
        overrides: list[str],
        force: bool,
        extend: int | None,
        rerun_failed: bool,
    ) -> TuneResult | None:
        info = _read_info(run_dir)
        exp = _local_experiment(run_dir)
        ssh = self._ssh()
        lock = held_lock(run_dir, "remote mirror")
        try:
            container, _ = self._container(ssh, info["container"])
            if container in _RUNNING:
                raise ConfigError(
                    "run_dir",
                    f"the sweep is still running on {self.settings.host}; follow it with: hpt "
                    f"attach {run_dir} (or stop it first: hpt cancel {run_dir})",
                )
            if not read_remote_journal(ssh, info["remote_dir"]):
                raise HptError(
                    f"the remote run dir {info['remote_dir']} is gone from {self.settings.host}; "
                    f"continue here instead with: hpt resume {run_dir} compute=local"
                )
            ssh.run(f"{self.settings.runtime} rm -f {shlex.quote(info['container'])}")
            info["starts"] = int(info.get("starts", 1)) + 1
            info["container"] = f"hpt-{info['run_id']}-{info['starts']}"
            info["env"] = env_names((run_dir / CONFIG_NAME).read_text(), self.settings.env)
            _write_info(run_dir, info)
            args = ["resume"]
            args += ["--force"] if force else []
            args += ["--rerun-failed"] if rerun_failed else []
            args += ["--extend", str(extend)] if extend is not None else []
            args += [o for o in overrides if not o.lstrip("+~").startswith("compute")]
            self._start(ssh, info, args)
            log.info("resuming on %s in container %s", self.settings.host, info["container"])
            return self._follow(ssh, run_dir, exp)
        except BaseException:
            ssh.close()
            lock.release()
            raise


def _write_info(run_dir: Path, info: dict[str, Any]) -> None:
    partial = run_dir / f".{REMOTE_FILE}.part"
    partial.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    os.replace(partial, run_dir / REMOTE_FILE)


def _read_info(run_dir: Path) -> dict[str, Any]:
    info = json.loads((run_dir / REMOTE_FILE).read_text())
    assert isinstance(info, dict)
    return info


def _local_experiment(run_dir: Path) -> Experiment:
    from hpt.config import as_config

    return Experiment.from_config(as_config(OmegaConf.load(run_dir / CONFIG_NAME)))


def status_of(state: SweepState, what: str, detail: str, tail: list[str]) -> RemoteStatus:
    config = state.header.get("config") or {}
    metric = config.get("metric") or {}
    best = best_trial(state, str(metric.get("goal", "maximize")))
    return RemoteStatus(
        state=what,
        detail=detail,
        trials_done=state.count_finished(),
        trials_planned=state.max_total_runs,
        best=None
        if best is None
        else {
            "metric": metric.get("primary_metric", "score"),
            "value": best.value,
            "trial_id": best.trial_id,
            "params": dict(best.params),
        },
        log_tail=tail,
    )


def result_of(run_dir: Path, exp: Experiment, state: SweepState) -> TuneResult:
    """The :class:`TuneResult` of a mirrored run dir (the model is the remote refit's)."""

    def saved_model(_best: Any) -> Any:
        model = run_dir / "model.joblib"
        if not model.exists():
            return None
        import joblib

        return joblib.load(model)

    return tune_result(exp, run_dir, state, state.end_reason or "finished", saved_model)
