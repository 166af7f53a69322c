#!/usr/bin/env bash
# Install what the HTML report's and the live display's tests need (idempotent): Debian's chromium
# (headless, driven by playwright with executable_path=/usr/bin/chromium; playwright's own browser
# download does not work offline), a font for its screenshots, and tmux (the live display is
# checked on a real terminal).
set -euo pipefail
need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v tmux >/dev/null || need_apt+=(tmux)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup_browser: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
echo "setup_browser: ready ($(chromium --version 2>/dev/null || echo 'no chromium'))"
