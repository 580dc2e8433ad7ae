#!/usr/bin/env bash
# CI's second half: the sanitizer configuration (tests/fuzz/CMakeLists.txt) built with clang in its
# own build directory, then ctest runs every fuzz target for a bounded time (libFuzzer; a crash,
# leak, sanitizer report, uncaught non-lightpeft exception or a 10 s input fails it) and the
# ASan + UBSan build of the parsers' and the checkpoint code's unit tests.
# Needs what tools/setup.sh installs (clang, libclang-rt-14-dev, the venv); run it after setup.sh.
# Environment: LIGHTPEFT_SAN_BUILD_DIR (default ./build-sanitize), LIGHTPEFT_FUZZ_SECONDS (per target,
# default 20), LIGHTPEFT_VENV, LIGHTPEFT_JOBS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LIGHTPEFT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lightpeft}"
VENV="${LIGHTPEFT_VENV:-$CACHE/venv}"
BUILD="${LIGHTPEFT_SAN_BUILD_DIR:-$ROOT/build-sanitize}"
JOBS="${LIGHTPEFT_JOBS:-$(nproc)}"
SECONDS_PER_TARGET="${LIGHTPEFT_FUZZ_SECONDS:-20}"

start=$(date +%s)
echo "== ci_sanitize: configure $BUILD (clang, ASan + UBSan + libFuzzer)"
mkdir -p "$BUILD"
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLIGHTPEFT_FUZZ=ON -DLIGHTPEFT_CUDA=OFF -DLIGHTPEFT_PYTHON="$VENV/bin/python" \
  -DLIGHTPEFT_FUZZ_SECONDS="$SECONDS_PER_TARGET" > "$BUILD/configure.log" 2>&1 || {
  cat "$BUILD/configure.log" >&2
  exit 1
}
cmake --build "$BUILD" -j "$JOBS"
built=$(date +%s)
echo "== ci_sanitize: built in $((built - start)) s; fuzzing each target for ${SECONDS_PER_TARGET} s"
ctest --test-dir "$BUILD" -j "$JOBS" --output-on-failure
echo "== ci_sanitize: finished in $(( $(date +%s) - start )) s"
