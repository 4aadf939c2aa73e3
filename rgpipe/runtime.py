"""Process-level settings shared by every stage: thread counts and the rerun command."""

from __future__ import annotations

import os
import shlex
import sys
import time

PROCESS_START = time.time()
"""Wall-clock time at which rgpipe was first imported in this process."""


THREADS = 1
"""Threads this process may use for compute (set by :func:`set_threads`)."""


def set_threads(n: int) -> None:
    """Use ``n`` threads in compiled kernels (numba) and torch intra-op parallelism.

    torch is not imported here (it costs seconds); modules that import it call
    :func:`apply_torch_threads`.
    """
    global THREADS
    import numba

    THREADS = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(THREADS)
    if "torch" in sys.modules:
        apply_torch_threads()


def apply_torch_threads() -> None:
    """Give torch the thread count chosen with :func:`set_threads`."""
    import torch

    torch.set_num_threads(THREADS)


def pick_device(device: str = "auto", local_rank: int = 0):
    """The torch device to compute on.

    ``auto`` gives ``cuda:<local_rank mod #gpus>`` when CUDA is visible (one GPU per rank
    on a node), else the CPU; any other string is taken as a torch device name
    (``cpu``, ``cuda``, ``cuda:1``).

    Raises:
        ValueError: a name torch does not know, or a CUDA device when none is visible.
    """
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"unknown torch device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but no CUDA device is visible")
    return dev


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (e.g. ``--threads``)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (e.g. ``--checkpoint-every``)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def rerun_command(argv: list[str] | None = None) -> str:
    """The shell command that reruns this stage by hand, exactly."""
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", "rgpipe", *args])


RANK_VARIABLES = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "RANK", "SLURM_PROCID")
"""Environment variables that carry a process's rank under mpiexec (MPICH, PMIx, Open MPI),
torchrun and srun, in the order they are read."""


def launcher_rank(env: dict[str, str] | None = None) -> int:
    """This process's rank as its launcher set it in the environment (0 when launched alone).

    Known before MPI or torch is initialised, so the one-off lines a job prints (the rerun
    command) come from rank 0 only instead of once per rank.
    """
    env = os.environ if env is None else env
    for name in RANK_VARIABLES:
        value = env.get(name, "")
        if value.isdigit():
            return int(value)
    return 0
