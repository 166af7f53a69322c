"""Shared, expensive fixtures of the report tests: one real sweep through the ``hpt`` command (with
completed, failed and terminated trials and a secret from the environment) and one headless
Chromium (Debian's, driven by playwright), both per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import run_dirs, run_hpt

CHROMIUM = "/usr/bin/chromium"
SECRET = "s3cr3t-Value-that-must-not-leak"
# A 5-trial grid, one trial at a time so the policy's decisions are fixed: trial 0 (max_depth=-1)
# fails in every fold before any other trial reported (nothing to compare it with), trial 1
# (max_depth=4) completes, trials 2-4 fall short of trial 1's running mean by more than the
# bandit's slack at interval 1 and are terminated there.
SWEEP = [
    "dataset=breast_cancer",
    "features=none",
    "model=decision_tree",
    "search_space=tree",
    "metric=accuracy",
    "sampler=grid",
    "search_space.min_samples_leaf=[1]",
    "search_space.criterion=[gini]",
    "search_space.max_depth=[-1,4,1,6,2]",
    "policy=bandit",
    "~policy.slack_factor",
    "+policy.slack_amount=0.005",
    "resources.max_concurrent_runs=1",
    "dataset.account_key=${oc.env:HPT_TEST_SECRET}",
]


@pytest.fixture(scope="session")
def sweep_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sweeps")


@pytest.fixture(scope="session")
def swept(sweep_home: Path) -> tuple[Path, str]:
    """The run dir of the sweep above and the command's stdout."""
    done = run_hpt(SWEEP, sweep_home, env={"HPT_TEST_SECRET": SECRET})
    assert done.code == 0, done.stderr
    (run_dir,) = run_dirs(sweep_home)
    return run_dir, done.stdout


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium context (a fresh profile), shared by the tests of a session."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("chromium is not installed; run scripts/setup_browser.sh")
    playwright_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
            viewport={"width": 1280, "height": 900},
            env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": "disabled:"},
        )
        try:
            yield context
        finally:
            context.close()


def open_page(browser: Any, path: Path) -> tuple[Any, list[str]]:
    """Open ``path`` in a new tab; returns the page and the list its console errors go to."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    # Anything but the file itself would be a network request: the report must need none.
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-rendered='1']", timeout=15000)
    return page, errors
