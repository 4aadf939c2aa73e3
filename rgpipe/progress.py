"""Progress reporting: a tqdm bar on a terminal, plain periodic lines in batch logs.

Slurm and Snakemake logs are files, where a bar becomes thousands of carriage
returns; there a line is printed at most every ``interval`` seconds instead.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Count work units towards ``total`` and report on ``stream``.

    Args:
        total: number of units expected.
        desc: label printed with every report.
        interval: seconds between plain-text lines when ``stream`` is not a terminal.
        stream: where to report (stderr by default).
        enabled: False silences it.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        interval: float = 30.0,
        stream: TextIO | None = None,
        enabled: bool = True,
    ):
        self.stream = stream or sys.stderr
        self.total = total
        self.desc = desc
        self.interval = interval
        self.done = 0
        self.enabled = enabled
        self.start = self.last = time.monotonic()
        tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.bar = tqdm(total=total, desc=desc, file=self.stream) if tty else None

    def update(self, n: int = 1) -> None:
        """Record n more finished units."""
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if self.enabled and (now - self.last >= self.interval or self.done >= self.total):
            self.last = now
            pct = 100.0 * self.done / max(self.total, 1)
            elapsed = now - self.start
            print(
                f"[{self.desc}] {self.done}/{self.total} ({pct:.0f}%) after {elapsed:.1f} s",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        """Finish the bar (no-op for plain lines)."""
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iterate(items: list, desc: str, **kwargs) -> Iterator:
    """Iterate over ``items`` reporting progress (one unit per item)."""
    with Progress(len(items), desc, **kwargs) as prog:
        for item in items:
            yield item
            prog.update()
