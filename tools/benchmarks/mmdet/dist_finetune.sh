#!/usr/bin/env bash
# Usage: tools/benchmarks/mmdet/dist_finetune.sh CONFIG PRETRAIN GPUS [train.py args...]
#
# Fine-tunes a detector from a SoCo checkpoint in one go (the paper's transfer protocol):
#   1. converts PRETRAIN (a SoCo .pth; `none` for the scratch / supervised
#      twins) with tools/model_converters/soco2mmdet.py, checked against
#      CONFIG's detector;
#   2. trains with tools/dist_train.sh, `--cfg-options load_from=<converted>`;
#   3. tests the last checkpoint with tools/dist_test.sh.
# WORK_DIR (env) defaults to work_dirs/<config name>/<pretraining run>, e.g.
# .../soco_r50fpn_400e_epoch_400 for soco_r50fpn_400e/epoch_400.pth; the
# converted weights go to WORK_DIR/converted/mmdet.pth.
# A `--cfg-options` group among the extra args goes to both train and test.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2s/^# //p' "$0" >&2
    exit 2
fi
CONFIG=$1
PRETRAIN=$2
GPUS=$3
# shellcheck source=../../_find_python.sh
source "$(dirname "$0")/../../_find_python.sh"
# shellcheck source=_finetune_common.sh
source "$(dirname "$0")/_finetune_common.sh"
prepare_finetune "${@:4}"

PYTHON="$PYTHON" bash "$ROOT/tools/dist_train.sh" "$CONFIG" "$GPUS" \
    --work-dir "$WORK_DIR" "${TRAIN_ARGS[@]+"${TRAIN_ARGS[@]}"}"

CHECKPOINT=$(last_checkpoint)
PYTHON="$PYTHON" bash "$ROOT/tools/dist_test.sh" "$CONFIG" "$CHECKPOINT" \
    "$GPUS" "${TEST_ARGS[@]}"
