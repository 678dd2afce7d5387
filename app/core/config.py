"""One settings object read from the environment (and an optional `.env` file).

`get_settings()` is cached and used as a FastAPI dependency, so tests override it (or pass their own `Settings`
to `create_app`). Nothing here touches the database or the file system beyond path normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, AliasGenerator, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/cbench.db"
REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "CBENCH_"


def env_alias(field_name: str) -> AliasChoices:
    """A setting is read from `CBENCH_<FIELD NAME>` (or given by its field name); `database_url` alone differs."""
    return AliasChoices(f"{ENV_PREFIX}{field_name.upper()}", field_name)


@dataclass(frozen=True)
class PoolSettings:
    """Database connection pool of one process: `size` kept open, up to `overflow` more under load, and how long a
    request waits for a free connection before it is answered 503 with Retry-After."""

    size: int
    overflow: int
    timeout: float


class Settings(BaseSettings):
    """Service configuration; every field maps to one environment variable, `CBENCH_<FIELD NAME>` unless its alias
    says otherwise (see `.env.example`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True,
                                      alias_generator=AliasGenerator(validation_alias=env_alias))

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    """SQLAlchemy URL. `postgresql://` is normalised to the psycopg 3 driver."""
    data_dir: Path = Path("./var/data")
    """Directory holding the native benchmark files (read-only)."""
    model_roots: str = "./var/models"
    """Colon-separated directories that local model paths must resolve under (after following links)."""
    cache_dir: Path = Path("~/.cache/colossal-bench")
    """Per-machine cache outside the repository (models converted from packaged GGUF files, e.g. the demo's)."""
    demo_limit: int = Field(10, ge=1, le=1000)
    """Questions per subject that `cbench serve --demo` scores for each demo model."""
    train_python: Path = REPO_ROOT / ".venv-train/bin/python"
    """The trainer's interpreter (`scripts/setup_trainer_venv.sh`); when it exists, `cbench serve --demo` also runs
    the demo's short CPU training run with it."""
    demo_train_dir: Path = Path("./var/demo-train")
    """Working directory of the demo's training run: its corpus, packed data and log (`train.log`)."""
    demo_train_steps: int = Field(6, ge=1, le=1000)
    """Optimizer steps of the demo's training run (one sequence each)."""
    demo_train_save_interval: int = Field(2, ge=1, le=1000)
    """Steps between the demo run's checkpoints; each is registered and scored."""
    demo_train_max_length: int = Field(256, ge=16, le=8192)
    """Tokens per training sequence of the demo's run."""
    allow_remote_code: bool = False
    """Let backends run model code shipped with a checkpoint (`trust_remote_code`). Off by default."""
    worker_device: str = "auto"
    """Device a worker uses when a job does not name one."""
    worker_poll_interval: float = Field(2.0, gt=0)
    """Seconds an idle worker waits before looking for a queued job again."""
    worker_lease_seconds: float = Field(60.0, gt=0)
    """How long a claimed job stays leased without a heartbeat; an expired lease makes the job claimable again."""
    worker_max_attempts: int = Field(3, ge=1)
    """Claims a job gets before it is failed with the last reason."""
    worker_retry_backoff_seconds: float = Field(30.0, ge=0)
    """Wait before a failed attempt is retried; doubled after each further failed attempt."""
    worker_retry_backoff_max_seconds: float = Field(600.0, ge=0)
    """Longest wait between two attempts of a job (the cap of the doubling)."""

    worker_chunk_size: int = Field(64, ge=1)
    """Questions per batch: predictions are committed, and cancel/SIGTERM honoured, after each batch."""
    vllm_gpu_memory_utilization: float | None = Field(None, gt=0, le=1)
    """vLLM backend: fraction of GPU memory (CUDA) the engine may take; unset, vLLM's default. On CPU the KV
    cache is sized by `vllm_kv_cache_gib` instead."""
    vllm_kv_cache_gib: float | None = Field(2.0, gt=0)
    """vLLM backend: KV cache size in GiB. The default fits a small CPU machine (and the models the suite runs);
    unset (empty) on a GPU machine to let `vllm_gpu_memory_utilization` size it."""
    vllm_max_model_len: int | None = Field(None, ge=1)
    """vLLM backend: longest prompt plus generation the engine accepts; unset, the model's context length."""
    vllm_max_num_seqs: int | None = Field(None, ge=1)
    """vLLM backend: sequences scheduled together; unset, vLLM's default for the platform."""
    vllm_enforce_eager: bool | None = None
    """vLLM backend: skip torch.compile and graph capture (the engine starts in about a quarter of the time on
    CPU); unset, vLLM compiles."""
    max_body_bytes: int = Field(1_048_576, ge=1)
    """Largest request body the API accepts; bigger ones get 413."""
    leaderboard_cache_seconds: float = Field(2.0, ge=0)
    """How long a rendered leaderboard (JSON or page) is served from memory before the database is asked whether
    a job finished since; 0 turns the cache off."""
    content_hash_wait_seconds: float = Field(2.0, ge=0)
    """How long a model registration waits for the weights' fingerprint (`content_hash`); a bigger model is stored
    without one and gets it when the background hashing is done."""
    db_pool_size: int = Field(20, ge=1)
    """Connections each process keeps open; with `db_max_overflow` it covers the API's 40 request threads."""
    db_max_overflow: int = Field(20, ge=0)
    """Extra connections opened under load beyond `db_pool_size`."""
    db_pool_timeout: float = Field(10.0, gt=0)
    """Seconds a request waits for a free connection; then it is answered 503 with Retry-After."""
    request_queue_timeout: float = Field(30.0, gt=0)
    """Seconds a request waits for one of the API's `db_pool_size + db_max_overflow` request slots (on SQLite a
    write also waits for the single write slot); then it is answered 503 with Retry-After."""
    log_format: str = Field("auto", pattern="^(auto|json|text|human)$")
    """`auto`: human-readable lines on a terminal, JSON lines otherwise; `json`: one JSON object per log line
    (with job_id where there is one); `text`: key=value lines; `human`: readable lines always."""

    webhook_timeout_seconds: float = Field(10.0, gt=0)
    """How long the dispatcher waits for a webhook receiver's answer before counting the attempt as failed."""
    webhook_max_attempts: int = Field(10, ge=1)
    """Deliveries of one event to one subscription before it is marked failed."""
    webhook_backoff_seconds: float = Field(5.0, gt=0)
    """Delay before the first retry of a failed delivery; it doubles with every attempt, up to an hour."""
    webhook_poll_interval: float = Field(1.0, gt=0)
    """Seconds the dispatcher waits between looks at an empty outbox."""

    @field_validator("vllm_gpu_memory_utilization", "vllm_kv_cache_gib", "vllm_max_model_len", "vllm_max_num_seqs",
                     "vllm_enforce_eager", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

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
    def pool(self) -> PoolSettings:
        return PoolSettings(size=self.db_pool_size, overflow=self.db_max_overflow, timeout=self.db_pool_timeout)

    @property
    def heartbeat_seconds(self) -> float:
        """Lease renewal period: a third of the lease, so two missed beats still keep it."""
        return max(self.worker_lease_seconds / 3.0, 0.05)


@lru_cache
def get_settings() -> Settings:
    return Settings()
