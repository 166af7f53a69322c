#!/usr/bin/env bash
# Set everything up, then run the linters and the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check hpt launchers tests benchmarks
.venv/bin/ruff format --check hpt launchers benchmarks
echo "== mypy"
.venv/bin/mypy hpt launchers benchmarks
echo "== pytest"
# Three xdist workers on two cores: much of the suite waits on process and service start-up
# (interpreters, JVMs, sshd, podman, Chromium), so a third worker keeps the cores busy. Files that
# share expensive fixtures stay on one worker (tests/conftest.py). HPT_TEST_WORKERS=0 runs serially.
workers=${HPT_TEST_WORKERS:-3}
if [ "$workers" = "0" ]; then
  .venv/bin/python -m pytest -q "$@"
else
  .venv/bin/python -m pytest -q -n "$workers" --dist loadgroup --durations=25 "$@"
fi
