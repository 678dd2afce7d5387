"""Packed buckets as a torch dataset, a resumable bucket-ordered sampler, and the padding collator.

Buckets are visited in order; inside a bucket the order is a seeded permutation that changes with the epoch. The
epoch order is split across ranks by stride (rank r takes items r, r+W, ...), trimmed so every rank has the same
count, and `start_index` skips what this rank already consumed (mid-epoch resume). Padding goes to the longest
sequence of the batch, labels are -100 there, and the attention mask comes from the lengths, never from the pad id
(a packed sequence holds real EOS tokens that may equal the pad id).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

from trainer.packing import IGNORE_INDEX
from trainer.prepare import read_manifest


class PackedDataset:
    """All buckets of a prepared directory in memory, with each bucket's [start, end) index range."""

    def __init__(self, data_dir: str | Path):
        self.manifest = read_manifest(data_dir)
        self.rows: list[tuple[list[int], list[int]]] = []
        self.bucket_ranges: list[tuple[int, int]] = []
        for bucket in self.manifest["buckets"]:
            start = len(self.rows)
            with open(Path(data_dir) / bucket["file"], encoding="utf-8") as handle:
                for line in handle:
                    row = json.loads(line)
                    self.rows.append((row["input_ids"], row["labels"]))
            self.bucket_ranges.append((start, len(self.rows)))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[list[int], list[int]]:
        return self.rows[index]


def epoch_order(bucket_ranges: Sequence[tuple[int, int]], seed: int, epoch: int) -> list[int]:
    """Buckets in order, each shuffled with a seed derived from (seed, epoch, bucket)."""
    order: list[int] = []
    for k, (start, end) in enumerate(bucket_ranges):
        indices = list(range(start, end))
        random.Random(f"{seed}:{epoch}:{k}").shuffle(indices)
        order.extend(indices)
    return order


class BucketSampler:
    """Per-rank indices for one epoch; `set_epoch` and `set_start_index` make it resumable."""

    def __init__(self, bucket_ranges: Sequence[tuple[int, int]], *, rank: int = 0, world_size: int = 1,
                 seed: int = 0):
        self.bucket_ranges = list(bucket_ranges)
        self.rank, self.world_size, self.seed = rank, world_size, seed
        self.epoch, self.start_index = 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_start_index(self, start_index: int) -> None:
        self.start_index = start_index

    def rank_indices(self) -> list[int]:
        order = epoch_order(self.bucket_ranges, self.seed, self.epoch)
        usable = len(order) - len(order) % self.world_size
        return order[:usable][self.rank::self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self.rank_indices()[self.start_index:])

    def __len__(self) -> int:
        return max(0, len(self.rank_indices()) - self.start_index)


def collate(batch: Sequence[tuple[list[int], list[int]]], pad_id: int, pad_to: int | None = None) -> dict:
    """Right-pad to the longest sequence (or `pad_to`); attention mask 1 on the first `len(seq)` positions."""
    import torch

    width = max(len(ids) for ids, _ in batch)
    if pad_to is not None:
        width = max(width, pad_to)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (ids, labs) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(labs)] = torch.tensor(labs)
        attention_mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}
