#!/usr/bin/env bash
# Set everything up, then run the linters and the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check hpt launchers tests benchmarks
.venv/bin/ruff format --check hpt launchers
echo "== mypy"
.venv/bin/mypy hpt launchers
echo "== pytest"
.venv/bin/python -m pytest -q "$@"
