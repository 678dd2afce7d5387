"""ORM models: models (checkpoints), jobs, per-question predictions, per-subject results and API tokens.

A job is one (model, benchmark, template, options) evaluation. Its predictions are unique per (job, question), so
a retried job inserts with "ignore conflicts" and skips what an earlier attempt stored. The job summary is the
`BenchmarkSummary` as JSON; per-subject rows duplicate its subjects for filtering and sorting in SQL.
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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, utcnow

MODEL_STATUSES = ("converting", "ready", "failed")  # converting: a worker is dequantising its GGUF file
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL_STATUSES = ("succeeded", "failed", "cancelled")


class Model(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    path: Mapped[str] = mapped_column(String(1024))  # resolved local directory, or a Hugging Face Hub id
    source: Mapped[str] = mapped_column(String(16))  # "local" or "hub"
    revision: Mapped[str | None] = mapped_column(String(255))  # hub revision (branch, tag or commit)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 of config.json + weight index
    tokenizer: Mapped[str | None] = mapped_column(String(255))  # tokenizer class and file hash
    parameter_count: Mapped[int | None] = mapped_column(BigInteger)
    dtype: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    training_run: Mapped[str | None] = mapped_column(String(255), index=True)
    step: Mapped[int | None] = mapped_column(BigInteger)
    tokens_seen: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
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
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # reproducibility record from the runner
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # BenchmarkSummary.to_dict()

    model: Mapped[Model] = relationship(back_populates="jobs")


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
    prompt_sha256: Mapped[str] = mapped_column(String(64))
    prompt: Mapped[str | None] = mapped_column(Text)


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
