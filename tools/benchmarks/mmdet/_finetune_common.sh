# Shared by dist_finetune.sh and slurm_finetune.sh (sourced, not run).
# Expects CONFIG, PRETRAIN and PYTHON to be set; sets ROOT, WORK_DIR,
# TRAIN_ARGS (train.py arguments, --cfg-options load_from=<converted> added)
# and TEST_ARGS (test.py arguments), converting PRETRAIN on the way.
#
# WORK_DIR defaults to work_dirs/<config name>/<pretraining run>, the run
# being PRETRAIN's folder and file name (soco_r50fpn_400e/epoch_400.pth ->
# soco_r50fpn_400e_epoch_400), so the fine-tunes of two pretrainings never
# share a folder; WORK_DIR/pretrain.txt records the checkpoint a folder was
# made from, and a different one is refused. The converted weights go to
# WORK_DIR/converted/, apart from the fine-tune's own checkpoints.
#
# A `--cfg-options` group among the extra args goes to both train and test,
# with load_from added for training (a second --cfg-options flag would
# replace the first, not add to it).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [ ! -f "$CONFIG" ]; then
    echo "finetune: config file $CONFIG does not exist" >&2
    exit 2
fi
CONFIG_NAME=$(basename "${CONFIG%.*}")
if [ "$PRETRAIN" = "none" ]; then
    PRETRAIN_RUN=none
    PRETRAIN_SOURCE=none
else
    if [ ! -f "$PRETRAIN" ]; then
        echo "finetune: pretrained checkpoint $PRETRAIN does not exist" \
            "(PRETRAIN=none fine-tunes the scratch / supervised twins)" >&2
        exit 2
    fi
    PRETRAIN_SOURCE="$(cd "$(dirname "$PRETRAIN")" && pwd)/$(basename "$PRETRAIN")"
    PRETRAIN_RUN="$(basename "$(dirname "$PRETRAIN_SOURCE")")_$(basename "${PRETRAIN%.*}")"
fi
WORK_DIR=${WORK_DIR:-work_dirs/${CONFIG_NAME}/${PRETRAIN_RUN}}
if [ -f "$WORK_DIR/pretrain.txt" ] &&
    [ "$(cat "$WORK_DIR/pretrain.txt")" != "$PRETRAIN_SOURCE" ]; then
    echo "finetune: $WORK_DIR holds a fine-tune of" \
        "$(cat "$WORK_DIR/pretrain.txt"), not of $PRETRAIN_SOURCE;" \
        "set WORK_DIR to another folder" >&2
    exit 2
fi
mkdir -p "$WORK_DIR"
echo "$PRETRAIN_SOURCE" > "$WORK_DIR/pretrain.txt.tmp"
mv "$WORK_DIR/pretrain.txt.tmp" "$WORK_DIR/pretrain.txt"
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
        local converted="$WORK_DIR/converted/mmdet.pth"
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
