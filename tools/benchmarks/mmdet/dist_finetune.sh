#!/usr/bin/env bash
# Usage: tools/benchmarks/mmdet/dist_finetune.sh CONFIG PRETRAIN GPUS [train.py args...]
#
# Fine-tunes a detector from a SoCo checkpoint in one go (SOCO_SPEC section 5):
#   1. converts PRETRAIN (a SoCo .pth; `none` for the scratch / supervised
#      twins) with tools/model_converters/soco2mmdet.py, checked against
#      CONFIG's detector;
#   2. trains with tools/dist_train.sh, `--cfg-options load_from=<converted>`;
#   3. tests the last checkpoint with tools/dist_test.sh.
# WORK_DIR (env) defaults to work_dirs/<config name>/<pretrain name>.
# A `--cfg-options` group among the extra args is passed to both train and
# test, with load_from added to it (a second --cfg-options flag would replace
# the first, not add to it).
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n 2p "$0" >&2
    exit 2
fi
CONFIG=$1
PRETRAIN=$2
GPUS=$3
PYTHON=${PYTHON:-python}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
CONFIG_NAME=$(basename "${CONFIG%.*}")
PRETRAIN_NAME=$(basename "${PRETRAIN%.*}")
WORK_DIR=${WORK_DIR:-work_dirs/${CONFIG_NAME}/${PRETRAIN_NAME}}
mkdir -p "$WORK_DIR"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

# Split the extra args: everything goes to train.py; the --cfg-options values
# also go to test.py.
TRAIN_ARGS=()
CFG_OPTIONS=()
IN_CFG=0
for arg in "${@:4}"; do
    if [ "$arg" = "--cfg-options" ]; then
        IN_CFG=1
        continue
    fi
    if [ $IN_CFG = 1 ] && [[ "$arg" != --* ]]; then
        CFG_OPTIONS+=("$arg")
        continue
    fi
    IN_CFG=0
    TRAIN_ARGS+=("$arg")
done

TRAIN_CFG_OPTIONS=("${CFG_OPTIONS[@]+"${CFG_OPTIONS[@]}"}")
if [ "$PRETRAIN" != "none" ]; then
    CONVERTED="$WORK_DIR/${PRETRAIN_NAME}_mmdet.pth"
    "$PYTHON" "$ROOT/tools/model_converters/soco2mmdet.py" \
        "$PRETRAIN" "$CONVERTED" --config "$CONFIG"
    TRAIN_CFG_OPTIONS+=("load_from=$CONVERTED")
fi
if [ ${#TRAIN_CFG_OPTIONS[@]} -gt 0 ]; then
    TRAIN_ARGS+=(--cfg-options "${TRAIN_CFG_OPTIONS[@]}")
fi

PYTHON="$PYTHON" bash "$ROOT/tools/dist_train.sh" "$CONFIG" "$GPUS" \
    --work-dir "$WORK_DIR" "${TRAIN_ARGS[@]+"${TRAIN_ARGS[@]}"}"

if [ ! -f "$WORK_DIR/last_checkpoint" ]; then
    echo "dist_finetune: no $WORK_DIR/last_checkpoint after training" >&2
    exit 1
fi
CHECKPOINT=$(cat "$WORK_DIR/last_checkpoint")
TEST_ARGS=(--work-dir "$WORK_DIR")
if [ ${#CFG_OPTIONS[@]} -gt 0 ]; then
    TEST_ARGS+=(--cfg-options "${CFG_OPTIONS[@]}")
fi
PYTHON="$PYTHON" bash "$ROOT/tools/dist_test.sh" "$CONFIG" "$CHECKPOINT" \
    "$GPUS" "${TEST_ARGS[@]}"
