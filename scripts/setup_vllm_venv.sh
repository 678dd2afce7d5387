#!/usr/bin/env bash
# Create .venv-vllm: the real vLLM package plus this project (no deps) and pytest, for the vLLM backend and its tests.
# vLLM pins its own torch/transformers, so it lives apart from .venv. Usage: scripts/setup_vllm_venv.sh [python]
# VLLM_SPEC overrides the requirement (default: the newest vllm that installs).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-${PYTHON:-python3.11}}"
VENV="${VLLM_VENV:-.venv-vllm}"
SPEC="${VLLM_SPEC:-vllm==0.33.0}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install "$SPEC"
"$VENV/bin/pip" install pytest pytest-timeout sentencepiece
"$VENV/bin/pip" install -e . --no-deps
"$VENV/bin/python" -c "import vllm; print('vllm', vllm.__version__)"
