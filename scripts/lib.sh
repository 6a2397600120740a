# Shared by the scripts in this folder: paths, pins and small helpers.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${RTCSTACK_CACHE:-$HOME/.cache/rtcstack}"
VENV="$CACHE/venv"
LIVEKIT_VERSION="1.13.5"
TAURI_DRIVER_VERSION="2.1.0"
ACTIONLINT_VERSION="1.7.12"
export RTCSTACK_CACHE="$CACHE"
export RTCSTACK_LIVEKIT_SERVER="$CACHE/bin/livekit-server"
export RTCSTACK_PYTHON="$VENV/bin/python"
export PATH="$CACHE/bin:$HOME/.cargo/bin:/usr/local/go/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a named stage and prints how long it took.
stage() {
  local name="$1"; shift
  local t0=$SECONDS
  say "$name"
  "$@"
  local rc=$?
  printf 'stage %-22s %4ds  rc=%d\n' "$name" $((SECONDS - t0)) "$rc" >&2
  return $rc
}
