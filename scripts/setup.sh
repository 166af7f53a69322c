#!/usr/bin/env bash
# Set up everything hpt and its tests need on a fresh Debian 12 machine (idempotent):
# system packages (Python venv, Java 17 for Spark), then a virtualenv in .venv with hpt installed
# in editable mode with all extras. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c "import venv, ensurepip" 2>/dev/null || need_apt+=(python3-venv)
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v git >/dev/null || need_apt+=(git)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

bash scripts/setup_remote.sh  # sshd, podman, runc for the SSH + container target's tests
bash scripts/setup_browser.sh  # chromium + tmux for the report and live-display tests

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
# Re-install only when pyproject.toml changed since the last successful install.
stamp=.venv/.hpt-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing hpt and its dependencies into .venv"
  log=.venv/pip-install.log
  # PyTorch (the Bayesian sampler's GP) first, pinned to the CPU build: left to the resolver,
  # "torch>=2" would pull a CUDA build of several GB that no machine here can use.
  if ! { .venv/bin/python -m pip install --upgrade pip \
      && .venv/bin/python -m pip install "torch==2.13.0" \
      && .venv/bin/python -m pip install -e ".[all,dev]"; } >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "setup: pip install failed; the full log is in $log" >&2
    exit 1
  fi
  .venv/bin/python -c "import hpt, xgboost, sklearn, hydra, pyspark"
  touch "$stamp"
fi
bash scripts/setup_azurite.sh  # the Azure Storage emulator the blob tests start
echo "setup: ready ($(.venv/bin/python --version), java: $(java -version 2>&1 | head -1))"
