"""A local model's `content_hash`: a fingerprint of its config and of the bytes of its weight files.

sha256 over config.json, then one line per weight file (by name): its name, size and the sha256 of its contents,
streamed in blocks. Each file's digest is cached by (resolved path, size, mtime), so registering a checkpoint again,
or another model sharing the files, reads nothing. Hashing runs on a background thread: a registration waits for it
at most `content_hash_wait_seconds`; a model whose weights take longer is stored without a hash, and the hash is
written to every model row of that path when it is done (and, for rows left without one by a restart, when the
app starts).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.models import Model

log = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".bin")
BLOCK_BYTES = 8 << 20
SessionFactory = Callable[[], Session]


def weight_files(directory: Path) -> list[Path]:
    """The weight files of a model directory (safetensors or PyTorch `.bin`, sharded or not), by name."""
    return sorted((f for f in directory.iterdir() if f.suffix in WEIGHT_SUFFIXES and f.is_file()),
                  key=lambda f: f.name)


@dataclass(frozen=True)
class _FileKey:
    path: str
    size: int
    mtime_ns: int


def stream_digest(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def content_hash(directory: Path, file_digest: Callable[[Path], str] = stream_digest) -> str:
    """sha256 over `config.json` and each weight file's name, size and content digest: a fingerprint of the
    weights themselves (one changed weight changes it)."""
    digest = hashlib.sha256((directory / "config.json").read_bytes())
    for weight in weight_files(directory):
        digest.update(f"{weight.name}:{weight.stat().st_size}:{file_digest(weight)}\n".encode())
    return digest.hexdigest()


class WeightHasher:
    """Fingerprints model directories on a background thread, with a per-file digest cache; with a session
    factory (the server's), hashes that were not ready in time are written to the database when done."""

    def __init__(self, session_factory: SessionFactory | None = None, workers: int = 1) -> None:
        self._session_factory = session_factory
        self._workers = workers
        self._executor, self._writer = self._pools()
        self._stopped = False
        self._lock = threading.Lock()
        self._digests: dict[_FileKey, str] = {}
        self._running: dict[Path, Future[str]] = {}

    def _pools(self) -> tuple[ThreadPoolExecutor, ThreadPoolExecutor]:
        return (ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="content-hash"),
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="content-hash-store"))

    def start(self) -> None:
        """Start the background threads again after `shutdown` (an application that is started twice)."""
        with self._lock:
            if self._stopped:
                self._executor, self._writer = self._pools()
                self._running.clear()
                self._stopped = False

    def file_digest(self, path: Path) -> str:
        stat = path.stat()
        key = _FileKey(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._digests.get(key)
        if cached is not None:
            return cached
        digest = stream_digest(path)
        with self._lock:
            self._digests[key] = digest
        return digest

    def fingerprint(self, directory: Path) -> str:
        """The content hash of `directory`, computed on the calling thread with this hasher's digest cache."""
        return content_hash(directory, self.file_digest)

    def submit(self, directory: Path) -> Future[str]:
        """Start (or join) the background fingerprint of `directory`."""
        with self._lock:
            running = self._running.get(directory)
            if running is not None and not running.done():
                return running
            future = self._executor.submit(self.fingerprint, directory)
            self._running[directory] = future
            return future

    def fingerprint_within(self, directory: Path, seconds: float) -> str | None:
        """The content hash if it is ready within `seconds`; else None, and it is stored when done."""
        try:
            return self.submit(directory).result(timeout=seconds)
        except FutureTimeout:
            self.store_when_done(directory)
            return None

    def store_when_done(self, directory: Path, *, retry_seconds: float = 30.0) -> None:
        """Write the hash to the models of `directory` that have none, once it is computed. The registering
        request may commit its row just after the hash is ready, so an update that finds no row is retried."""
        session_factory = self._session_factory
        if session_factory is None:
            return
        future = self.submit(directory)

        def store() -> None:
            try:
                value = future.result()
            except OSError as exc:
                log.warning("content hash of %s failed: %s", directory, exc)
                return
            deadline = time.monotonic() + retry_seconds
            while True:
                if _store(session_factory, str(directory), value) or time.monotonic() > deadline:
                    return
                time.sleep(0.2)

        self._writer.submit(store)

    def fill_missing(self) -> None:
        """Queue the hash of every local model stored without one (e.g. the server stopped while hashing)."""
        session_factory = self._session_factory
        if session_factory is None:
            return

        def fill() -> None:
            try:
                with session_factory() as session:
                    paths = set(session.scalars(select(Model.path).where(Model.source == "local",
                                                                          Model.content_hash.is_(None))))
            except Exception as exc:  # a database not migrated yet: nothing to fill
                log.warning("could not list models without a content hash: %s", exc)
                return
            for path in sorted(paths):
                if (Path(path) / "config.json").is_file():
                    self.store_when_done(Path(path), retry_seconds=0)

        self._writer.submit(fill)

    def shutdown(self) -> None:
        with self._lock:
            self._stopped = True
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._writer.shutdown(wait=False, cancel_futures=True)


def _store(session_factory: SessionFactory, path: str, value: str) -> bool:
    with session_factory() as session:
        result = session.execute(update(Model).where(Model.path == path, Model.source == "local",
                                                     Model.content_hash.is_(None)).values(content_hash=value))
        session.commit()
        return result.rowcount > 0
