"""The worker's backend cache: one loaded backend, reused while the (frozen, hashable) options are equal."""

from __future__ import annotations

from app.core.config import Settings
from evaluators.backends.options import BackendOptions, backend_options


def test_backend_cache_reuses_the_backend_for_equal_options_only(monkeypatch):
    from app.worker import models

    loaded: list[tuple[str, BackendOptions]] = []

    class Loaded:
        def __init__(self, name: str, options: BackendOptions) -> None:
            loaded.append((name, options))
            self.closed = False

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr("evaluators.backends.load_backend", Loaded)
    cache = models.BackendCache()
    config = Settings(_env_file=None)
    first = cache.get("vllm", backend_options(config, model_path="m", template="colossaleval", device="cpu"))
    again = cache.get("vllm", backend_options(config, model_path="m", template="colossaleval", device="cpu"))
    assert again is first and len(loaded) == 1
    other = cache.get("vllm", backend_options(config, model_path="m", template="harness", device="cpu"))
    assert other is not first and first.closed and len(loaded) == 2
