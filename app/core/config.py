"""One settings object read from the environment (and an optional `.env` file).

`get_settings()` is cached and used as a FastAPI dependency, so tests override it (or pass their own `Settings`
to `create_app`). Nothing here touches the database or the file system beyond path normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/cbench.db"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PoolSettings:
    """Database connection pool of one process: `size` kept open, up to `overflow` more under load, and how long a
    request waits for a free connection before it is answered 503 with Retry-After."""

    size: int
    overflow: int
    timeout: float


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
    train_python: Path = Field(REPO_ROOT / ".venv-train/bin/python",
                               validation_alias=AliasChoices("CBENCH_TRAIN_PYTHON", "train_python"))
    """The trainer's interpreter (`scripts/setup_trainer_venv.sh`); when it exists, `cbench serve --demo` also runs
    the demo's short CPU training run with it."""
    demo_train_dir: Path = Field(Path("./var/demo-train"),
                                 validation_alias=AliasChoices("CBENCH_DEMO_TRAIN_DIR", "demo_train_dir"))
    """Working directory of the demo's training run: its corpus, packed data and log (`train.log`)."""
    demo_train_steps: int = Field(6, ge=1, le=1000,
                                  validation_alias=AliasChoices("CBENCH_DEMO_TRAIN_STEPS", "demo_train_steps"))
    """Optimizer steps of the demo's training run (one sequence each)."""
    demo_train_save_interval: int = Field(
        2, ge=1, le=1000, validation_alias=AliasChoices("CBENCH_DEMO_TRAIN_SAVE_INTERVAL", "demo_train_save_interval"))
    """Steps between the demo run's checkpoints; each is registered and scored."""
    demo_train_max_length: int = Field(
        256, ge=16, le=8192, validation_alias=AliasChoices("CBENCH_DEMO_TRAIN_MAX_LENGTH", "demo_train_max_length"))
    """Tokens per training sequence of the demo's run."""
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
    worker_retry_backoff_seconds: float = Field(
        30.0, ge=0, validation_alias=AliasChoices("CBENCH_WORKER_RETRY_BACKOFF_SECONDS", "worker_retry_backoff_seconds"))
    """Wait before a failed attempt is retried; doubled after each further failed attempt."""
    worker_retry_backoff_max_seconds: float = Field(
        600.0, ge=0, validation_alias=AliasChoices("CBENCH_WORKER_RETRY_BACKOFF_MAX_SECONDS",
                                                   "worker_retry_backoff_max_seconds"))
    """Longest wait between two attempts of a job (the cap of the doubling)."""

    worker_chunk_size: int = Field(
        64, ge=1, validation_alias=AliasChoices("CBENCH_WORKER_CHUNK_SIZE", "worker_chunk_size"))
    """Questions per batch: predictions are committed, and cancel/SIGTERM honoured, after each batch."""
    vllm_gpu_memory_utilization: float | None = Field(
        None, gt=0, le=1, validation_alias=AliasChoices("CBENCH_VLLM_GPU_MEMORY_UTILIZATION",
                                                        "vllm_gpu_memory_utilization"))
    """vLLM backend: fraction of GPU memory (CUDA) the engine may take; unset, vLLM's default. On CPU the KV
    cache is sized by `vllm_kv_cache_gib` instead."""
    vllm_kv_cache_gib: float | None = Field(
        2.0, gt=0, validation_alias=AliasChoices("CBENCH_VLLM_KV_CACHE_GIB", "vllm_kv_cache_gib"))
    """vLLM backend: KV cache size in GiB. The default fits a small CPU machine (and the models the suite runs);
    unset (empty) on a GPU machine to let `vllm_gpu_memory_utilization` size it."""
    vllm_max_model_len: int | None = Field(
        None, ge=1, validation_alias=AliasChoices("CBENCH_VLLM_MAX_MODEL_LEN", "vllm_max_model_len"))
    """vLLM backend: longest prompt plus generation the engine accepts; unset, the model's context length."""
    vllm_max_num_seqs: int | None = Field(
        None, ge=1, validation_alias=AliasChoices("CBENCH_VLLM_MAX_NUM_SEQS", "vllm_max_num_seqs"))
    """vLLM backend: sequences scheduled together; unset, vLLM's default for the platform."""
    vllm_enforce_eager: bool | None = Field(
        None, validation_alias=AliasChoices("CBENCH_VLLM_ENFORCE_EAGER", "vllm_enforce_eager"))
    """vLLM backend: skip torch.compile and graph capture (the engine starts in about a quarter of the time on
    CPU); unset, vLLM compiles."""
    max_body_bytes: int = Field(
        1_048_576, ge=1, validation_alias=AliasChoices("CBENCH_MAX_BODY_BYTES", "max_body_bytes"))
    """Largest request body the API accepts; bigger ones get 413."""
    leaderboard_cache_seconds: float = Field(
        2.0, ge=0, validation_alias=AliasChoices("CBENCH_LEADERBOARD_CACHE_SECONDS", "leaderboard_cache_seconds"))
    """How long a rendered leaderboard (JSON or page) is served from memory before the database is asked whether
    a job finished since; 0 turns the cache off."""
    content_hash_wait_seconds: float = Field(
        2.0, ge=0, validation_alias=AliasChoices("CBENCH_CONTENT_HASH_WAIT_SECONDS", "content_hash_wait_seconds"))
    """How long a model registration waits for the weights' fingerprint (`content_hash`); a bigger model is stored
    without one and gets it when the background hashing is done."""
    db_pool_size: int = Field(20, ge=1, validation_alias=AliasChoices("CBENCH_DB_POOL_SIZE", "db_pool_size"))
    """Connections each process keeps open; with `db_max_overflow` it covers the API's 40 request threads."""
    db_max_overflow: int = Field(
        20, ge=0, validation_alias=AliasChoices("CBENCH_DB_MAX_OVERFLOW", "db_max_overflow"))
    """Extra connections opened under load beyond `db_pool_size`."""
    db_pool_timeout: float = Field(
        10.0, gt=0, validation_alias=AliasChoices("CBENCH_DB_POOL_TIMEOUT", "db_pool_timeout"))
    """Seconds a request waits for a free connection; then it is answered 503 with Retry-After."""
    request_queue_timeout: float = Field(
        30.0, gt=0, validation_alias=AliasChoices("CBENCH_REQUEST_QUEUE_TIMEOUT", "request_queue_timeout"))
    """Seconds a request waits for one of the API's `db_pool_size + db_max_overflow` request slots (on SQLite a
    write also waits for the single write slot); then it is answered 503 with Retry-After."""
    log_format: str = Field("auto", pattern="^(auto|json|text|human)$",
                            validation_alias=AliasChoices("CBENCH_LOG_FORMAT", "log_format"))
    """`auto`: human-readable lines on a terminal, JSON lines otherwise; `json`: one JSON object per log line
    (with job_id where there is one); `text`: key=value lines; `human`: readable lines always."""

    webhook_timeout_seconds: float = Field(
        10.0, gt=0, validation_alias=AliasChoices("CBENCH_WEBHOOK_TIMEOUT_SECONDS", "webhook_timeout_seconds"))
    """How long the dispatcher waits for a webhook receiver's answer before counting the attempt as failed."""
    webhook_max_attempts: int = Field(
        10, ge=1, validation_alias=AliasChoices("CBENCH_WEBHOOK_MAX_ATTEMPTS", "webhook_max_attempts"))
    """Deliveries of one event to one subscription before it is marked failed."""
    webhook_backoff_seconds: float = Field(
        5.0, gt=0, validation_alias=AliasChoices("CBENCH_WEBHOOK_BACKOFF_SECONDS", "webhook_backoff_seconds"))
    """Delay before the first retry of a failed delivery; it doubles with every attempt, up to an hour."""
    webhook_poll_interval: float = Field(
        1.0, gt=0, validation_alias=AliasChoices("CBENCH_WEBHOOK_POLL_INTERVAL", "webhook_poll_interval"))
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
