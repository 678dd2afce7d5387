"""The one Python client of the colossal-bench REST API (httpx), used by the remote `cbench` commands and by the
trainer's checkpoint registration (`trainer/registration.py`, which runs in the trainer's virtualenv: this module
needs only httpx and the standard library).

Reads are open; writes send `Authorization: Bearer <token>`. A server that cannot be reached raises
`ServerUnreachable` (an `OSError`); an answer outside 2xx raises `ApiError` with the status and the server's
`detail` message. Answers come back as typed records (frozen dataclasses holding the fields the callers use).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the config file needs 3.11's tomllib (options and environment work)
    tomllib = None  # type: ignore[assignment]

API = "/api/v1"
DEFAULT_TIMEOUT = 30.0
FINAL_STATUSES = ("succeeded", "failed", "cancelled")
DEFAULT_CONFIG = Path("~/.config/cbench/config.toml")


class ServerUnreachable(OSError):
    """No answer from the server (connection refused, DNS, timeout)."""


class ApiError(Exception):
    """The server answered with a status outside 2xx."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"server answered {status}: {detail}")
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class ModelRecord:
    id: int
    name: str
    path: str
    source: str
    tags: list[str] = field(default_factory=list)
    training_run: str | None = None
    step: int | None = None
    tokens_seen: int | None = None
    parameter_count: int | None = None


@dataclass(frozen=True)
class JobRecord:
    id: int
    model_id: int
    benchmark: str
    template: str
    status: str
    progress_done: int
    progress_total: int | None = None
    error: str | None = None
    attempts: int = 0
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class SubjectScore:
    subject: str
    display: str
    correct: int
    n: int
    acc: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class JobResults:
    job_id: int
    status: str
    summary: dict[str, Any] | None
    subjects: list[SubjectScore]
    record: dict[str, Any] | None


@dataclass(frozen=True)
class LeaderboardEntry:
    model_id: int
    model_name: str
    benchmark: str
    template: str
    metric: str
    acc: float
    ci_low: float
    ci_high: float
    n: int
    complete: bool
    job_id: int
    training_run: str | None = None
    step: int | None = None


@dataclass(frozen=True)
class CheckpointRegistration:
    model: ModelRecord
    jobs: list[JobRecord]
    created: bool  # False: the same run, step and path was registered before (200)


R = TypeVar("R")


def _record(cls: type[R], data: dict[str, Any]) -> R:
    """A dataclass from a JSON object, keeping the fields it declares (the API may add others)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Connection:
    """Where the server is and the token to write with."""

    server: str
    token: str | None = None


def resolve_connection(server: str | None = None, token: str | None = None,
                       config_path: str | Path | None = None) -> Connection:
    """Server and token from the options, else `$CBENCH_SERVER` / `$CBENCH_TOKEN`, else the config file
    (`$CBENCH_CONFIG`, default ~/.config/cbench/config.toml, keys `server` and `token`)."""
    path = Path(config_path or os.environ.get("CBENCH_CONFIG") or DEFAULT_CONFIG).expanduser()
    stored: dict[str, Any] = {}
    if path.is_file():
        if tomllib is None:
            raise ValueError(f"reading {path} needs Python 3.11 or newer; use --server/--token or the environment")
        try:
            stored = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"config file {path} is not valid TOML: {exc}") from None
    server = server or os.environ.get("CBENCH_SERVER") or stored.get("server")
    token = token or os.environ.get("CBENCH_TOKEN") or stored.get("token")
    if not server:
        raise ValueError(f"no server given: use --server URL, $CBENCH_SERVER or 'server = ...' in {path}")
    if not str(server).startswith(("http://", "https://")):
        raise ValueError(f"server must be an http:// or https:// URL, got {server!r}")
    return Connection(server=str(server).rstrip("/"), token=str(token) if token else None)


class Client:
    """A session with one server: `with Client(url, token) as client: client.job(7)`."""

    def __init__(self, server: str, token: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Accept": "application/json", "User-Agent": "cbench-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.server = server.rstrip("/")
        self._http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- transport ---
    def send(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> httpx.Response:
        """One request; any status comes back (`ServerUnreachable` when there is no answer at all)."""
        try:
            return self._http.request(method, path, json=json,
                                      params={k: v for k, v in (params or {}).items() if v is not None})
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"{self.server} unreachable: {type(exc).__name__}: {exc}") from exc

    def _ok(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.send(method, path, **kwargs)
        if not response.is_success:
            raise ApiError(response.status_code, _detail(response))
        return response

    # --- models ---
    def register_model(self, name: str, path: str, *, revision: str | None = None,
                       tags: Sequence[str] = ()) -> ModelRecord:
        body = {"name": name, "path": path, "revision": revision, "tags": list(tags)}
        return _record(ModelRecord, self._ok("POST", f"{API}/models", json=body).json())

    def model(self, model_id: int) -> ModelRecord:
        return _record(ModelRecord, self._ok("GET", f"{API}/models/{model_id}").json())

    # --- jobs ---
    def submit(self, model: int | str, benchmarks: Iterable[str], *, template: str = "colossaleval",
               options: dict[str, Any] | None = None) -> list[JobRecord]:
        body = {"model": model, "benchmarks": list(benchmarks), "template": template,
                "options": {k: v for k, v in (options or {}).items() if v is not None}}
        return [_record(JobRecord, j) for j in self._ok("POST", f"{API}/jobs", json=body).json()["data"]]

    def job(self, job_id: int) -> JobRecord:
        return _record(JobRecord, self._ok("GET", f"{API}/jobs/{job_id}").json())

    def cancel(self, job_id: int) -> JobRecord:
        return _record(JobRecord, self._ok("POST", f"{API}/jobs/{job_id}/cancel").json())

    def results(self, job_id: int) -> JobResults:
        data = self._ok("GET", f"{API}/jobs/{job_id}/results").json()
        return JobResults(job_id=data["job_id"], status=data["status"], summary=data.get("summary"),
                          subjects=[_record(SubjectScore, s) for s in data.get("subjects", [])],
                          record=data.get("record"))

    def leaderboard(self, *, benchmark: str | None = None, template: str | None = None, tag: str | None = None,
                    run: str | None = None) -> list[LeaderboardEntry]:
        params = {"benchmark": benchmark, "template": template, "tag": tag, "run": run}
        return [_record(LeaderboardEntry, e) for e in self._ok("GET", f"{API}/leaderboard", params=params).json()["data"]]

    # --- checkpoints (the trainer) ---
    def register_checkpoint(self, body: dict[str, Any]) -> CheckpointRegistration:
        response = self._ok("POST", f"{API}/checkpoints", json=body)
        data = response.json()
        return CheckpointRegistration(model=_record(ModelRecord, data["model"]),
                                      jobs=[_record(JobRecord, j) for j in data["jobs"]],
                                      created=response.status_code == 201)


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail) if detail else (response.text[:300] or response.reason_phrase)
