#!/usr/bin/env bash
# Usage: [GPUS=8 GPUS_PER_NODE=8] tools/benchmarks/mmdet/slurm_finetune.sh \
#            PARTITION JOB_NAME CONFIG PRETRAIN [train.py args...]
#
# The slurm twin of dist_finetune.sh: converts PRETRAIN (`none` for the
# scratch / supervised twins) on this node, trains with tools/slurm_train.sh
# (`--cfg-options load_from=<converted>`), then tests the last checkpoint with
# srun + tools/test.py --launcher=slurm. WORK_DIR (env) defaults to
# work_dirs/<config name>/<pretraining run> (as dist_finetune.sh's); a
# --cfg-options group among the extra args goes to both train and test.
set -euo pipefail
if [ $# -lt 4 ]; then
    sed -n '2,3s/^# \{0,1\}//p' "$0" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
PRETRAIN=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
# shellcheck source=../../_find_python.sh
source "$(dirname "$0")/../../_find_python.sh"
# shellcheck source=_finetune_common.sh
source "$(dirname "$0")/_finetune_common.sh"
prepare_finetune "${@:5}"

GPUS=$GPUS GPUS_PER_NODE=$GPUS_PER_NODE CPUS_PER_TASK=$CPUS_PER_TASK \
    SRUN_ARGS="$SRUN_ARGS" PYTHON="$PYTHON" \
    bash "$ROOT/tools/slurm_train.sh" "$PARTITION" "$JOB_NAME" "$CONFIG" \
    "$WORK_DIR" "${TRAIN_ARGS[@]+"${TRAIN_ARGS[@]}"}"

CHECKPOINT=$(last_checkpoint)
# shellcheck disable=SC2086
srun -p "$PARTITION" \
    --job-name="${JOB_NAME}_test" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher=slurm "${TEST_ARGS[@]}"
