"""ORM models: models (checkpoints), jobs, per-question predictions, prompts, per-subject results, API tokens,
checkpoint verdicts, webhook subscriptions with their outbox, and contamination indexes, checks and hits.

A job is one (model, benchmark, template, options) evaluation. Its predictions are unique per (job, question), so
a retried job inserts with "ignore conflicts" and skips what an earlier attempt stored. The job summary is the
`BenchmarkSummary` as JSON, its headline numbers (and `complete`) copied into columns so that the leaderboard picks
and shows results without parsing JSON; per-subject rows duplicate its subjects for filtering and sorting in SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.db.base import Base, utcnow
from app.schemas.fields import name_key


def _name_key_default(context: Any) -> str:
    return name_key(context.get_current_parameters()["name"])


MODEL_STATUSES = ("converting", "ready", "failed")  # converting: a worker is dequantising its GGUF file
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL_STATUSES = ("succeeded", "failed", "cancelled")


class Model(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    # the name NFKC-normalised, trimmed and case-folded: unique, so "Llama" and "llama " cannot both exist
    name_key: Mapped[str | None] = mapped_column(String(255), unique=True, default=_name_key_default)
    path: Mapped[str] = mapped_column(String(1024))  # resolved local directory, or a Hugging Face Hub id
    source: Mapped[str] = mapped_column(String(16))  # "local" or "hub"
    revision: Mapped[str | None] = mapped_column(String(255))  # hub revision (branch, tag or commit)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # fingerprint of config + weight bytes (services/fingerprint.py)
    tokenizer: Mapped[str | None] = mapped_column(String(255))  # tokenizer class and file hash
    parameter_count: Mapped[int | None] = mapped_column(BigInteger)
    dtype: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    training_run: Mapped[str | None] = mapped_column(String(255), index=True)
    step: Mapped[int | None] = mapped_column(BigInteger)
    tokens_seen: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    contamination_index: Mapped[str | None] = mapped_column(String(32), index=True)  # id of its corpus's index
    status: Mapped[str] = mapped_column(String(16), default="ready", server_default="ready")
    error: Mapped[str | None] = mapped_column(Text)  # why a conversion failed
    source_file: Mapped[str | None] = mapped_column(String(1024))  # the registered .gguf file, when converted

    jobs: Mapped[list[Job]] = relationship(back_populates="model")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    benchmark: Mapped[str] = mapped_column(String(64), index=True)
    template: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # options: subjects, limit, device, ...
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    not_before: Mapped[datetime | None] = mapped_column(DateTime)  # a retried job waits for its back-off until then
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # reproducibility record from the runner
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # BenchmarkSummary.to_dict()
    # the summary's headline numbers (`summary_columns`), so result pages select columns and never parse the JSON
    complete: Mapped[bool | None] = mapped_column(Boolean)
    metric: Mapped[str | None] = mapped_column(String(32))
    acc: Mapped[float | None] = mapped_column(Float)  # micro accuracy, percent
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    correct: Mapped[int | None] = mapped_column(Integer)
    n: Mapped[int | None] = mapped_column(Integer)
    expected_n: Mapped[int | None] = mapped_column(Integer)
    macro_acc: Mapped[float | None] = mapped_column(Float)
    subject_count: Mapped[int | None] = mapped_column(Integer)
    estimate: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # early estimate from the stratified sample

    model: Mapped[Model] = relationship(back_populates="jobs")

    @validates("summary")
    def _set_summary_columns(self, _key: str, summary: dict[str, Any] | None) -> dict[str, Any] | None:
        for name, value in summary_columns(summary).items():
            setattr(self, name, value)
        return summary


SUMMARY_COLUMNS = ("complete", "metric", "acc", "ci_low", "ci_high", "correct", "n", "expected_n", "macro_acc",
                   "subject_count")


def summary_columns(summary: dict[str, Any] | None) -> dict[str, Any]:
    """The `jobs` columns copied from a stored `BenchmarkSummary.to_dict()` (all None without a summary)."""
    if not isinstance(summary, dict):
        return dict.fromkeys(SUMMARY_COLUMNS)
    micro = summary.get("micro") or {}
    return {"complete": bool(summary.get("complete")), "metric": summary.get("metric"), "acc": micro.get("acc"),
            "ci_low": micro.get("ci_low"), "ci_high": micro.get("ci_high"), "correct": micro.get("correct"),
            "n": micro.get("n"), "expected_n": summary.get("expected_n"), "macro_acc": summary.get("macro_acc"),
            "subject_count": len(summary.get("subjects") or [])}


class PredictionRow(Base):
    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("job_id", "question_id"),
        Index("ix_predictions_job_id_subject", "job_id", "subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    gold: Mapped[str] = mapped_column(String(16))
    pred: Mapped[str] = mapped_column(String(16))
    scores: Mapped[dict[str, float]] = mapped_column(JSON)
    correct: Mapped[bool] = mapped_column(Boolean)
    correct_combined: Mapped[bool | None] = mapped_column(Boolean)
    output: Mapped[str | None] = mapped_column(Text)
    letter: Mapped[str | None] = mapped_column(String(16))
    prompt_sha256: Mapped[str] = mapped_column(String(64))  # the prompt's address in `prompts` (text kept there)


class Prompt(Base):
    """Each prompt text once, addressed by its sha256: every model scored with one template sees the same prompts,
    so storing them per prediction would grow with models x questions instead of questions."""

    __tablename__ = "prompts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class SubjectResult(Base):
    __tablename__ = "subject_results"
    __table_args__ = (UniqueConstraint("job_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255))
    display: Mapped[str] = mapped_column(String(255))
    correct: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    acc: Mapped[float] = mapped_column(Float)
    stderr: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(32), unique=True)  # public part of the token, for lookup
    token_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the whole token
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # may manage webhooks
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)  # None: valid until revoked


class Verdict(Base):
    """A checkpoint's benchmark result against one baseline of its run ("previous" or "best" checkpoint)."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("model_id", "benchmark", "template", "baseline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    benchmark: Mapped[str] = mapped_column(String(64))
    template: Mapped[str] = mapped_column(String(64))
    baseline: Mapped[str] = mapped_column(String(16))  # "previous" or "best"
    baseline_model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    baseline_job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    n: Mapped[int] = mapped_column(Integer)  # shared questions
    only_new: Mapped[int] = mapped_column(Integer)  # right now, wrong at the baseline
    only_baseline: Mapped[int] = mapped_column(Integer)  # wrong now, right at the baseline
    diff: Mapped[float] = mapped_column(Float)  # percentage points, new − baseline
    ci_low: Mapped[float] = mapped_column(Float)  # paired bootstrap 95% interval of `diff`
    ci_high: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)  # exact McNemar
    p_adjusted: Mapped[float] = mapped_column(Float)  # Holm over the checkpoint's benchmarks
    verdict: Mapped[str] = mapped_column(String(32))  # improved / regressed / no significant change
    sample: Mapped[bool] = mapped_column(Boolean)  # judged on the early-estimate sample only
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Webhook(Base):
    """A subscription: events POSTed to `url`, signed with `secret` (HMAC-SHA256)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(255))  # kept to sign bodies; never returned by the API
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebhookDelivery(Base):
    """The outbox: one row per (event, subscription), written in the transaction that caused the event."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "event_id"),
                      Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(255))  # idempotency key, also in the body and a header
    body: Mapped[str] = mapped_column(Text)  # the exact JSON bytes that are signed and sent (utf-8)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending / delivered / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)  # a dispatcher is sending it until then
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebhookAttempt(Base):
    """The delivery log: every POST a dispatcher made, with the receiver's answer."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: no answer (refused, timed out)
    error: Mapped[str | None] = mapped_column(Text)


class ContaminationIndex(Base):
    """An n-gram overlap index of a training corpus (`cbench contamination index`), known by its content id."""

    __tablename__ = "contamination_indexes"

    id: Mapped[int] = mapped_column(primary_key=True)
    index_id: Mapped[str] = mapped_column(String(32), unique=True)  # manifest id: parameters + file sha256s
    path: Mapped[str] = mapped_column(String(1024))
    normalisation: Mapped[str] = mapped_column(String(64))
    n_latin: Mapped[int] = mapped_column(Integer)
    n_cjk: Mapped[int] = mapped_column(Integer)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # path, kind, sha256, bytes, documents, ngrams
    documents: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    ngrams: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    checks: Mapped[list[ContaminationCheck]] = relationship(back_populates="index")


class ContaminationCheck(Base):
    """One benchmark checked against one index: per-subject overlap counts and the reproducibility record."""

    __tablename__ = "contamination_checks"
    __table_args__ = (Index("ix_contamination_checks_index_benchmark", "index_pk", "benchmark"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    index_pk: Mapped[int] = mapped_column(ForeignKey("contamination_indexes.id", ondelete="CASCADE"))
    benchmark: Mapped[str] = mapped_column(String(64))
    split: Mapped[str] = mapped_column(String(32))
    questions: Mapped[int] = mapped_column(Integer)
    totals: Mapped[dict[str, int]] = mapped_column(JSON)  # field -> overlapping questions, and "any_field"
    subjects: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # contamination.check.SubjectOverlap as dicts
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    index: Mapped[ContaminationIndex] = relationship(back_populates="checks")


class ContaminationHit(Base):
    """A verified n-gram of one question field found in the corpus, and where."""

    __tablename__ = "contamination_hits"
    __table_args__ = (Index("ix_contamination_hits_check_question", "check_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("contamination_checks.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    field: Mapped[str] = mapped_column(String(32))
    ngram: Mapped[str] = mapped_column(Text)
    file: Mapped[str] = mapped_column(String(1024))
    location: Mapped[int] = mapped_column(BigInteger)



class IdempotencyKey(Base):
    """An `Idempotency-Key` of `POST /jobs`: a repeat with the same key (and token) returns these jobs again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))  # of the canonical request body
    job_ids: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
