#!/usr/bin/env bash
# The evaluation check's device command (docs/benchmarks.md), run from the repository root on the lent GPU machine
# with carry [".whl", ".device"] (built by scripts/build_device_eval_bundle.sh) and timeout_s 540:
#   bash scripts/device/eval_check.sh
# Installs the carried pydantic wheels with --no-deps (the machine's image lacks pydantic; torch, transformers,
# sentencepiece and pyyaml are there), points the data directory at the carried MMLU files and tokenizer, and runs
# `python -m bench.gpu_eval_check`; the log goes to $OUT/gpu_eval_check.log, its last line is the JSON of all figures.
# Extra arguments go to the check: the CPU rehearsal in tests/bench passes `--tiny ...` with PYTHON set to a local
# interpreter and SITE to a scratch folder.
set -o pipefail
PY="${PYTHON:-python3}"
SITE="${SITE:-/tmp/site}"
OUT="${OUT:?set OUT to the folder for the log}"
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl || exit 1
export PYTHONPATH="$SITE:$PWD" CBENCH_DATA_DIR="$PWD/.device/data" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
"$PY" -m bench.gpu_eval_check "$@" 2>&1 | tee "$OUT/gpu_eval_check.log"
