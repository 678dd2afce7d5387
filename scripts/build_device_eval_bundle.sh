#!/usr/bin/env bash
# Prepare what the lent GPU machine needs for `python -m bench.gpu_eval_check` (see docs/benchmarks.md):
#   .whl/         pydantic and its small dependencies as cp312 manylinux wheels (the machine's image lacks pydantic;
#                 torch, transformers, sentencepiece and pyyaml are already there)
#   .device/data  the MMLU files and the LLaMA-2 tokenizer, copied from the data directory (ignored by git; never
#                 committed), verified against MANIFEST.tsv by the project's own checker first
# Both folders are in .gitignore; name them in the device call's `carry`. Prints their size and fails when they and
# the working tree exceed the 64 MiB that may travel. DEVICE_PYTHON_VERSION (default 3.12, the machine's) picks the
# wheels' interpreter; the CPU rehearsal (tests/bench/test_device_rehearsal.py) sets the local one.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${CBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}"
PY="${PYTHON:-python3}"
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
WHEELS=("pydantic==2.12.5" "pydantic-core==2.41.5" "annotated-types==0.7.0" "typing-inspection==0.4.2")

mkdir -p .whl
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version "${DEVICE_PYTHON_VERSION:-3.12}" \
  --implementation cp \
  "${PLATFORMS[@]}" -d .whl "${WHEELS[@]}"

if [ -x .venv/bin/cbench ]; then
  .venv/bin/cbench data verify --data-dir "$DATA" --benchmarks mmlu >/dev/null
fi
rm -rf .device/data
mkdir -p .device/data/tokenizers
cp -r "$DATA/mmlu" .device/data/mmlu
cp -r "$DATA/tokenizers/llama2" .device/data/tokenizers/llama2

du -sh .whl .device/data
carry=$(du -cb .whl .device | tail -1 | cut -f1)
if git rev-parse --git-dir >/dev/null 2>&1; then
  tree=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
else
  tree=$(du -cb --exclude=.whl --exclude=.device --exclude='.venv*' --exclude=.git . | tail -1 | cut -f1)
fi
printf 'carry %.1f MiB + working tree %.1f MiB = %.1f MiB of the 64 MiB that may travel\n' \
  "$(echo "$carry / 1048576" | bc -l)" "$(echo "$tree / 1048576" | bc -l)" "$(echo "($carry + $tree) / 1048576" | bc -l)"
if [ $((carry + tree)) -gt $((64 * 1024 * 1024)) ]; then
  echo "over the 64 MiB limit" >&2
  exit 1
fi
echo 'device command (carry: [".whl", ".device"], timeout_s 540): bash scripts/device/eval_check.sh'

