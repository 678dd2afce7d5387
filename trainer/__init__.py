"""Colossal-LLaMA style continual pre-training: vocabulary expansion, model resize, data packing, training.

Runs in its own virtual environment (`.venv-train`, see scripts/setup_trainer_venv.sh) because colossalai 0.5.0
pins torch<=2.5.1 and transformers==4.51.3. Heavy imports (torch, transformers, colossalai) stay inside the
functions that need them, so the package imports anywhere. Talks to the server only over HTTP (registration.py).
"""
