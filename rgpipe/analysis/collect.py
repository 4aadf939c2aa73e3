"""Reading many result files with dask: one task per file (:func:`.reader.read_file`), on a
``dask.distributed`` cluster when a scheduler address is given and on the local threaded
scheduler otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dask
from dask.callbacks import Callback

from rgpipe.analysis.reader import read_file
from rgpipe.analysis.records import FileResult
from rgpipe.progress import Progress


class _DaskProgress(Callback):
    """A dask local-scheduler callback counting finished tasks on a :class:`Progress`."""

    def __init__(self, progress: Progress):
        super().__init__()
        self.progress = progress

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        self.progress.update()


def collect(
    paths: Sequence[str | Path], scheduler: str | None = None, progress: bool = True
) -> list[FileResult]:
    """Read every file with dask, one delayed task per file, in the order given.

    Args:
        paths: result files (duplicates are read once).
        scheduler: address of a ``dask.distributed`` scheduler (e.g. ``tcp://host:8786``);
            None uses the local threaded scheduler.
        progress: report progress on stderr (a bar on a terminal, lines in logs).
    """
    unique = list(dict.fromkeys(str(p) for p in paths))
    tasks = [dask.delayed(read_file, pure=True)(p) for p in unique]
    with Progress(len(tasks), "aggregate: files read", enabled=progress) as prog:
        if scheduler:
            from distributed import Client, as_completed

            with Client(scheduler) as client:
                futures = client.compute(tasks)
                for _ in as_completed(futures):
                    prog.update()
                return list(client.gather(futures))
        with _DaskProgress(prog):
            return list(dask.compute(*tasks, scheduler="threads"))
