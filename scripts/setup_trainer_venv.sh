#!/usr/bin/env bash
# Create (or update) the trainer's own virtual environment, .venv-train.
# colossalai 0.5.0 pins torch<=2.5.1 and transformers==4.51.3, which clash with the main .venv.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${CBENCH_TRAIN_VENV:-.venv-train}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --upgrade --quiet pip
"$VENV/bin/python" -m pip install --quiet \
  "torch==2.5.1" \
  "colossalai==0.5.0" \
  "transformers==4.51.3" \
  sentencepiece protobuf tensorboard pytest httpx pyyaml pydantic-settings  # the settings object (cbench eval)
# The project itself, editable, without the server's heavy dependencies.
"$VENV/bin/python" -m pip install --quiet --no-deps -e .
"$VENV/bin/python" -c "import colossalai, torch, transformers; print('colossalai', colossalai.__version__, 'torch', torch.__version__, 'transformers', transformers.__version__)"
