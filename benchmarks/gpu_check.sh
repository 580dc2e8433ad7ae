#!/usr/bin/env bash
# The CUDA kernels' GPU check in one go (docs/kernels.md): configure and build test_kernels and
# bench_kernels (and test_distributed, for its one-rank NCCL group) against the GPU machine's own
# torch, run every kernel test (the *OnGpu cases compare each kernel with its LibTorch reference),
# the one-rank NCCL check and the benchmark, and leave the logs under $OUT.
#
#   benchmarks/gpu_check.sh --fetch-deps    here, on the Debian 12 development machine, once:
#                                           downloads the .deb files of the C++ dependencies
#                                           into .gpu-deps/ (git-ignored)
#   benchmarks/gpu_check.sh                 on the GPU machine, from the repository root; with this
#                                           workplace's device tool:
#       run(command="benchmarks/gpu_check.sh", carry=[".gpu-deps"], timeout_s=600)
#
# The GPU machine has nvcc, CMake, ninja and a python3 with torch 2.11 but none of the Debian C++
# packages (spdlog, yaml-cpp, ...) and no network: the carried .debs are unpacked into a private
# prefix (never into /). Environment: OUT (logs; default ./gpu-check-out), GPU_CHECK_PYTHON (the
# python whose torch to build against; default python3), GPU_CHECK_SANITIZE=1 (also run the small
# GPU cases under compute-sanitizer memcheck), GPU_CHECK_REPEATS (bench_kernels --repeats, 20).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
deps="$root/.gpu-deps"

if [[ "${1:-}" == "--fetch-deps" ]]; then
  mkdir -p "$deps"  # listed in .gitignore, so the device tool's carry takes it
  cd "$deps"
  apt-get download libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 nlohmann-json3-dev \
    libyaml-cpp-dev libyaml-cpp0.7 libcli11-dev libutf8proc-dev libutf8proc2 libgtest-dev \
    libbenchmark-dev libbenchmark1debian pkgconf pkgconf-bin libpkgconf3
  du -sh "$deps"
  exit 0
fi

out="${OUT:-$root/gpu-check-out}"
build="$root/build-gpu"
mkdir -p "$out"
exec > >(tee "$out/gpu_check.log") 2>&1
echo "== gpu_check: $(date -u +%FT%TZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv || true

prefix=/tmp/lightpeft-deps
if compgen -G "$deps/*.deb" >/dev/null; then
  mkdir -p "$prefix"
  for f in "$deps"/*.deb; do dpkg-deb -x "$f" "$prefix"; done
  multiarch="$prefix/usr/lib/x86_64-linux-gnu"
  export PATH="$prefix/usr/bin:$PATH"
  export LD_LIBRARY_PATH="$multiarch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PKG_CONFIG_PATH="$multiarch/pkgconfig:$prefix/usr/share/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR="$prefix"  # the .pc files say /usr: read them as $prefix/usr
  export CMAKE_PREFIX_PATH="$prefix/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  echo "== dependencies: $(ls "$deps"/*.deb | wc -l) carried packages unpacked into $prefix"
else
  echo "== dependencies: none carried (.gpu-deps/ is empty): using the machine's own"
fi

python="${GPU_CHECK_PYTHON:-$(command -v python3)}"
echo "== torch: $("$python" -c 'import torch; print(torch.__version__, torch.cuda.get_device_name(0))')"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLIGHTPEFT_CUDA=ON \
  -DLIGHTPEFT_PYTHON="$python" -DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
cmake --build "$build" -j "$(nproc)" --target test_kernels bench_kernels test_distributed

status=0
echo "== test_kernels"
"$build/bin/test_kernels" --gtest_output="xml:$out/test_kernels.xml" 2>&1 | tee "$out/test_kernels.log" || status=1
if [[ "${GPU_CHECK_SANITIZE:-0}" == 1 ]] && command -v compute-sanitizer >/dev/null; then
  echo "== compute-sanitizer memcheck (small GPU cases)"
  compute-sanitizer --tool memcheck --error-exitcode 3 "$build/bin/test_kernels" \
    --gtest_filter='*Dropout*OnGpu*:RankTaylorKernel.*:FusedModel.*' 2>&1 | tail -40 | tee "$out/memcheck.log" || status=1
fi
echo "== NCCL: a one-rank process group on cuda:0 (issue 9)"
"$build/bin/test_distributed" --gtest_filter='OneRankGroup.*' 2>&1 | tee "$out/nccl.log" || status=1
echo "== bench_kernels"
"$build/bin/bench_kernels" --repeats "${GPU_CHECK_REPEATS:-20}" 2>&1 | tee "$out/bench_kernels.md" || status=1
echo "== gpu_check: $([[ $status == 0 ]] && echo 'all passed' || echo 'FAILURES, see the logs')"
grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$out/test_kernels.log" || true
exit $status
