"""Turning a leased job's model reference into a loaded backend, and keeping it loaded between jobs.

A local model must still be a directory with config.json; a Hub model is fetched with `snapshot_download` (or
found in the cache). Without network (or with HF_HUB_OFFLINE=1 and nothing cached) the job fails with a reason
that says so. torch and huggingface_hub are imported here lazily, never by the API process.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from app.worker.lease import LeasedJob
from evaluators.model_files import is_model_dir

if TYPE_CHECKING:
    from evaluators.backends.base import Backend, BackendOptions

log = logging.getLogger(__name__)


class JobError(Exception):
    """A failure that retrying will not fix (missing model, bad options): the job fails at once."""


def local_model_dir(job: LeasedJob) -> str:
    if job.model_source == "local":
        directory = Path(job.model_path)
        if not is_model_dir(directory):
            raise JobError(f"model {job.model_name!r}: {directory} no longer holds a config.json")
        return str(directory)
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise JobError("huggingface_hub is not installed; install the 'eval' extra to evaluate Hub models") from exc
    revision = job.model_revision or "main"
    try:
        return snapshot_download(job.model_path, revision=revision)
    except Exception as exc:  # offline, unknown repo, gated, no such revision: all final for this job
        raise JobError(f"could not fetch {job.model_path}@{revision} from the Hugging Face Hub "
                       f"({type(exc).__name__}: {exc}); check network access and HF_HUB_OFFLINE") from exc


class BackendCache:
    """Holds the last loaded backend (one engine per worker); consecutive jobs with the same backend and the same
    (frozen, hashable) `BackendOptions` reuse it."""

    def __init__(self) -> None:
        self.key: tuple[str, BackendOptions] | None = None
        self.backend: Backend | None = None

    def get(self, backend_name: str, options: BackendOptions) -> Backend:
        from evaluators.backends import load_backend

        key = (backend_name, options)
        if key != self.key or self.backend is None:
            self.close()
            start = time.monotonic()
            self.backend = load_backend(backend_name, options)
            self.key = key
            log.info("backend %s loaded for %s in %.1f s", backend_name, options.model_path, time.monotonic() - start)
        return self.backend

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
        self.backend, self.key = None, None
