"""Measure a dense matmul peak (FLOP/s) on the current device, the yardstick for scoring efficiency.

`python -m bench.matmul_peak [--device cuda] [--dtype bfloat16] [--size 8192]` prints the figure. The peak is the best
of several timed repeats of an `n x n @ n x n` product after a warm-up (2 n^3 FLOPs each).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops_per_s(m: int, k: int, n: int, *, device: torch.device, dtype: torch.dtype, repeats: int = 5,
                       min_seconds: float = 0.2, clock: Callable[[], float] = time.perf_counter) -> float:
    """Best FLOP/s of `[m, k] @ [k, n]` over `repeats` timed rounds, each at least `min_seconds` long, by `clock`
    (wall time; `time.process_time` gives FLOP per CPU-second of this process on CPU)."""
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    torch.matmul(a, b)
    _sync(device)
    start = clock()
    torch.matmul(a, b)
    _sync(device)
    iters = max(1, int(min_seconds / max(clock() - start, 1e-6)))
    best = 0.0
    for _ in range(repeats):
        _sync(device)
        start = clock()
        for _ in range(iters):
            torch.matmul(a, b)
        _sync(device)
        best = max(best, 2.0 * m * k * n * iters / max(clock() - start, 1e-9))
    return best


def matmul_peak(device: torch.device, dtype: torch.dtype, sizes: tuple[tuple[int, int, int], ...],
                clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """FLOP/s per shape and the best of them (`peak`)."""
    rates = {f"{m}x{k}x{n}": matmul_flops_per_s(m, k, n, device=device, dtype=dtype, clock=clock) for m, k, n in sizes}
    return {**rates, "peak": max(rates.values())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    parser.add_argument("--size", type=int, default=2048)
    args = parser.parse_args()
    rates = matmul_peak(torch.device(args.device), DTYPES[args.dtype], ((args.size, args.size, args.size),))
    print(json.dumps({"device": args.device, "dtype": args.dtype, "gflop_per_s": {k: round(v / 1e9, 1)
                                                                               for k, v in rates.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
