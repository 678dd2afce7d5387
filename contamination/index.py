"""The overlap index of a corpus: exact 64-bit hashes of normalised n-grams in sorted numpy arrays, per file.

Layout of an index directory::

    manifest.json                      what it covers: files (path, kind, sha256, bytes), n, normalisation, id
    files/<key>/done.json              one per finished input file (its sha256 and the build parameters)
    files/<key>/shard-00000.hashes.npy sorted unique uint64 n-gram hashes
    files/<key>/shard-00000.locs.npy   uint64 byte offset of the document each hash was first seen in

Building streams each file document by document and keeps at most `memory_mb` (split over the workers) of n-gram
buffers before it sorts and writes a shard; files are indexed in parallel by worker processes; a file whose
`done.json` matches its current sha256 and the parameters is not indexed again (resume after an interruption, or
add files to an index). Lookup memory-maps the shards and binary-searches them (`np.searchsorted`). The choice
of this structure over a Bloom filter or a Python set is measured in bench/contamination_index.py
(docs/contamination.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from contamination.corpus import (
    CorpusFile,
    PreparedDecoder,
    ReadOptions,
    expand_inputs,
    iter_documents,
    sha256_file,
)
from contamination.ngrams import UnitHasher, batch_window_hashes
from contamination.normalise import N_CJK, N_LATIN, NORMALISATION, corpus_ns, units

FORMAT = "cbench-contamination-index-v1"
MANIFEST = "manifest.json"
DONE = "done.json"
BYTES_PER_BUFFERED_NGRAM = 64  # 16 stored + concatenation, argsort and sorted copies while a shard is written
BYTES_PER_BATCH_UNIT = 64  # unit hash, window hash, positions, document numbers
BYTES_PER_CACHED_UNIT = 200  # a str key, an int and a dict slot
MIN_MEMORY_MB = 1.0


@dataclass(frozen=True)
class BuildOptions:
    memory_mb: float = 1024.0  # cap on the n-gram buffers of all workers together
    workers: int = 1
    read: ReadOptions = field(default_factory=ReadOptions)


@dataclass(frozen=True)
class Budget:
    """How one worker splits its share of the memory cap."""

    buffer_ngrams: int
    batch_units: int
    cache_entries: int

    @classmethod
    def of(cls, memory_bytes: float) -> Budget:
        return cls(buffer_ngrams=max(1024, int(memory_bytes * 0.6 / BYTES_PER_BUFFERED_NGRAM)),
                   batch_units=max(1024, int(memory_bytes * 0.15 / BYTES_PER_BATCH_UNIT)),
                   cache_entries=max(1024, int(memory_bytes * 0.15 / BYTES_PER_CACHED_UNIT)))


@dataclass(frozen=True)
class FileResult:
    path: str
    kind: str
    sha256: str
    bytes: int
    key: str
    documents: int
    ngrams: int  # unique within each shard, summed over shards
    shards: int
    skipped: bool = False  # already indexed with these parameters (resume)


def parameters(read: ReadOptions) -> dict:
    """What makes two builds of the same file interchangeable."""
    tokenizer = None
    if read.tokenizer:
        path = Path(read.tokenizer)
        path = path / "tokenizer.model" if path.is_dir() else path
        tokenizer = sha256_file(path) if path.is_file() else str(path)
    return {"format": FORMAT, "normalisation": NORMALISATION, "n_latin": N_LATIN, "n_cjk": N_CJK,
            "fields": list(read.fields), "tokenizer_sha256": tokenizer}


def file_key(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8")).hexdigest()[:20]


class _ShardWriter:
    def __init__(self, directory: Path, budget: Budget) -> None:
        self.directory, self.budget = directory, budget
        self.hashes: list[np.ndarray] = []
        self.locations: list[np.ndarray] = []
        self.buffered = 0
        self.shards = 0
        self.ngrams = 0

    def add(self, hashes: np.ndarray, locations: np.ndarray) -> None:
        self.hashes.append(hashes)
        self.locations.append(locations)
        self.buffered += len(hashes)
        if self.buffered >= self.budget.buffer_ngrams:
            self.flush()

    def flush(self) -> None:
        if not self.buffered:
            return
        hashes = np.concatenate(self.hashes)
        self.hashes.clear()
        locations = np.concatenate(self.locations)
        self.locations.clear()
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
        locations = locations[order]
        del order
        first = np.empty(len(hashes), dtype=bool)
        first[0] = True
        np.not_equal(hashes[1:], hashes[:-1], out=first[1:])
        stem = self.directory / f"shard-{self.shards:05d}"
        np.save(f"{stem}.hashes.npy", hashes[first])
        np.save(f"{stem}.locs.npy", locations[first])
        self.ngrams += int(first.sum())
        self.shards += 1
        self.buffered = 0


def ngram_batches(file: CorpusFile, read: ReadOptions, budget: Budget,
                  counter: list[int] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(hashes, document locations) of the file's n-grams, a batch of at most `budget.batch_units` units at a time;
    `counter[0]` counts the documents read."""
    hasher = UnitHasher(budget.cache_entries)
    decoder = PreparedDecoder(read.tokenizer or "") if file.kind == "prepared" else None
    parts: dict[int, list[np.ndarray]] = {}
    locations: dict[int, list[int]] = {}
    size = 0

    def flush() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for n, arrays in parts.items():
            lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
            starts = np.concatenate([[0], np.cumsum(lengths)])
            hashes, document = batch_window_hashes(np.concatenate(arrays), starts, n)
            yield hashes, np.asarray(locations[n], dtype=np.uint64)[document]
        parts.clear()
        locations.clear()

    for location, text in iter_documents(file, read, decoder):
        if counter is not None:
            counter[0] += 1
        text_units = units(text)
        unit_hashes = None
        for n in corpus_ns(text_units):
            if len(text_units) >= n:
                unit_hashes = hasher.hashes(text_units) if unit_hashes is None else unit_hashes
                parts.setdefault(n, []).append(unit_hashes)
                locations.setdefault(n, []).append(location)
                size += len(text_units)
        if size >= budget.batch_units:
            yield from flush()
            size = 0
    yield from flush()


def index_file(file: CorpusFile, index_dir: str, memory_bytes: float, read: ReadOptions,
               params: dict) -> FileResult:
    """Index one file into `files/<key>/` (or reuse a finished, matching one). Runs in a worker process."""
    sha = sha256_file(file.path)
    size = os.path.getsize(file.path)
    key = file_key(file.path)
    directory = Path(index_dir) / "files" / key
    done = directory / DONE
    if done.is_file():
        record = json.loads(done.read_text(encoding="utf-8"))
        if record.get("sha256") == sha and record.get("parameters") == params:
            return FileResult(**{**record["result"], "skipped": True})
    if directory.exists():
        shutil.rmtree(directory)  # an interrupted or outdated build of this file
    directory.mkdir(parents=True)
    budget = Budget.of(memory_bytes)
    writer = _ShardWriter(directory, budget)
    documents = [0]
    for hashes, locations in ngram_batches(file, read, budget, documents):
        writer.add(hashes, locations)
    writer.flush()
    result = FileResult(path=file.path, kind=file.kind, sha256=sha, bytes=size, key=key, documents=documents[0],
                        ngrams=writer.ngrams, shards=writer.shards)
    tmp = directory / (DONE + ".tmp")
    tmp.write_text(json.dumps({"sha256": sha, "parameters": params, "result": asdict(result)}), encoding="utf-8")
    os.replace(tmp, done)
    return result


def index_id(params: dict, results: Sequence[FileResult]) -> str:
    """Content id: the parameters and the sha256 of every file, in order (the same corpus gives the same id)."""
    payload = json.dumps({"parameters": params, "files": [r.sha256 for r in results]}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def build_index(inputs: Sequence[str | Path], output: str | Path, options: BuildOptions = BuildOptions(),
                progress: Callable[[FileResult], None] | None = None) -> dict:
    """Build (or resume) the index of `inputs` in `output`; returns the manifest, also written to manifest.json."""
    if options.workers < 1:
        raise ValueError("--workers must be at least 1")
    if options.memory_mb < MIN_MEMORY_MB:
        raise ValueError(f"--memory-mb must be at least {MIN_MEMORY_MB}")
    files = expand_inputs(inputs)
    if any(f.kind == "prepared" for f in files) and not options.read.tokenizer:
        raise ValueError("the corpus has prepared (token id) data: give --tokenizer (its tokenizer.model or directory)")
    if options.read.tokenizer:
        PreparedDecoder(options.read.tokenizer)  # fail early on a bad tokenizer
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--output {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "files").is_dir():
        raise ValueError(f"--output {out} is a non-empty directory that is not a contamination index")
    (out / "files").mkdir(parents=True, exist_ok=True)
    params = parameters(options.read)
    workers = min(options.workers, len(files))
    share = options.memory_mb * 2**20 / workers
    started = time.perf_counter()
    results: list[FileResult | None] = [None] * len(files)
    if workers == 1:
        for i, file in enumerate(files):
            results[i] = index_file(file, str(out), share, options.read, params)
            if progress:
                progress(results[i])
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(index_file, file, str(out), share, options.read, params): i
                       for i, file in enumerate(files)}
            for future in futures:
                results[futures[future]] = future.result()
                if progress:
                    progress(results[futures[future]])
    done = [r for r in results if r is not None]
    manifest = {
        "format": FORMAT,
        "id": index_id(params, done),
        "normalisation": NORMALISATION,
        "n_latin": N_LATIN,
        "n_cjk": N_CJK,
        "fields": list(options.read.fields),
        "tokenizer": {"path": str(Path(options.read.tokenizer).resolve()), "sha256": params["tokenizer_sha256"]}
        if options.read.tokenizer else None,
        "structure": "sorted uint64 n-gram hashes per shard, binary search, exact verification against the corpus",
        "files": [asdict(r) for r in done],
        "documents": sum(r.documents for r in done),
        "bytes": sum(r.bytes for r in done),
        "ngrams": sum(r.ngrams for r in done),
        "build": {"memory_mb": options.memory_mb, "workers": workers,
                  "seconds": round(time.perf_counter() - started, 3)},
    }
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
    return manifest


def read_manifest(index_dir: str | Path) -> dict:
    path = Path(index_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{index_dir} is not a contamination index (no {MANIFEST}); "
                                "build it with `cbench contamination index`")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


@dataclass(frozen=True)
class Match:
    query: int  # position in the query array
    file: int  # position in manifest["files"]
    location: int


class IndexReader:
    """Memory-mapped shards of an index and exact lookup of hash arrays."""

    def __init__(self, index_dir: str | Path) -> None:
        self.directory = Path(index_dir)
        self.manifest = read_manifest(index_dir)
        self.shards: list[tuple[int, np.ndarray, np.ndarray]] = []
        for number, entry in enumerate(self.manifest["files"]):
            for s in range(entry["shards"]):
                stem = self.directory / "files" / entry["key"] / f"shard-{s:05d}"
                self.shards.append((number, np.load(f"{stem}.hashes.npy", mmap_mode="r"),
                                    np.load(f"{stem}.locs.npy", mmap_mode="r")))

    @property
    def files(self) -> list[CorpusFile]:
        return [CorpusFile(e["path"], e["kind"]) for e in self.manifest["files"]]

    def lookup(self, queries: np.ndarray, max_per_query: int = 3) -> list[Match]:
        """Every (query, file, location) where a query hash is in the index, at most `max_per_query` each."""
        queries = np.asarray(queries, dtype=np.uint64)
        matches: list[Match] = []
        found = np.zeros(len(queries), dtype=np.int64)
        for number, hashes, locations in self.shards:
            if not len(hashes) or not len(queries):
                continue
            pos = np.searchsorted(hashes, queries)
            inside = pos < len(hashes)
            hit = np.zeros(len(queries), dtype=bool)
            hit[inside] = hashes[pos[inside]] == queries[inside]
            for q in np.flatnonzero(hit & (found < max_per_query)):
                matches.append(Match(int(q), number, int(locations[pos[q]])))
                found[q] += 1
        return matches
