#!/usr/bin/env bash
# One GPU benchmark, under 10 minutes on one GPU: a VGG9 training step (CIFAR-10 shapes, T=100,
# batch 16) in snnbp, its snnTorch twin and the ANN floor; fp32 and bf16 autocast; eager and
# torch.compile. Prints one table (also written to benchmarks/results/gpu.md and .json).
#
#   benchmarks/gpu.sh                       # needs CUDA
#   benchmarks/gpu.sh --model resnet11      # other options: see benchmarks/gpu_step.py --help
#   benchmarks/gpu.sh --dry-run             # the same code on the CPU, tiny sizes (no GPU needed)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3

dry=0
for arg in "$@"; do [ "$arg" = "--dry-run" ] && dry=1; done
if [ "$dry" = 0 ]; then
    if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
        echo "gpu.sh: no CUDA GPU visible to $PY (torch.cuda.is_available() is False)." >&2
        echo "        Run it on a machine with a GPU, or check the script with: benchmarks/gpu.sh --dry-run" >&2
        exit 2
    fi
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
exec timeout 590 "$PY" benchmarks/gpu_step.py "$@"
