#!/usr/bin/env bash
# CPU smoke run of the whole pipeline (a few minutes on 2 cores, no downloads):
#   tiny random LLaMA -> llama2 tokenizer + pieces mined from CMMLU questions -> per-piece-mean resize ->
#   prepare (2 buckets) -> 2 processes x ddp x 4 steps (torchrun, gloo) -> checkpoints epoch-0_step-{2,4}.
# Usage: trainer/runs/cpu_smoke.sh [WORK_DIR]   (default var/cpu_smoke; wiped first)
# With CBENCH_SERVER and CBENCH_TOKEN set, each checkpoint is registered for a 2-question CMMLU evaluation.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv-train/bin/python}
DATA=${CBENCH_DATA_DIR:-../shared/data}
WORK=${1:-var/cpu_smoke}
rm -rf "$WORK" && mkdir -p "$WORK"

"$PY" - "$DATA" "$WORK" <<'PYEOF'
import csv, json, sys
from pathlib import Path
from evaluators.tiny_model import build_tiny_llama

data, work = Path(sys.argv[1]), Path(sys.argv[2])
build_tiny_llama(work / "base", data / "tokenizers/llama2", seed=0, hidden_size=64, intermediate_size=172)
with open(work / "corpus.jsonl", "w", encoding="utf-8") as records, open(work / "corpus.txt", "w", encoding="utf-8") as text:
    for subject in ("agronomy", "anatomy", "astronomy", "chinese_food_culture"):
        with open(data / "cmmlu/data/test" / f"{subject}.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))[1:]
        for row in rows:
            answer = row[2 + "ABCD".index(row[6])]
            records.write(json.dumps({"source": row[1], "target": answer, "category": subject}, ensure_ascii=False) + "\n")
            text.write(row[1] + "\n")
PYEOF

"$PY" -m trainer expand-vocab --source "$DATA/tokenizers/llama2" --corpus "$WORK/corpus.txt" --mine 300 \
  --output "$WORK/tokenizer"
"$PY" -m trainer init-model --source "$WORK/base" --tokenizer "$WORK/tokenizer" --output "$WORK/model" --dtype float32
"$PY" -m trainer prepare --input "$WORK/corpus.jsonl" --tokenizer "$WORK/model" --output "$WORK/data" \
  --max-length 256 --bins 2
OMP_NUM_THREADS=1 "$PY" -m torch.distributed.run --standalone --nproc_per_node 2 -m trainer run \
  --model "$WORK/model" --data "$WORK/data" --save-dir "$WORK/save" --plugin ddp --batch-size 2 \
  --max-steps 4 --save-interval 2 --lr 1e-3 --warmup-steps 1 \
  ${CBENCH_SERVER:+--server "$CBENCH_SERVER" --benchmarks cmmlu --eval-limit 2 --tags smoke}
ls "$WORK/save"
