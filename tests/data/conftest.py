"""Azurite (the real Azure Storage emulator) for the blob tests, one per test session.

Installed by scripts/setup_azurite.sh into .venv/azurite; started here on a free loopback port.
Its development account and key are public (Azurite's documentation).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    url: str  # the blob endpoint, http://127.0.0.1:PORT/devstoreaccount1
    process: subprocess.Popen[bytes]

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={self.url};"
        )


def _binary() -> str:
    for candidate in (
        os.environ.get("HPT_AZURITE_BLOB"),
        str(REPO / ".venv/azurite/node_modules/.bin/azurite-blob"),
        shutil.which("azurite-blob"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("Azurite is not installed; run: bash scripts/setup_azurite.sh")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_azurite(location: Path) -> Azurite:
    """Start an Azurite blob service on a free loopback port, storing its data in ``location``."""
    port = _free_port()
    process = subprocess.Popen(
        [
            _binary(),
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
            "--location",
            str(location),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return Azurite(f"http://127.0.0.1:{port}/{ACCOUNT}", process)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"Azurite did not start on port {port} (exit {process.poll()})")
            time.sleep(0.1)


def stop_azurite(azurite: Azurite) -> None:
    azurite.process.terminate()
    try:
        azurite.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        azurite.process.kill()
        azurite.process.wait()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    server = start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield server
    finally:
        stop_azurite(server)
