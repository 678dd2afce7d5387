#!/usr/bin/env bash
# Build the wheel folders that let the lent GPU machine (Python 3.12, torch 2.11.0+cu130, transformers 5.17.0,
# no internet, no colossalai) import ColossalAI's Booster plugins and HybridAdam. They are installed there with
# --no-deps on top of the machine's own packages (see docs/colossalai_on_device.md for the command and findings).
# .whl-train/:
#   colossalai 0.5.0    built here from its sdist (pure Python; BUILD_EXT=0, its CUDA kernels are JIT-built there)
#   galore-torch 1.0    imported by colossalai.nn.optimizer at import time
#   bitsandbytes 0.50.2 imported by galore_torch and colossalai.nn.optimizer.galore at import time; the unmodified
#                       release wheel (43 MB, native libraries for CUDA 11.8-13.2, ROCm, XPU and CPU)
# Everything else colossalai imports for the Booster, the plugins and HybridAdam (peft, accelerate, einops, rich,
# safetensors, ...) is already in the machine's image.
# .whl-train-hf4/: colossalai's own pin, transformers 4.51.3, with the tokenizers (0.21) and huggingface_hub (< 1.0)
#   that it checks for at import; installed into a second --target and put first on PYTHONPATH, it shadows the
#   machine's transformers 5.17 (whose LLaMA classes colossalai's Shardformer, hence the 3d plugin, cannot patch).
# Idempotent: wheels already present are kept; anything else in the folders is removed (two versions of one package
# would stop the install there). Prints the sizes and the total that would travel.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.whl-train
HF4=.whl-train-hf4
PY="${PYTHON:-python3}"
COLOSSALAI=0.5.0
GALORE=1.0
BNB=0.50.2
TRANSFORMERS=4.51.3
TOKENIZERS=0.21.4
HUB=0.36.2
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64)
LIMIT=$((64 * 1024 * 1024))  # what may travel to the device machine per call: repo + carried folders

mkdir -p "$DEST" "$HF4"
if git rev-parse --git-dir >/dev/null 2>&1; then  # keep the wheel folders out of commits
  exclude="$(git rev-parse --git-path info/exclude)"
  mkdir -p "$(dirname "$exclude")"
  for folder in "$DEST" "$HF4"; do
    grep -qxF "/$folder/" "$exclude" 2>/dev/null || echo "/$folder/" >>"$exclude"
  done
fi

want=("colossalai-$COLOSSALAI-py3-none-any.whl" "galore_torch-$GALORE-py3-none-any.whl"
      "bitsandbytes-$BNB-py3-none-manylinux_2_24_x86_64.whl")
want_hf4=("transformers-$TRANSFORMERS-py3-none-any.whl" "huggingface_hub-$HUB-py3-none-any.whl"
          "tokenizers-$TOKENIZERS-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")

prune() {  # prune FOLDER WANTED...: remove everything else
  local folder=$1 f w keep
  shift
  for f in "$folder"/*; do
    [ -e "$f" ] || continue
    keep=0
    for w in "$@"; do [ "$(basename "$f")" = "$w" ] && keep=1; done
    if [ "$keep" = 0 ]; then echo "removing $f"; rm -rf "$f"; fi
  done
}
prune "$DEST" "${want[@]}"
prune "$HF4" "${want_hf4[@]}"

download() {  # download FOLDER SPEC...: binary wheels for CPython 3.12 on x86-64 Linux, no dependencies
  local folder=$1
  shift
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${PLATFORMS[@]}" \
    -d "$folder" "$@"
}

if [ ! -f "$DEST/${want[0]}" ]; then
  # The sdist builds a pure-Python wheel unless BUILD_EXT=1 (which would need nvcc and a CUDA torch here).
  BUILD_EXT=0 "$PY" -m pip wheel -q --no-deps --no-binary colossalai --no-cache-dir -w "$DEST" \
    "colossalai==$COLOSSALAI"
fi
missing=()
[ -f "$DEST/${want[1]}" ] || missing+=("galore-torch==$GALORE")
[ -f "$DEST/${want[2]}" ] || missing+=("bitsandbytes==$BNB")
[ "${#missing[@]}" -eq 0 ] || download "$DEST" "${missing[@]}"
missing=()
[ -f "$HF4/${want_hf4[0]}" ] || missing+=("transformers==$TRANSFORMERS")
[ -f "$HF4/${want_hf4[1]}" ] || missing+=("huggingface-hub==$HUB")
[ -f "$HF4/${want_hf4[2]}" ] || missing+=("tokenizers==$TOKENIZERS")
[ "${#missing[@]}" -eq 0 ] || download "$HF4" "${missing[@]}"
for w in "${want[@]}"; do
  [ -f "$DEST/$w" ] || { echo "missing $DEST/$w" >&2; exit 1; }
done
for w in "${want_hf4[@]}"; do
  [ -f "$HF4/$w" ] || { echo "missing $HF4/$w" >&2; exit 1; }
done

ls -l "$DEST"/*.whl "$HF4"/*.whl | awk '{printf "%12d  %s\n", $5, $NF}'
bundle=$(du -cb "$DEST"/*.whl "$HF4"/*.whl | tail -1 | cut -f1)
if git rev-parse --git-dir >/dev/null 2>&1; then
  repo=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
else
  repo=$(du -cb --exclude="$DEST" --exclude="$HF4" --exclude='.venv*' --exclude=.whl --exclude=.device . | tail -1 | cut -f1)
fi
printf 'wheels %.1f MiB + working tree %.1f MiB = %.1f MiB of the 64 MiB that may travel\n' \
  "$(echo "$bundle / 1048576" | bc -l)" "$(echo "$repo / 1048576" | bc -l)" "$(echo "($bundle + $repo) / 1048576" | bc -l)"
if [ $((bundle + repo)) -gt "$LIMIT" ]; then
  echo "over the 64 MiB limit" >&2
  exit 1
fi
echo 'device command (carry: [".whl-train", ".whl-train-hf4"], timeout_s 480): bash scripts/device/train_check.sh'

