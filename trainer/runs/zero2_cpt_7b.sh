#!/usr/bin/env bash
# Continual pre-training of a LLaMA-2 7B with an expanded vocabulary on 8 GPUs per node (Colossal-LLaMA recipe:
# zero2, bf16, lr 1e-4, wd 0.01, warm-up 100, clip 1.0, grad checkpointing, save every 400 steps).
# Run on every node:  NNODES=2 NODE_RANK=0 MASTER_ADDR=host0 trainer/runs/zero2_cpt_7b.sh MODEL DATA SAVE
# Set CBENCH_SERVER and CBENCH_TOKEN to register every checkpoint for scoring.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=$1 DATA=$2 SAVE=$3
PY=${PY:-.venv-train/bin/python}
"$PY" -m torch.distributed.run --nproc_per_node "${GPUS:-8}" --nnodes "${NNODES:-1}" --node_rank "${NODE_RANK:-0}" \
  --master_addr "${MASTER_ADDR:-127.0.0.1}" --master_port "${MASTER_PORT:-30013}" -m trainer run \
  --model "$MODEL" --data "$DATA" --save-dir "$SAVE" --plugin zero2 --mixed-precision bf16 \
  --batch-size 4 --accumulation-steps 1 --lr 1e-4 --weight-decay 0.01 --warmup-steps 100 --grad-clip 1.0 \
  --grad-checkpoint --save-interval 400 \
  ${CBENCH_SERVER:+--server "$CBENCH_SERVER" --benchmarks cmmlu,ceval,mmlu --tags cpt-7b}
