#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,3s/^# //p' "$0" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
# Checked here, once: past torchrun a mistake becomes one traceback per
# process and a ChildFailedError.
if [ ! -f "$CONFIG" ]; then
    echo "dist_test.sh: config file $CONFIG does not exist" >&2
    exit 2
fi
if [ ! -f "$CHECKPOINT" ]; then
    echo "dist_test.sh: checkpoint $CHECKPOINT does not exist" >&2
    exit 2
fi
if ! [[ "$GPUS" =~ ^[1-9][0-9]*$ ]]; then
    echo "dist_test.sh: GPUS (the 3rd argument) must be a number of processes, got '$GPUS'" >&2
    exit 2
fi
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=_find_python.sh
source "$TOOLS_DIR/_find_python.sh"

PYTHONPATH="$TOOLS_DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$TOOLS_DIR/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
