"""`cbench-train prepare`: JSON lines (source/target/category) -> packed buckets on disk (spec trainer.md §2).

Every input path (a .jsonl file, or a directory whose *.jsonl files are read in sorted order) is one sub-dataset.
Each is tokenized (SentencePiece, or a byte-level BPE `tokenizer.json`), cut into percentage bins, and bin k of every sub-dataset is sorted and packed
into bucket k (`bucket-0000k.jsonl`, one `{"input_ids", "labels"}` per line, seeded shuffle). `manifest.json` stores
max_length, the tokenizer hash and the token accounting the trainer checks before it starts, and the id of the
contamination index built from the prepared data itself (`contamination-index/`, decoded with the tokenizer), which
the run's checkpoints carry when they register.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from trainer.packing import (
    IGNORE_INDEX,
    Document,
    build_document,
    pack_greedy,
    percentage_bins,
    shuffled,
    sort_documents,
)
from trainer.sidecars import read_sidecar_file
from trainer.vocab import load_processor, tokenizer_hash

MANIFEST = "manifest.json"
FORMAT = "cbench-packed-v1"
INDEX_DIR = "contamination-index"


@dataclass
class SubDataset:
    path: str
    documents: int = 0
    tokens: int = 0  # after truncation
    truncated_tokens: int = 0  # cut off by max_length
    bins: list[list[Document]] = field(default_factory=list, repr=False)


def input_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise ValueError(f"no *.jsonl files in {path}")
        return files
    if not path.is_file():
        raise FileNotFoundError(f"input {path} does not exist")
    return [path]


def read_records(path: Path) -> Iterator[tuple[str, str, str]]:
    """Yield (source, target, category); each line must be an object with a string `target`."""
    for file in input_files(path):
        with open(file, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{file}:{number}: not JSON ({exc.msg})") from None
                if not isinstance(record, dict) or not isinstance(record.get("target"), str):
                    raise ValueError(f"{file}:{number}: expected an object with a string 'target'")
                source, category = record.get("source", ""), record.get("category", "unknown")
                if not isinstance(source, str) or not isinstance(category, str):
                    raise ValueError(f"{file}:{number}: 'source' and 'category' must be strings")
                yield source, record["target"], category


def tokenize_sub_dataset(path: Path, processor, max_length: int, bins: int) -> SubDataset:
    bos, eos = processor.bos_id(), processor.eos_id()
    sub = SubDataset(str(path))
    documents = []
    for source, target, category in read_records(path):
        source_ids = processor.encode(source) if source else []
        full_ids = processor.encode(source + target)
        doc, cut = build_document(bos, eos, source_ids, full_ids, max_length, category)
        documents.append(doc)
        sub.tokens += len(doc)
        sub.truncated_tokens += cut
    sub.documents = len(documents)
    sub.bins = [documents[a:b] for a, b in percentage_bins(len(documents), bins)]
    return sub


def prepare(inputs: list[str | Path], tokenizer_dir: str | Path, output_dir: str | Path, *, max_length: int = 4096,
            bins: int = 10, seed: int = 42, contamination_index: bool = True, index_memory_mb: float = 512.0) -> dict:
    """Tokenize, bin, pack and write; returns the manifest (also written to `output_dir/manifest.json`)."""
    if not inputs:
        raise ValueError("give at least one input (--input)")
    output = Path(output_dir)
    if output.exists() and any(output.iterdir()):
        raise ValueError(f"output directory {output} exists and is not empty")
    if contamination_index and not (Path(tokenizer_dir) / "tokenizer.model").is_file():
        raise ValueError(f"the contamination index decodes prepared data with a tokenizer.model, and {tokenizer_dir} "
                         "has none: add --no-contamination-index")
    processor = load_processor(tokenizer_dir)
    subs = [tokenize_sub_dataset(Path(p), processor, max_length, bins) for p in inputs]
    output.mkdir(parents=True, exist_ok=True)
    buckets = []
    for k in range(max(len(s.bins) for s in subs)):
        sequences = []
        for sub in subs:
            if k < len(sub.bins):
                sequences.extend(pack_greedy(sort_documents(sub.bins[k]), max_length))
        name = f"bucket-{k:05d}.jsonl"
        with open(output / name, "w", encoding="utf-8") as handle:
            for seq in shuffled(sequences, seed + k):
                handle.write(json.dumps({"input_ids": seq.input_ids, "labels": seq.labels}) + "\n")
        tokens = sum(len(s.input_ids) for s in sequences)
        trained = sum(sum(1 for x in s.labels if x != IGNORE_INDEX) for s in sequences)
        buckets.append({"file": name, "sequences": len(sequences), "documents": sum(s.documents for s in sequences),
                        "tokens": tokens, "trained_tokens": trained})
    total_tokens = sum(b["tokens"] for b in buckets)
    total_sequences = sum(b["sequences"] for b in buckets)
    manifest = {
        "format": FORMAT,
        "max_length": max_length,
        "tokenizer_hash": tokenizer_hash(tokenizer_dir),
        "bins": bins,
        "seed": seed,
        "sub_datasets": [{"path": s.path, "documents": s.documents, "tokens": s.tokens,
                          "truncated_tokens": s.truncated_tokens} for s in subs],
        "buckets": buckets,
        "documents": sum(s.documents for s in subs),
        "tokens": total_tokens,
        "sequences": total_sequences,
        "packing_efficiency": total_tokens / (total_sequences * max_length) if total_sequences else 0.0,
    }
    (output / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if contamination_index:
        from contamination.corpus import ReadOptions
        from contamination.index import BuildOptions, build_index

        index = build_index([output], output / INDEX_DIR, BuildOptions(
            memory_mb=index_memory_mb, read=ReadOptions(tokenizer=str(Path(tokenizer_dir) / "tokenizer.model"))))
        manifest["contamination_index"] = {"id": index["id"], "path": INDEX_DIR, "ngrams": index["ngrams"]}
        (output / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def read_manifest(data_dir: str | Path) -> dict:
    return read_sidecar_file(Path(data_dir) / MANIFEST, FORMAT,
                             f"{data_dir} has no {MANIFEST}; run `cbench-train prepare` first")
