"""A progress bar on stderr for the CLI (tqdm when installed, a plain counter otherwise)."""

from __future__ import annotations

import sys
import time
from types import TracebackType


class ProgressBar:
    """Context manager whose `update(done, total)` matches the run loop's `on_progress` callback."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar = None
        self._start = 0.0
        self.elapsed = 0.0

    def __enter__(self) -> ProgressBar:
        self._start = time.perf_counter()
        return self

    def update(self, done: int, total: int) -> None:
        if self._bar is None:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=self.label, unit="q", file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                self._bar = False
        if self._bar:
            self._bar.n = done
            self._bar.refresh()
        elif done == total:
            sys.stderr.write(f"{self.label}: {done}/{total}\n")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.elapsed = time.perf_counter() - self._start
        if self._bar:
            self._bar.close()
