#!/usr/bin/env bash
# System packages the SSH + container target and its tests need (idempotent): an OpenSSH server
# (the tests start their own sshd on loopback; nothing is enabled at boot), podman and runc (the
# container runtime; crun fails on these machines, see tests/remote/conftest.py for the settings).
set -euo pipefail

need_apt=()
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
command -v podman >/dev/null || need_apt+=(podman)
command -v runc >/dev/null || need_apt+=(runc)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup_remote: installing system packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Do not start the distribution's sshd on port 22: the tests run their own on a free port.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  for attempt in 1 2 3 4 5; do
    if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null; then
      break
    fi
    [ "$attempt" = 5 ] && { echo "setup_remote: apt-get failed" >&2; exit 1; }
    echo "setup_remote: apt busy or failing; retrying in 10 s" >&2
    sleep 10
  done
fi
mkdir -p /run/sshd
echo "setup_remote: ready ($(/usr/sbin/sshd -V 2>&1 | head -1 || true); $(podman --version); $(runc --version | head -1))"
