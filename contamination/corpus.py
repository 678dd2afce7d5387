"""Corpus files as streams of documents, each with a location that `documents_at` reads back.

Kinds: `jsonl` (one document per line: the string fields named in `fields` that the line has, joined by a space;
default `text`, `content`, `source`, `target`), `text` (documents are paragraphs separated by blank lines, cut at
`MAX_PARAGRAPH_BYTES`) and `prepared` (the trainer's packed buckets, `cbench-train prepare`: each line's token ids
are split at BOS into the packed documents and decoded with the SentencePiece model they were made with). A
location is the byte offset of the line or paragraph, so a hit is read back without scanning the file again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_FIELDS = ("text", "content", "source", "target")
PREPARED_FORMAT = "cbench-packed-v1"  # trainer/prepare.py FORMAT
MAX_PARAGRAPH_BYTES = 1 << 20
TEXT_SUFFIXES = (".txt", ".md", ".text")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class CorpusFile:
    path: str  # resolved
    kind: str  # "jsonl", "text" or "prepared"


@dataclass(frozen=True)
class ReadOptions:
    fields: tuple[str, ...] = DEFAULT_FIELDS
    tokenizer: str | None = None  # SentencePiece model (file or directory) for prepared data


def _is_prepared(directory: Path) -> bool:
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("format") == PREPARED_FORMAT
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return False


def _kind(path: Path) -> str:
    return "jsonl" if path.suffix.lower() in JSONL_SUFFIXES else "text"


def expand_inputs(inputs: Sequence[str | Path]) -> list[CorpusFile]:
    """Files to index, in the order given (directories: prepared buckets, else *.jsonl/*.txt/*.md sorted)."""
    files: list[CorpusFile] = []
    for item in inputs:
        path = Path(item).expanduser().resolve()
        if path.is_dir():
            if _is_prepared(path):
                files += [CorpusFile(str(p), "prepared") for p in sorted(path.glob("bucket-*.jsonl"))]
                continue
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and p.suffix.lower() in JSONL_SUFFIXES + TEXT_SUFFIXES)
            if not found:
                raise ValueError(f"corpus directory {item} has no .jsonl, .txt or .md files")
            files += [CorpusFile(str(p), _kind(p)) for p in found]
        elif path.is_file():
            files.append(CorpusFile(str(path), _kind(path)))
        else:
            raise FileNotFoundError(f"corpus {item} does not exist")
    seen: set[str] = set()
    unique = [f for f in files if not (f.path in seen or seen.add(f.path))]
    if not unique:
        raise ValueError("give at least one corpus file or directory")
    return unique


def sha256_file(path: str | Path, chunk: int = 1 << 18) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class PreparedDecoder:
    """Splits a packed line's token ids at BOS and decodes each document."""

    def __init__(self, tokenizer: str | Path) -> None:
        import sentencepiece as spm

        path = Path(tokenizer)
        if path.is_dir():
            path = path / "tokenizer.model"
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer model {path} does not exist (prepared data needs --tokenizer)")
        self.model_path = path
        self.processor = spm.SentencePieceProcessor(model_file=str(path))
        self.bos, self.eos = self.processor.bos_id(), self.processor.eos_id()

    def documents(self, ids: Sequence[int]) -> list[str]:
        docs: list[list[int]] = []
        for token in ids:
            if token == self.bos or not docs:
                docs.append([])
                if token == self.bos:
                    continue
            if token != self.eos:
                docs[-1].append(token)
        return [self.processor.decode(doc) for doc in docs if doc]


def _jsonl_text(line: bytes, fields: Sequence[str], where: str) -> str:
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{where}: not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object")
    return " ".join(v for f in fields if isinstance(v := record.get(f), str))


def _prepared_texts(line: bytes, decoder: PreparedDecoder, where: str) -> list[str]:
    try:
        ids = json.loads(line)["input_ids"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise ValueError(f"{where}: not a packed sequence with input_ids") from None
    return decoder.documents(ids)


def iter_documents(file: CorpusFile, options: ReadOptions,
                   decoder: PreparedDecoder | None = None) -> Iterator[tuple[int, str]]:
    """(location, text) for every document of the file, streaming."""
    if file.kind == "prepared" and decoder is None:
        decoder = PreparedDecoder(options.tokenizer or "")
    with open(file.path, "rb") as handle:
        if file.kind == "text":
            yield from _paragraphs(handle)
            return
        offset = 0
        for number, line in enumerate(handle, 1):
            here, offset = offset, offset + len(line)
            if not line.strip():
                continue
            where = f"{file.path}:{number}"
            if file.kind == "jsonl":
                yield here, _jsonl_text(line, options.fields, where)
            else:
                for text in _prepared_texts(line, decoder, where):
                    yield here, text


def _paragraphs(handle) -> Iterator[tuple[int, str]]:
    """(offset, text) of each run of non-blank lines, cut before a line that would pass MAX_PARAGRAPH_BYTES."""
    offset, start, parts, size = 0, 0, [], 0
    for line in handle:
        blank = not line.strip()
        if parts and (blank or size + len(line) > MAX_PARAGRAPH_BYTES):
            yield start, b"".join(parts).decode("utf-8", "replace")
            parts, size = [], 0
        if not blank:
            if not parts:
                start = offset
            parts.append(line)
            size += len(line)
        offset += len(line)
    if parts:
        yield start, b"".join(parts).decode("utf-8", "replace")


def documents_at(file: CorpusFile, location: int, options: ReadOptions,
                 decoder: PreparedDecoder | None = None) -> list[str]:
    """The document(s) starting at `location` (a packed line holds several)."""
    with open(file.path, "rb") as handle:
        handle.seek(location)
        if file.kind == "text":
            for _start, text in _paragraphs(handle):
                return [text]
            return []
        line = handle.readline()
    where = f"{file.path}@{location}"
    if file.kind == "jsonl":
        return [_jsonl_text(line, options.fields, where)]
    return _prepared_texts(line, decoder or PreparedDecoder(options.tokenizer or ""), where)
