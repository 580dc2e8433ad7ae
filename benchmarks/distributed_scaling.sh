#!/usr/bin/env bash
# Scaling efficiency of data-parallel training on the CPU: LoRA fine-tuning of all-MiniLM-L6-v2 on
# GLUE RTE for a fixed number of steps, 1 process vs N processes (lightpeft train --nproc N, Gloo
# over loopback), each process with THREADS intra-op threads and the same per-device batch, so N
# processes do N times the work per step. Prints
#     efficiency = samples/s with N processes / (N x samples/s with 1 process)
# (1.0 = perfect linear scaling). Measure with N x THREADS <= the machine's cores.
#   benchmarks/distributed_scaling.sh [BUILD_DIR] [N] [THREADS] [STEPS]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build}"; nproc="${2:-2}"; threads="${3:-1}"; steps="${4:-30}"
cli="$build/bin/lightpeft"
data="${LIGHTPEFT_SHARED_DIR:-$here/../shared}/data/glue/RTE"
model="$HOME/.cache/lightpeft/models/all-MiniLM-L6-v2"
[[ -d "$data" && -d "$model" ]] || { echo "needs $data and $model (tools/setup.sh)"; exit 1; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
run() {  # $1 = processes
  local out="$work/np$1" extra=""
  [[ "$1" -gt 1 ]] && extra="--nproc $1"
  OMP_NUM_THREADS="$threads" "$cli" --log-level warn train --config "$here/configs/glue_rte.yaml" $extra \
    --set data_dir="$data" --set model="$model" --set output_dir="$out" --set method=lora \
    --set threads="$threads" --set max_seq_length=128 --set training.per_device_train_batch_size=16 \
    --set training.max_steps="$steps" --set training.eval_steps=100000 --set training.save_steps=100000 \
    --set training.logging_steps=100000 > "$work/np$1.log" 2>&1 || { cat "$work/np$1.log"; exit 1; }
  python3 -c "import json,sys; print(json.load(open('$out/results.json'))['finetune_samples_per_second'])"
}
one="$(run 1)"; many="$(run "$nproc")"
python3 - "$one" "$many" "$nproc" "$threads" "$steps" <<'PY'
import sys
one, many, n, threads, steps = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"distributed scaling (LoRA MiniLM-L6 on RTE, seq 128, per-device batch 16, {steps} steps, {threads} thread(s) per process)")
print(f"  1 process : {one:8.1f} samples/s")
print(f"  {n} processes: {many:8.1f} samples/s")
print(f"  efficiency = {many:.1f} / ({n} x {one:.1f}) = {many / (n * one):.3f}")
PY
