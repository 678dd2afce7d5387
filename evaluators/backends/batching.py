"""How many length-sorted questions go into the next forward pass, and what counts as running out of memory
(pure; no torch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def next_batch_size(lengths: Sequence[int], prefix_len: int, *, packed: bool, max_tokens: int,
                    max_rows: int) -> int:
    """How many of the (descending) suffix `lengths` go into the next batch under the `max_tokens` budget.

    Each row also pays for attending to the prefix, roughly `prefix_len / 8` tokens' worth. Padded batches cost
    `rows x longest`; packed ones the sum of their real lengths. At least one row, at most `max_rows`.
    """
    limit = min(max_rows, len(lengths))
    if not packed:
        return max(1, min(limit, max_tokens // max(lengths[0] + prefix_len // 8, 1)))
    size, used = 0, 0
    while size < limit and used + lengths[size] + prefix_len // 8 <= max_tokens:
        used += lengths[size] + prefix_len // 8
        size += 1
    return max(1, size)


@dataclass
class TokenBudget:
    """The token budget of one `score()` call: it starts at the configured budget and halves on every
    out-of-memory back-off, so one long subject's back-off does not shrink the batches of later calls."""

    tokens: int
    backoffs: int = 0

    def halve(self) -> None:
        self.tokens = max(1, self.tokens // 2)
        self.backoffs += 1


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an allocation failure: torch's `OutOfMemoryError` (CUDA, and CPU in newer releases) or the CPU
    allocator's `RuntimeError` ("DefaultCPUAllocator: can't allocate memory")."""
    if "OutOfMemory" in type(exc).__name__:
        return True
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in str(exc) or "not enough memory" in str(exc))
