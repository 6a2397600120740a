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
# One target directory per machine for every script and CI: the tests a
# developer ran leave CI warm, and the reverse.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
# Our crates are built whole by these scripts (a clean clone, CI, or after
# another checkout's builds were cleared), where incremental compilation's
# bookkeeping only costs: off for the scripts, as in release builds (a
# developer's own cargo keeps it).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# mold (Debian's package, installed by setup) links the large test binaries
# several times faster; without it the ordinary linker is used. Chosen once
# per run and passed on to every script it starts (scripts/test chooses
# again after its set-up installed mold): flags that changed mid-run would
# rebuild everything.
choose_linker() {
  if command -v mold >/dev/null && [ "$(uname -m)" = x86_64 ] && [ "$(uname -s)" = Linux ]; then
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=mold"
  else
    unset CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS
  fi
  export RTCSTACK_LINKER_CHOSEN=1
}
[ -n "${RTCSTACK_LINKER_CHOSEN:-}" ] || choose_linker

# Cargo judges our crates fresh by their relative paths and file times, so
# builds made from another checkout (CI's clean clone, a worktree) would pass
# for this one's, with that checkout's sources and paths compiled in. The
# target directory remembers whose builds it holds; when another checkout
# comes, our crates' builds go (the dependencies, the bulk, stay).
# Arguments (`--target T`) say which target's builds to clear.
target_dir_ours() {
  local mark="$CARGO_TARGET_DIR/.rtcstack-checkout"
  [ "$(cat "$mark" 2>/dev/null)" = "$ROOT" ] && return 0
  if [ -d "$CARGO_TARGET_DIR" ]; then
    (cd "$ROOT" && cargo clean --quiet "$@" -p rtcstack -p rtcstack-desktop \
      -p rtcstack-desktop-core -p rtcstack-testbench -p rtcstack-token-endpoint \
      -p rtcstack-bot-audio) || return 1
  fi
  mkdir -p "$CARGO_TARGET_DIR" && printf '%s\n' "$ROOT" >"$mark"
}

# libvpx for a build for another system: env-libvpx-sys is given the
# version of the bindings it carries that the Linux build uses (the
# system's libvpx) and a library directory holding, for Windows, a
# stand-in whose every function aborts (tests/wine/vpx_stand_in.c): a
# type-check links nothing, and the capture example run under Wine never
# encodes. One directory for both, so neither rebuilds the other's crates.
# (A changed stand-in is not linked again until something else changes:
# env-libvpx-sys watches only its variables. Every version aborts alike.)
# Exported: call it in a subshell, the Linux builds need the real library.
vpx_for_type_check() {
  local dir="$CACHE/vpx-none" src="$ROOT/tests/wine/vpx_stand_in.c"
  mkdir -p "$dir" || return 1
  if [ ! "$dir/libvpx.a" -nt "$src" ]; then
    x86_64-w64-mingw32-gcc -O1 -c "$src" -o "$dir/vpx_stand_in.o" &&
      rm -f "$dir/libvpx.a" &&
      x86_64-w64-mingw32-ar rcs "$dir/libvpx.a" "$dir/vpx_stand_in.o" || return 1
  fi
  export VPX_LIB_DIR="$dir"
  VPX_VERSION="$(pkg-config --modversion vpx)" || return 1
  export VPX_VERSION
}

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

# The app embeds its UI at compile time (src-tauri/Cargo.toml), so the UI is
# built before anything compiles the desktop crate. Only when its sources
# changed: a rebuilt ui/dist makes cargo rebuild the app.
ui_built() {
  local stamp="$ROOT/ui/dist/index.html"
  if [ -f "$stamp" ] && [ -z "$(find "$ROOT/ui/src" "$ROOT/ui/index.html" "$ROOT/ui/package-lock.json" \
    "$ROOT/ui/tsconfig.json" "$ROOT/ui"/vite.config.* -newer "$stamp" 2>/dev/null | head -n1)" ]; then
    return 0
  fi
  (cd "$ROOT/ui" && npm run --silent build >/dev/null)
}
