#!/usr/bin/env bash
# All benchmarks, one command, markdown tables of ratios on stdout (progress on stderr):
#   benchmarks/run.sh [BUILD_DIR]          (default: build; needs the setup's venv)
# Light-PEFT vs LoRA (lightpeft CLI: time and per-stage memory), lightpeft vs HF transformers + peft (CPU; MiniLM and SmolLM2),
# micro benchmarks,
# the CUDA kernels (bench_kernels, GPU only).
# Threads pinned to LIGHTPEFT_BENCH_THREADS (default 2); set BENCH_REPEATS for more repeats.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
py="${LIGHTPEFT_PYTHON:-$HOME/.cache/lightpeft/venv/bin/python}"
threads="${LIGHTPEFT_BENCH_THREADS:-2}"
repeats="${BENCH_REPEATS:-3}"
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
echo "# lightpeft benchmarks, $(date -u +%Y-%m-%d), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# commit $(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo '?'), build $build"
"$py" "$here/bench_lightpeft_vs_lora.py" --build "$build" --threads "$threads" --repeats "$repeats"
"$py" "$here/bench_memory.py" --build "$build" --threads "$threads"
# The README's main job, whole process, against HF transformers + peft LoRA-qv on the same budget
# (one repeat: three runs of 2-3 minutes each).
"$py" "$here/bench_main_job_vs_hf.py" --build "$build" --threads "$threads" --python "$py"
"$py" "$here/bench_vs_hf.py" --build "$build" --threads "$threads" --repeats "$repeats"
# the matrix products alone of HF's SmolLM2 step: the floor of a program with its arithmetic
"$py" "$here/bench_gemm_floor.py" --build "$build" --threads "$threads" --python "$py" --measure
# The decoder LLM (SmolLM2-135M-Instruct from its GGUF): LoRA step, inference and generation vs HF,
# and Light-PEFT's pruned model vs unpruned LoRA.
"$py" "$here/bench_decoder_vs_hf.py" --build "$build" --threads "$threads" --repeats "$repeats"
"$py" "$here/micro_ratios.py" --build "$build" --threads "$threads"
# CUDA kernels vs their references (on a GPU; elsewhere it prints "no CUDA device" and exits 0)
if [[ -x "$build/bin/bench_kernels" ]]; then "$build/bin/bench_kernels"; fi
