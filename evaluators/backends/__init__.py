"""Model backends, loaded lazily by name so that a CPU-only install never imports vLLM."""

from __future__ import annotations

import importlib

from evaluators.backends.base import Backend, BackendOptions

BACKENDS: dict[str, str] = {
    "hf": "evaluators.backends.hf:HFBackend",
    "vllm": "evaluators.backends.vllm:VLLMBackend",
}


def load_backend(name: str, options: BackendOptions) -> Backend:
    """Instantiate the backend called `name` (one of `BACKENDS`)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; valid: {', '.join(sorted(BACKENDS))}")
    module_name, class_name = BACKENDS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"backend {name!r} is not installed ({exc}); install the matching extra") from exc
    return getattr(module, class_name)(options)
