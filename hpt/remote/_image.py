"""``hpt prepare``: the container image the remote sweep runs in, built on the remote machine.

hpt writes a Dockerfile from the experiment's dependencies: the base image, hpt itself (a wheel of
this very hpt, so the remote driver is the same code as the local one) and the Python packages the
experiment needs, pinned to the versions installed here, so the remote trials compute what a local
run computes. The image is tagged with a hash of its content (Dockerfile, wheel contents,
requirements), so preparing again is a no-op until something changes; the tag ``compute.image``
then points at the current one.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from hpt.errors import ConfigError, HptError

if TYPE_CHECKING:
    from hpt.experiment import Experiment
    from hpt.remote._settings import DsvmSettings
    from hpt.remote._ssh import Ssh

log = logging.getLogger("hpt")

#: Where hpt and its dependencies are installed in the image (on the interpreter's path).
SITE = "/opt/hpt/site"
# hpt's own dependencies: pinned to the local versions so both sides compute alike.
_CORE_DISTRIBUTIONS = (
    "hydra-core",
    "omegaconf",
    "scikit-learn",
    "xgboost",
    "joblib",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
)
# The distribution that provides a model's top-level module, where the two names differ.
_DISTRIBUTION_OF = {"sklearn": "scikit-learn", "lightgbm": "lightgbm", "catboost": "catboost"}


def _pinned(distribution: str) -> str:
    try:
        return f"{distribution}=={importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return distribution


def requirements(exp: Experiment, settings: DsvmSettings) -> list[str]:
    """The packages the image needs beyond hpt: ``compute.requirements`` when given, else hpt's
    dependencies and the model's library, pinned to the versions installed here."""
    if settings.requirements is not None:
        return sorted(str(r) for r in settings.requirements)
    wanted = {_pinned(d) for d in _CORE_DISTRIBUTIONS}
    target = str(exp.cfg.model.get("_target_", "")) if exp.cfg.model else ""
    top = target.split(".", 1)[0]
    if top and top not in ("sklearn", "xgboost", "hpt"):
        wanted.add(_pinned(_DISTRIBUTION_OF.get(top, top)))
    return sorted(wanted)


def build_wheel(settings: DsvmSettings, dest: Path) -> Path:
    """A wheel of this hpt: ``compute.wheel`` when given, else built from the source checkout."""
    if settings.wheel:
        wheel = Path(settings.wheel).expanduser()
        if not wheel.is_file() or wheel.suffix != ".whl":
            raise ConfigError("compute.wheel", f"{str(wheel)!r} is not a wheel file; check it")
        return wheel
    import hpt

    checkout = Path(hpt.__file__).resolve().parent.parent
    if not (checkout / "pyproject.toml").is_file():
        raise ConfigError(
            "compute.wheel",
            "this hpt is installed without its source, so hpt cannot build a wheel of itself; "
            "set compute.wheel=PATH to an hpt wheel (pip download hpt --no-deps)",
        )
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dest)]
    try:
        import setuptools  # noqa: F401  (present: build in place, no download)

        command.append("--no-build-isolation")
    except ImportError:
        pass
    with tempfile.TemporaryDirectory(prefix="hpt-wheel-src-") as source:
        # Build from a clean copy: setuptools' in-tree build/ dir is not safe to share with
        # another build of the same checkout (two prepares, a test run) or to find stale.
        copy = Path(source) / "hpt"
        copy.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(checkout / name, copy / name)
        for name in ("hpt", "launchers", "conf"):
            shutil.copytree(
                checkout / name,
                copy / name,
                symlinks=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        done = subprocess.run(
            [*command, str(copy)], capture_output=True, text=True, timeout=300, check=False
        )
    wheels = sorted(dest.glob("hpt-*.whl"))
    if done.returncode != 0 or not wheels:
        raise HptError(f"building hpt's wheel failed: {done.stderr.strip()[-500:]}")
    return wheels[-1]


def dockerfile(settings: DsvmSettings, wheel_name: str, packages: list[str]) -> str:
    """The Dockerfile's text (``FROM compute.base_image``, pip install of the wheel + packages)."""
    pip = " ".join(shlex.quote(a) for a in settings.pip_args)
    install = " ".join(shlex.quote(p) for p in [f"/opt/hpt/wheels/{wheel_name}", *packages])
    return (
        "# Written by hpt prepare: the image that runs an hpt sweep's driver and its trials.\n"
        f"FROM {settings.base_image}\n"
        f"COPY {wheel_name} /opt/hpt/wheels/\n"
        f"RUN {settings.python} -m pip install --no-cache-dir {pip} --target {SITE} {install}\n"
        f"ENV PYTHONPATH={SITE}\n"
    ).replace("  ", " ")


def content_hash(text: str, wheel: Path) -> str:
    """Hash of the Dockerfile and of the wheel's *contents* (zip timestamps do not count)."""
    digest = hashlib.sha256(text.encode())
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            digest.update(name.encode())
            digest.update(archive.read(name))
    return digest.hexdigest()[:16]


def prepare(ssh: Ssh, settings: DsvmSettings, exp: Experiment) -> str:
    """Build (or reuse) the image on the remote machine; returns a one-line summary."""
    runtime = settings.runtime
    with tempfile.TemporaryDirectory(prefix="hpt-image-") as tmp:
        wheel = build_wheel(settings, Path(tmp))
        text = dockerfile(settings, wheel.name, requirements(exp, settings))
        tag = f"hpt-image:{content_hash(text, wheel)}"
        q_tag, q_image = shlex.quote(tag), shlex.quote(settings.image)
        code, _, _ = ssh.run(f"{runtime} image inspect {q_tag} >/dev/null 2>&1")
        if code == 0:
            ssh.check(f"{runtime} tag {q_tag} {q_image}", what="tagging the image")
            return f"image {settings.image} is up to date ({tag}, reused) on {settings.host}"
        context = f"{settings.work_path}/images/{tag.split(':')[1]}"
        ssh.check(f"mkdir -p {shlex.quote(context)}", what="creating the build context")
        sftp = ssh.sftp()
        sftp.put(str(wheel), f"{context}/{wheel.name}")
        with sftp.open(f"{context}/Dockerfile", "w") as handle:
            handle.write(text)
        log.info("building %s on %s (%s)", tag, settings.host, settings.base_image)
        args = " ".join(shlex.quote(a) for a in settings.build_args)
        ssh.check(
            f"{runtime} build {args} -t {q_tag} {shlex.quote(context)}",
            timeout=settings.build_timeout,
            what=f"building the image (see {context}/Dockerfile)",
        )
        ssh.check(f"{runtime} tag {q_tag} {q_image}", what="tagging the image")
    return f"image {settings.image} built ({tag}) on {settings.host}"


def image_exists(ssh: Ssh, settings: DsvmSettings) -> bool:
    code, _, _ = ssh.run(
        f"{settings.runtime} image inspect {shlex.quote(settings.image)} >/dev/null"
    )
    return code == 0
