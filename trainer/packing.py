"""Pure helpers for turning tokenized documents into packed training sequences (spec trainer.md §2).

A document is BOS + source + target + EOS with the source masked (-100). Each sub-dataset is cut into contiguous
percentage bins; bin k of every sub-dataset forms bucket k. Within a bin, documents are sorted by (category, length)
and packed greedily: documents are appended while the sequence stays <= max_length. Unlike the original, no partial
sequence is dropped at buffer ends: the whole bin is one stream and its last sequence is kept, so every token of
every (truncated) document ends up in exactly one sequence.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

IGNORE_INDEX = -100


@dataclass(frozen=True)
class Document:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    category: str = "unknown"

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True)
class PackedSequence:
    input_ids: list[int]
    labels: list[int]
    documents: int


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def build_document(bos: int, eos: int, source_ids: Sequence[int], full_ids: Sequence[int], max_length: int,
                   category: str = "unknown") -> tuple[Document, int]:
    """BOS + full + EOS, masking BOS and the tokens that belong to the source alone; returns (doc, tokens cut).

    `full_ids` tokenizes source + target together; the masked span is the common prefix of the source's own
    tokenization and `full_ids`, so a token spanning the boundary (it holds target text) is trained on.
    """
    if max_length < 2:
        raise ValueError("max_length must be at least 2")
    ids = [bos, *full_ids, eos]
    masked = 1 + (common_prefix_length(source_ids, full_ids) if source_ids else 0)
    labels = [IGNORE_INDEX] * masked + ids[masked:]
    cut = max(0, len(ids) - max_length)
    return Document(tuple(ids[:max_length]), tuple(labels[:max_length]), category), cut


def percentage_bins(count: int, bins: int) -> list[tuple[int, int]]:
    """Contiguous [start, end) slices of `count` items, as `datasets`' train[a%:b%] with width ceil(100/bins)."""
    if not 1 <= bins <= 100:
        raise ValueError("--bins must be between 1 and 100")
    width = math.ceil(100 / bins)
    edges = list(range(0, 100, width)) + [100]
    # datasets rounds percent boundaries to the nearest item ("closest" rounding)
    return [(round(count * a / 100), round(count * b / 100)) for a, b in zip(edges, edges[1:], strict=False)]


def sort_documents(documents: Iterable[Document]) -> list[Document]:
    return sorted(documents, key=lambda d: (d.category, len(d)))


def pack_greedy(documents: Iterable[Document], max_length: int) -> Iterator[PackedSequence]:
    """Append documents while the sequence stays <= max_length; the last partial sequence is emitted too."""
    ids: list[int] = []
    labels: list[int] = []
    count = 0
    for doc in documents:
        if len(doc) > max_length:
            raise ValueError(f"document of {len(doc)} tokens exceeds max_length {max_length}; truncate first")
        if ids and len(ids) + len(doc) > max_length:
            yield PackedSequence(ids, labels, count)
            ids, labels, count = [], [], 0
        ids.extend(doc.input_ids)
        labels.extend(doc.labels)
        count += 1
    if ids:
        yield PackedSequence(ids, labels, count)


def shuffled(items: Sequence, seed: int) -> list:
    order = list(items)
    random.Random(seed).shuffle(order)
    return order
