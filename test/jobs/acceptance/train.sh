#!/bin/bash
# Launched by `ftw run train.sh --target local`: torchrun on the GPUs in CUDA_VISIBLE_DEVICES, with the
# MASTER_PORT the launcher picked.
set -euo pipefail
cd "$(dirname "$0")"
NPROC=${NPROC:-1}
echo "train.sh: CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-<all>} MASTER_PORT=${MASTER_PORT} NPROC=${NPROC} HF_TOKEN=${HF_TOKEN:-<unset>}"
if command -v torchrun >/dev/null; then run=(torchrun); else run=(python3 -m torch.distributed.run); fi
"${run[@]}" --nproc_per_node="$NPROC" --master_port="$MASTER_PORT" train_lora.py
