"""Converting registered GGUF models: a worker dequantises the file before it claims jobs.

A model registered with a `.gguf` path has status `converting`; jobs queued for it are not claimable. A worker
converts it with `evaluators.gguf_import.cached_import` into the settings' cache directory (file-locked and keyed by
the file's sha256, so two workers on one machine convert once), then points the model at the directory and marks it
`ready`. A failure (corrupt file, an architecture transformers cannot load) marks the model `failed` with the reason
and fails its queued jobs with it. The conversion is idempotent: when a worker dies mid-way, the next one redoes it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select, update

from app.core.config import Settings
from app.db.base import utcnow
from app.db.models import Job, Model
from app.middleware.response_cache import invalidate as invalidate_cached_pages
from app.worker.lease import SessionFactory

log = logging.getLogger(__name__)


def convert_next(session_factory: SessionFactory, settings: Settings) -> str | None:
    """Convert the oldest `converting` model; returns "converted", "conversion failed", or None when none waits."""
    with session_factory() as session:
        row = session.execute(select(Model.id, Model.name, Model.source_file).where(Model.status == "converting")
                              .order_by(Model.id).limit(1)).first()
    if row is None:
        return None
    model_id, name, source_file = row
    log.info("converting model %s (%s) from %s", model_id, name, source_file)
    try:
        from app.services.fingerprint import content_hash
        from app.services.model_source import parameter_count, tokenizer_id
        from evaluators.gguf_import import cached_import

        directory = cached_import(Path(source_file or ""), settings.cache_dir)
        values = {"path": str(directory), "source": "local", "status": "ready", "error": None, "dtype": "float32",
                  "content_hash": content_hash(directory), "tokenizer": tokenizer_id(directory),
                  "parameter_count": parameter_count(directory)}
        outcome = "converted"
    except Exception as exc:  # every failure ends on the model with its reason, never in a worker crash
        reason = f"GGUF conversion of {Path(source_file or '').name} failed: {type(exc).__name__}: " \
                 f"{str(exc).splitlines()[0] if str(exc) else ''}"
        log.error("model %s: %s", model_id, reason)
        values, outcome = {"status": "failed", "error": reason}, "conversion failed"
    with session_factory() as session:
        session.execute(update(Model).where(Model.id == model_id, Model.status == "converting").values(**values))
        if outcome == "conversion failed":
            session.execute(update(Job).where(Job.model_id == model_id, Job.status == "queued").values(
                status="failed", error=values["error"], finished_at=utcnow()))
        session.commit()
    invalidate_cached_pages()
    return outcome
