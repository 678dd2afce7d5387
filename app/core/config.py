"""One settings object read from the environment (and an optional `.env` file).

`get_settings()` is cached and used as a FastAPI dependency, so tests override it (or pass their own `Settings`
to `create_app`). Nothing here touches the database or the file system beyond path normalisation.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/cbench.db"


class Settings(BaseSettings):
    """Service configuration; every field maps to one environment variable (see `.env.example`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    """SQLAlchemy URL. `postgresql://` is normalised to the psycopg 3 driver."""
    data_dir: Path = Field(Path("./var/data"), validation_alias=AliasChoices("CBENCH_DATA_DIR", "data_dir"))
    """Directory holding the native benchmark files (read-only)."""
    model_roots: str = Field("./var/models", validation_alias=AliasChoices("CBENCH_MODEL_ROOTS", "model_roots"))
    """Colon-separated directories that local model paths must resolve under (after following links)."""
    cache_dir: Path = Field(Path("~/.cache/colossal-bench"),
                            validation_alias=AliasChoices("CBENCH_CACHE_DIR", "cache_dir"))
    """Per-machine cache outside the repository (models converted from packaged GGUF files, e.g. the demo's)."""
    demo_limit: int = Field(10, ge=1, le=1000, validation_alias=AliasChoices("CBENCH_DEMO_LIMIT", "demo_limit"))
    """Questions per subject that `cbench serve --demo` scores for each demo model."""
    allow_remote_code: bool = Field(
        False, validation_alias=AliasChoices("CBENCH_ALLOW_REMOTE_CODE", "allow_remote_code"))
    """Let backends run model code shipped with a checkpoint (`trust_remote_code`). Off by default."""
    worker_device: str = Field("auto", validation_alias=AliasChoices("CBENCH_WORKER_DEVICE", "worker_device"))
    """Device a worker uses when a job does not name one."""
    worker_poll_interval: float = Field(
        2.0, gt=0, validation_alias=AliasChoices("CBENCH_WORKER_POLL_INTERVAL", "worker_poll_interval"))
    """Seconds an idle worker waits before looking for a queued job again."""
    worker_lease_seconds: float = Field(
        60.0, gt=0, validation_alias=AliasChoices("CBENCH_WORKER_LEASE_SECONDS", "worker_lease_seconds"))
    """How long a claimed job stays leased without a heartbeat; an expired lease makes the job claimable again."""
    worker_max_attempts: int = Field(
        3, ge=1, validation_alias=AliasChoices("CBENCH_WORKER_MAX_ATTEMPTS", "worker_max_attempts"))
    """Claims a job gets before it is failed with the last reason."""

    worker_chunk_size: int = Field(
        64, ge=1, validation_alias=AliasChoices("CBENCH_WORKER_CHUNK_SIZE", "worker_chunk_size"))
    """Questions per batch: predictions are committed, and cancel/SIGTERM honoured, after each batch."""
    max_body_bytes: int = Field(
        1_048_576, ge=1, validation_alias=AliasChoices("CBENCH_MAX_BODY_BYTES", "max_body_bytes"))
    """Largest request body the API accepts; bigger ones get 413."""
    leaderboard_cache_seconds: float = Field(
        2.0, ge=0, validation_alias=AliasChoices("CBENCH_LEADERBOARD_CACHE_SECONDS", "leaderboard_cache_seconds"))
    """How long a rendered leaderboard (JSON or page) is served from memory before the database is asked whether
    a job finished since; 0 turns the cache off."""
    log_format: str = Field("json", pattern="^(json|text)$",
                            validation_alias=AliasChoices("CBENCH_LOG_FORMAT", "log_format"))
    """`json`: one JSON object per log line (with job_id where there is one); `text`: key=value lines."""

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix):]
        return value

    @property
    def model_root_paths(self) -> list[Path]:
        """The model roots, resolved (links followed)."""
        return [Path(part).expanduser().resolve() for part in self.model_roots.split(":") if part.strip()]

    @property
    def heartbeat_seconds(self) -> float:
        """Lease renewal period: a third of the lease, so two missed beats still keep it."""
        return max(self.worker_lease_seconds / 3.0, 0.05)


@lru_cache
def get_settings() -> Settings:
    return Settings()
