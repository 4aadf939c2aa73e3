"""Process-level settings shared by every stage: thread counts and the rerun command."""

from __future__ import annotations

import shlex
import sys
import time

PROCESS_START = time.time()
"""Wall-clock time at which rgpipe was first imported in this process."""


def set_threads(n: int) -> None:
    """Use ``n`` threads in compiled kernels (numba) and torch intra-op parallelism."""
    import numba
    import torch

    n = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    torch.set_num_threads(n)


def rerun_command(argv: list[str] | None = None) -> str:
    """The shell command that reruns this stage by hand, exactly."""
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", "rgpipe", *args])
