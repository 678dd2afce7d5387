"""Registering models, submitting jobs (one per benchmark) and registering training checkpoints.

Benchmark, template and subjects are checked with `evaluators.catalog.validate_request` (pure, no torch); its
`ValueError` names the valid choices and becomes a 422. Checkpoint registration is idempotent for the same
run, step and path: a repeat returns the model and its jobs, and queues the requested benchmarks that have no job
with this template and these options yet; a name taken by another model, run, step, path or tag set is a 409.
`POST /jobs` with an `Idempotency-Key` creates its jobs once per token and key (`submit_jobs_once`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.db.models import ApiToken, Job, Model
from app.errors import ConflictError, InvalidRequestError
from app.queries import idempotency as idempotency_queries
from app.queries import jobs as job_queries
from app.queries import models as model_queries
from app.schemas.checkpoints import CheckpointCreate
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.fingerprint import WeightHasher
from app.services.model_source import inspect_model, is_hub_id

DEFAULT_HASHER = WeightHasher()
"""Hashes for callers without a server (demo setup, scripts): computed on the calling thread, files cached."""


def register_model(session: Session, settings: Settings, body: ModelCreate, *,
                   hasher: WeightHasher | None = None) -> Model:
    """Store a model with its facts. With `hasher` (the server's), the weights' fingerprint is awaited at most
    `content_hash_wait_seconds` and written later when it takes longer; without one it is computed here."""
    existing = model_queries.get_model_by_name(session, body.name)
    if existing is not None:
        same = "" if existing.name == body.name else f" ({existing.name!r}: names are compared ignoring case)"
        raise ConflictError(f"name: a model named {body.name!r} already exists{same}")
    facts = inspect_model(body.path, settings.model_root_paths, allow_remote_code=settings.allow_remote_code)
    revision = body.revision or ("main" if facts.source == "hub" else None)
    content_hash = None
    if facts.source == "local":
        content_hash = _content_hash(Path(facts.path), settings, hasher)
    converting = facts.source == "gguf"  # a worker dequantises it; jobs wait until the model is ready
    return model_queries.create_model(
        session, name=body.name, path=facts.path, source=facts.source, revision=revision,
        content_hash=content_hash, tokenizer=facts.tokenizer, parameter_count=facts.parameter_count,
        dtype=facts.dtype, tags=list(body.tags), description=body.description, training_run=body.training_run,
        step=body.step, tokens_seen=body.tokens_seen, status="converting" if converting else "ready",
        source_file=facts.path if converting else None)


def _content_hash(directory: Path, settings: Settings, hasher: WeightHasher | None) -> str | None:
    try:
        if hasher is None:
            return DEFAULT_HASHER.fingerprint(directory)
        return hasher.fingerprint_within(directory, settings.content_hash_wait_seconds)
    except OSError as exc:
        raise InvalidRequestError(f"model path {str(directory)!r}: cannot read its weight files ({exc})") from exc


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


def submit_jobs_once(session: Session, body: JobCreate, token: ApiToken, key: str | None) -> tuple[list[Job], bool]:
    """Return (jobs, replayed). Without a key every call queues new jobs; with one, the first call per token and
    key queues them and a repeat of the same request returns those jobs (a different request is refused)."""
    if key is None:
        return submit_jobs(session, body), False
    digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    for _ in range(2):
        stored = idempotency_queries.get_key(session, token.id, key)
        if stored is not None:
            if stored.request_sha256 != digest:
                raise InvalidRequestError(f"Idempotency-Key {key!r} was already used with a different request; "
                                          "use a new key for a new request")
            return job_queries.jobs_by_ids(session, stored.job_ids), True
        try:
            row = idempotency_queries.claim_key(session, token.id, key, digest)
        except IntegrityError:  # a concurrent request with this key committed first: answer what it created
            session.rollback()
            continue
        jobs = submit_jobs(session, body)
        row.job_ids = [job.id for job in jobs]
        return jobs, False
    raise ConflictError(f"Idempotency-Key {key!r} is being used by a concurrent request; retry")


def register_checkpoint(session: Session, settings: Settings, body: CheckpointCreate, *,
                        hasher: WeightHasher | None = None) -> tuple[Model, list[Job], bool]:
    """Return (model, jobs, created): created is true when the model or any job is new."""
    name = checkpoint_name(body.run, body.step)
    if body.benchmarks:
        validate_benchmarks(body.benchmarks, body.template, body.options)
    config = body.options.model_dump()
    existing = model_queries.get_model_by_name(session, name)
    if existing is None:
        model = register_model(session, settings, ModelCreate(
            name=name, path=body.path, tags=body.tags, description=body.description, training_run=body.run,
            step=body.step, tokens_seen=body.tokens_seen), hasher=hasher)
        model.contamination_index = body.contamination_index
        jobs = [job_queries.create_job(session, model_id=model.id, benchmark=b, template=body.template,
                                       config=config) for b in body.benchmarks]
        return model, jobs, True
    _check_same_checkpoint(existing, body, name)
    jobs = list(job_queries.jobs_for_model(session, existing.id))
    queued = {(j.benchmark, j.template, json.dumps(j.config, sort_keys=True)) for j in jobs}
    wanted = json.dumps(config, sort_keys=True)
    new = [job_queries.create_job(session, model_id=existing.id, benchmark=b, template=body.template, config=config)
           for b in body.benchmarks if (b, body.template, wanted) not in queued]
    return existing, jobs + new, bool(new)


def _check_same_checkpoint(existing: Model, body: CheckpointCreate, name: str) -> None:
    """A 409 naming the field when the stored model is not this run's checkpoint at this step and path."""
    if existing.training_run != body.run or existing.step != body.step:
        raise ConflictError(f"run: the name {name!r} belongs to model {existing.id}, which is not step {body.step} "
                            f"of run {body.run!r} (run {existing.training_run!r}, step {existing.step})")
    same_path = existing.path == body.path or (
        not is_hub_id(body.path) and existing.path == str(Path(body.path).expanduser().resolve()))
    if not same_path:
        raise ConflictError(f"path: checkpoint {name!r} is already registered with path {existing.path!r}")
    if existing.tokens_seen != body.tokens_seen:
        raise ConflictError(f"tokens_seen: checkpoint {name!r} is registered with tokens_seen "
                            f"{existing.tokens_seen}, not {body.tokens_seen}")
    if sorted(existing.tags) != sorted(body.tags):
        raise ConflictError(f"tags: checkpoint {name!r} is registered with tags {existing.tags}, not {body.tags}")
