#!/usr/bin/env bash
# The training check's device command (docs/colossalai_on_device.md), run from the repository root on the lent GPU
# machine with carry [".whl-train", ".whl-train-hf4"] (built by scripts/build_device_train_bundle.sh):
#   bash scripts/device/train_check.sh
# Installs the carried wheels with --no-deps on top of the machine's torch/transformers, then runs
# bench/train_gpu_check.py twice: with the machine's transformers 5.x, and with the carried 4.51.3 first on the path
# (the 3d plugin's Shardformer needs it). Logs go to $OUT (hf5.log, hf4.log); the last lines are the KERNELS and
# SUMMARY JSON lines. Extra arguments are appended to both runs: the CPU rehearsal in tests/bench passes
# `--device cpu --shape tiny ...` with PYTHON set to a local interpreter and SITE to a scratch folder.
set -o pipefail
PY="${PYTHON:-python3}"
SITE="${SITE:-/tmp/site}"
OUT="${OUT:?set OUT to the folder for the logs}"
install() { "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$@"; }
install "$SITE" .whl-train/*.whl && install "$SITE-hf4" .whl-train-hf4/*.whl || exit 1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PATH="$(dirname "$("$PY" -c 'import sys; print(sys.executable)')"):$PATH"
command -v nvcc ninja || true
nvcc --version 2>/dev/null | tail -1
"$PY" -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_arch_list())'
"$PY" -m pip list 2>/dev/null | grep -i -E '^(peft|accelerate|transformers|tokenizers|huggingface.hub) '
PYTHONPATH="$SITE" "$PY" bench/train_gpu_check.py --batch 8 --steps 4 --budget 290 "$@" 2>&1 | tee "$OUT/hf5.log"
PYTHONPATH="$SITE-hf4:$SITE" "$PY" bench/train_gpu_check.py --batch 8 --steps 4 --budget 90 \
  --only 3d:sdpa,3d:colo_flash,zero2:sdpa "$@" 2>&1 | tee "$OUT/hf4.log"
grep -h -E '^(KERNELS|SUMMARY)' "$OUT"/hf5.log "$OUT"/hf4.log
