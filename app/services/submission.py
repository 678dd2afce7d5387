"""Registering models, submitting jobs (one per benchmark) and registering training checkpoints.

Benchmark, template and subjects are checked with `evaluators.catalog.validate_request` (pure, no torch); its
`ValueError` names the valid choices and becomes a 422. Checkpoint registration is idempotent for the same
run, step and path: the second call returns the model and jobs the first one created.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.db.models import Job, Model
from app.errors import ConflictError, InvalidRequestError
from app.queries import jobs as job_queries
from app.queries import models as model_queries
from app.schemas.checkpoints import CheckpointCreate
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.model_source import inspect_model, is_hub_id


def register_model(session: Session, settings: Settings, body: ModelCreate) -> Model:
    if model_queries.get_model_by_name(session, body.name) is not None:
        raise ConflictError(f"a model named {body.name!r} already exists")
    facts = inspect_model(body.path, settings.model_root_paths, allow_remote_code=settings.allow_remote_code)
    revision = body.revision or ("main" if facts.source == "hub" else None)
    converting = facts.source == "gguf"  # a worker dequantises it; jobs wait until the model is ready
    return model_queries.create_model(
        session, name=body.name, path=facts.path, source=facts.source, revision=revision,
        content_hash=facts.content_hash, tokenizer=facts.tokenizer, parameter_count=facts.parameter_count,
        dtype=facts.dtype, tags=list(body.tags), description=body.description, training_run=body.training_run,
        step=body.step, tokens_seen=body.tokens_seen, status="converting" if converting else "ready",
        source_file=facts.path if converting else None)


def validate_benchmarks(benchmarks: list[str], template: str, options: JobOptions) -> None:
    """Raise InvalidRequestError naming the valid values when a benchmark, template, subject or backend is wrong."""
    from evaluators.backends import BACKENDS
    from evaluators.catalog import validate_request

    if options.backend not in BACKENDS:
        raise InvalidRequestError(f"unknown backend {options.backend!r}; valid: {', '.join(sorted(BACKENDS))}")
    if len(set(benchmarks)) != len(benchmarks):
        raise InvalidRequestError("benchmarks must not repeat")
    for benchmark in benchmarks:
        try:
            validate_request(benchmark, template, options.subjects)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from exc


def submit_jobs(session: Session, body: JobCreate) -> list[Job]:
    model = model_queries.find_model(session, body.model)
    if model.status == "failed":
        raise InvalidRequestError(f"model {model.name!r} cannot be scored: {model.error}")
    validate_benchmarks(body.benchmarks, body.template, body.options)
    return [job_queries.create_job(session, model_id=model.id, benchmark=b, template=body.template,
                                   config=body.options.model_dump()) for b in body.benchmarks]


def checkpoint_name(run: str, step: int) -> str:
    return f"{run}@step-{step}"


def register_checkpoint(session: Session, settings: Settings, body: CheckpointCreate) -> tuple[Model, list[Job], bool]:
    """Return (model, jobs, created). A repeat of the same run+step+path returns what exists."""
    name = checkpoint_name(body.run, body.step)
    existing = model_queries.get_model_by_name(session, name)
    if existing is not None:
        same_path = existing.path == body.path or (
            not is_hub_id(body.path) and existing.path == str(Path(body.path).expanduser().resolve()))
        if not same_path:
            raise ConflictError(f"checkpoint {name!r} is already registered with path {existing.path!r}")
        return existing, list(job_queries.jobs_for_model(session, existing.id)), False
    if body.benchmarks:
        validate_benchmarks(body.benchmarks, body.template, body.options)
    model = register_model(session, settings, ModelCreate(
        name=name, path=body.path, tags=body.tags, training_run=body.run, step=body.step,
        tokens_seen=body.tokens_seen))
    jobs = [job_queries.create_job(session, model_id=model.id, benchmark=b, template=body.template,
                                   config=body.options.model_dump()) for b in body.benchmarks]
    return model, jobs, True
