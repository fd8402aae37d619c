# Shared by dist_finetune.sh and slurm_finetune.sh (sourced, not run).
# Expects CONFIG, PRETRAIN and PYTHON to be set; sets ROOT, WORK_DIR,
# TRAIN_ARGS (train.py arguments, --cfg-options load_from=<converted> added)
# and TEST_ARGS (test.py arguments), converting PRETRAIN on the way.
#
# A `--cfg-options` group among the extra args goes to both train and test,
# with load_from added for training (a second --cfg-options flag would
# replace the first, not add to it).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
CONFIG_NAME=$(basename "${CONFIG%.*}")
PRETRAIN_NAME=$(basename "${PRETRAIN%.*}")
WORK_DIR=${WORK_DIR:-work_dirs/${CONFIG_NAME}/${PRETRAIN_NAME}}
mkdir -p "$WORK_DIR"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

# prepare_finetune EXTRA_ARGS...: split the extra args and convert PRETRAIN.
prepare_finetune() {
    TRAIN_ARGS=()
    local cfg_options=() in_cfg=0 arg
    for arg in "$@"; do
        if [ "$arg" = "--cfg-options" ]; then
            in_cfg=1
            continue
        fi
        if [ $in_cfg = 1 ] && [[ "$arg" != --* ]]; then
            cfg_options+=("$arg")
            continue
        fi
        in_cfg=0
        TRAIN_ARGS+=("$arg")
    done

    local train_cfg_options=("${cfg_options[@]+"${cfg_options[@]}"}")
    if [ "$PRETRAIN" != "none" ]; then
        local converted="$WORK_DIR/${PRETRAIN_NAME}_mmdet.pth"
        "$PYTHON" "$ROOT/tools/model_converters/soco2mmdet.py" \
            "$PRETRAIN" "$converted" --config "$CONFIG"
        train_cfg_options+=("load_from=$converted")
    fi
    if [ ${#train_cfg_options[@]} -gt 0 ]; then
        TRAIN_ARGS+=(--cfg-options "${train_cfg_options[@]}")
    fi
    TEST_ARGS=(--work-dir "$WORK_DIR")
    if [ ${#cfg_options[@]} -gt 0 ]; then
        TEST_ARGS+=(--cfg-options "${cfg_options[@]}")
    fi
}

# last_checkpoint: the checkpoint training ended with, or fail naming the file.
last_checkpoint() {
    if [ ! -f "$WORK_DIR/last_checkpoint" ]; then
        echo "finetune: no $WORK_DIR/last_checkpoint after training" >&2
        return 1
    fi
    cat "$WORK_DIR/last_checkpoint"
}
