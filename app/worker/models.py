"""Turning a leased job's model reference into a loaded backend, and keeping it loaded between jobs.

A local model must still be a directory with config.json; a Hub model is fetched with `snapshot_download` (or
found in the cache). Without network (or with HF_HUB_OFFLINE=1 and nothing cached) the job fails with a reason
that says so. torch and huggingface_hub are imported here lazily, never by the API process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.worker.lease import LeasedJob
from evaluators.model_files import is_model_dir


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
    """Holds the last loaded backend; consecutive jobs with the same model and load options reuse it."""

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.backend: Any = None

    def get(self, backend_name: str, options: Any) -> Any:  # noqa: ANN401  (BackendOptions -> Backend)
        from evaluators.backends import load_backend

        key = (backend_name, options.model_path, options.revision, options.device, options.dtype,
               options.allow_remote_code, tuple(sorted(options.extra.items())))
        if key != self.key:
            self.close()
            self.backend = load_backend(backend_name, options)
            self.key = key
        return self.backend

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
        self.backend, self.key = None, None
