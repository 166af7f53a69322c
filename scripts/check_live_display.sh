#!/usr/bin/env bash
# The live display as a person sees it: run the default experiment (a small TalkingData sample)
# in a real terminal (tmux, 120x32), print the screen while trials are in flight and at the end.
#   bash scripts/check_live_display.sh [extra hpt overrides...]
# Needs tmux (scripts/setup_browser.sh installs it). Works in a scratch dir; leaves nothing behind.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
work="$(mktemp -d)"
session="hpt-live-$$"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"' EXIT
cmd="cd '$work' && PYTHONPATH='$repo' HPT_DATA_DIR='$work/data' '$python' -m hpt.cli dataset.n_devices=800 resources.max_concurrent_runs=2 $*; echo HPT_EXIT=\$?; sleep 300"
tmux new-session -d -s "$session" -x 120 -y 32 "$cmd"
shot() { echo "===== screen at +${1}s ($2)"; tmux capture-pane -p -t "$session" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }
start=$SECONDS
captured=0
while [ $((SECONDS - start)) -lt 600 ]; do
  sleep 2
  screen="$(tmux capture-pane -p -t "$session")"
  if grep -q "HPT_EXIT=" <<<"$screen"; then
    shot $((SECONDS - start)) "the end"
    grep -q "HPT_EXIT=0" <<<"$screen"
    exit $?
  fi
  # While trials are in flight: once when the first runs, once after the first one finished.
  if [ $captured -eq 0 ] && grep -q "^hpt sweep .* running" <<<"$screen" && grep -qE "^[0-9]{4} +1 +[1-9]" <<<"$screen"; then
    shot $((SECONDS - start)) "trials in flight"; captured=1
  elif [ $captured -eq 1 ] && grep -qE "^ +0  max_depth" <<<"$screen" && grep -q " running" <<<"$screen"; then
    sleep 3; shot $((SECONDS - start)) "in flight, some done"; captured=2
  fi
done
echo "timed out" >&2
exit 1
