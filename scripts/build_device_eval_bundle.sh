#!/usr/bin/env bash
# Prepare what the lent GPU machine needs for `python -m bench.gpu_eval_check` (see docs/benchmarks.md):
#   .whl/         pydantic and its small dependencies as cp312 manylinux wheels (the machine's image lacks pydantic;
#                 torch, transformers, sentencepiece and pyyaml are already there)
#   .device/data  the MMLU files and the LLaMA-2 tokenizer, copied from the data directory (ignored by git; never
#                 committed), verified against MANIFEST.tsv by the project's own checker first
# Both folders are in .gitignore; name them in the device call's `carry`. Prints their size (the limit for
# everything that travels is 64 MiB) and the device command.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${CBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}"
PY="${PYTHON:-python3}"
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
WHEELS=("pydantic==2.12.5" "pydantic-core==2.41.5" "annotated-types==0.7.0" "typing-inspection==0.4.2")

mkdir -p .whl
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${PLATFORMS[@]}" -d .whl "${WHEELS[@]}"

if [ -x .venv/bin/cbench ]; then
  .venv/bin/cbench data verify --data-dir "$DATA" --benchmarks mmlu >/dev/null
fi
rm -rf .device/data
mkdir -p .device/data/tokenizers
cp -r "$DATA/mmlu" .device/data/mmlu
cp -r "$DATA/tokenizers/llama2" .device/data/tokenizers/llama2

du -sh .whl .device/data
cat <<'EOF'
device command (carry: [".whl", ".device"], timeout_s 540):
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD CBENCH_DATA_DIR=$PWD/.device/data PYTHONUNBUFFERED=1 || exit; set -o pipefail; nvidia-smi --query-gpu=name,driver_version --format=csv; python3 -m bench.gpu_eval_check 2>&1 | tee $OUT/gpu_eval_check.log
EOF
