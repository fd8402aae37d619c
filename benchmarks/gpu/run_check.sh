#!/usr/bin/env bash
# The GPU check of mmsoco on a machine without network (benchmarks/gpu/README.md).
#
#   bash benchmarks/gpu/run_check.sh [WHEEL_DIR] [check.py options]
#
# Installs the wheels of WHEEL_DIR (default .whl/) into a temporary site,
# without network or dependency resolution, then runs benchmarks/gpu/check.py
# (results under $OUT if set, else work_dirs/gpu_check).
set -euo pipefail
cd "$(dirname "$0")/../.."
WHEEL_DIR=.whl
if [[ $# -gt 0 && $1 != -* ]]; then
    WHEEL_DIR=$1
    shift
fi
shopt -s nullglob
wheels=("$WHEEL_DIR"/*.whl)
if [[ ${#wheels[@]} -eq 0 ]]; then
    echo "run_check.sh: no wheels in $WHEEL_DIR (see benchmarks/gpu/README.md)" >&2
    exit 2
fi
SITE=$(mktemp -d /tmp/mmsoco_site.XXXXXX)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target "$SITE" "${wheels[@]}"
export PYTHONPATH="$SITE:$PWD" PYTHONUNBUFFERED=1
python3 -c 'import mmcv, mmdet, mmengine, torch, torchvision, mmsoco.models
from mmcv.ops import get_compiling_cuda_version as cuda
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
      f"mmcv {mmcv.__version__} (ops CUDA: {cuda()}), mmengine "
      f"{mmengine.__version__}, mmdet {mmdet.__version__}")'
exec python3 benchmarks/gpu/check.py "$@"
