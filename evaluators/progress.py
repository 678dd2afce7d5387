"""Progress of a run on stderr for the CLI: a tqdm bar on a terminal, plain progress lines otherwise.

A bar is drawn only when stderr is a terminal and the process has not configured logging (a service logging JSON
lines to the same stream): then progress goes out as log records of `cbench.progress` (with `done` and `total`),
so a bar never mixes into JSON log lines. Without a bar, progress is reported at every tenth and at the end.
"""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType

log = logging.getLogger("cbench.progress")
MILESTONES = 10


def bar_allowed() -> bool:
    """A terminal, and no logging handler installed (whose lines a bar would break)."""
    return sys.stderr.isatty() and not logging.getLogger().handlers


class ProgressBar:
    """Context manager whose `update(done, total)` matches the run loop's `on_progress` callback."""

    def __init__(self, label: str, *, bar: bool | None = None) -> None:
        self.label = label
        self.draw = bar_allowed() if bar is None else bar
        self._bar = None
        self._reported = -1
        self._start = 0.0
        self.elapsed = 0.0

    def __enter__(self) -> ProgressBar:
        self._start = time.perf_counter()
        return self

    def update(self, done: int, total: int) -> None:
        if self.draw and self._bar is None:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=self.label, unit="q", file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                self.draw = False
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()
            return
        step = MILESTONES * done // total if total else MILESTONES
        if step <= self._reported:
            return
        self._reported = step
        if logging.getLogger().handlers:
            log.info("%s: %d/%d questions", self.label, done, total, extra={"done": done, "total": total})
        else:
            sys.stderr.write(f"{self.label}: {done}/{total} questions\n")
            sys.stderr.flush()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.elapsed = time.perf_counter() - self._start
        if self._bar is not None:
            self._bar.close()
