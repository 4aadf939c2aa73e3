"""The parallel layer: ranks, torch.distributed, ensembles, rank-tagged logs, aborts.

Where the ranks come from (first match wins):

* ``mpi``: launched by ``mpiexec`` or ``srun --mpi=pmi2`` (PMI/PMIx/Open MPI variables in
  the environment): rank and size from mpi4py's ``COMM_WORLD``;
* ``torchrun``: ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set by torchrun;
* ``single``: a plain process, rank 0 of 1.

torch.distributed is initialised from that world (:func:`init_torch_distributed`): under
MPI, rank 0 picks a free TCP port and broadcasts its address, every rank joins a TCP
rendezvous; the backend is gloo on CPU and nccl on CUDA with one device per local rank.

Two ways for a trainer to use several ranks:

* **ensemble** (:func:`my_share`, :func:`gather_to_root`): independent models (seeds,
  hyper-parameter points) spread round-robin over ranks, results gathered to rank 0,
  which alone writes the output file;
* **data-parallel** (DDP): one model, batches sharded over ranks, gradients all-reduced
  by :class:`torch.nn.parallel.DistributedDataParallel`.

An uncaught exception on any rank aborts every rank (:func:`abort_on_exception`)
instead of leaving the others blocked in a collective.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

ABORT_GRACE_SECONDS = 0.5
"""Pause between printing a rank's traceback and aborting the job, so the launcher can
forward the message before the processes are killed."""

_MPI_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
log = logging.getLogger("rgpipe")


@dataclass
class World:
    """The processes of one job.

    Attributes:
        rank, size: this process's rank and the number of ranks.
        local_rank, local_size: the same among the ranks on this node.
        launcher: ``mpi``, ``torchrun`` or ``single``.
        comm: the mpi4py communicator (``mpi`` only).
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    launcher: str = "single"
    comm: Any = None
    torch_initialised: bool = False

    @property
    def is_root(self) -> bool:
        """True on rank 0, the rank that writes outputs."""
        return self.rank == 0


def detect_launcher(env: dict[str, str] | None = None) -> str:
    """Which launcher started this process (see the module docstring)."""
    env = dict(os.environ) if env is None else env
    if any(v in env for v in _MPI_VARS):
        return "mpi"
    if "RANK" in env and "WORLD_SIZE" in env:
        return "torchrun"
    return "single"


def init_world(expected_size: int | None = None) -> World:
    """Discover the world; fail if it does not have ``expected_size`` ranks.

    A broken launch (e.g. an MPI library that does not match the launcher) looks like N
    independent copies of rank 0: asserting the size catches it.
    """
    launcher = detect_launcher()
    if launcher == "mpi":
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        local = comm.Split_type(MPI.COMM_TYPE_SHARED)
        world = World(
            comm.Get_rank(), comm.Get_size(), local.Get_rank(), local.Get_size(), "mpi", comm
        )
    elif launcher == "torchrun":
        world = World(
            int(os.environ["RANK"]),
            int(os.environ["WORLD_SIZE"]),
            int(os.environ.get("LOCAL_RANK", 0)),
            int(os.environ.get("LOCAL_WORLD_SIZE", 1)),
            "torchrun",
        )
    else:
        world = World()
    if expected_size is not None and world.size != expected_size:
        raise RuntimeError(
            f"expected {expected_size} ranks but the {world.launcher} launcher gave "
            f"{world.size} (is the MPI library the one mpi4py was built against?)"
        )
    return world


def setup_logging(world: World, level: int = logging.INFO) -> None:
    """Log lines tagged with the rank, e.g. ``[rank 1/2]``, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            f"%(asctime)s [rank {world.rank}/{world.size}] %(levelname)s %(message)s",
            "%H:%M:%S",
        )
    )
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def rank_device(world: World, device: str = "auto"):
    """torch device of this rank (:func:`rgpipe.runtime.pick_device` with its local rank)."""
    from rgpipe.runtime import pick_device

    return pick_device(device, world.local_rank)


def init_torch_distributed(world: World, device=None, timeout_s: float = 300.0) -> str:
    """Join torch.distributed (gloo for CPU devices, nccl for CUDA); return the backend.

    Under MPI the rendezvous address comes from rank 0 through a broadcast; under
    torchrun from its environment.  A world of one rank is initialised too, so trainer
    code is the same for every size.
    """
    import torch
    import torch.distributed as dist

    device = device if device is not None else rank_device(world)
    backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
    timeout = datetime.timedelta(seconds=timeout_s)
    if world.launcher == "torchrun":
        dist.init_process_group(backend, init_method="env://", timeout=timeout)
    else:
        if world.comm is not None:
            hosts = world.comm.allgather(socket.gethostname())
            addr = "127.0.0.1" if len(set(hosts)) == 1 else socket.gethostbyname(hosts[0])
            port = _free_port() if world.is_root else None
            addr, port = world.comm.bcast((addr, port), root=0)
        else:
            addr, port = "127.0.0.1", _free_port()
        dist.init_process_group(
            backend,
            init_method=f"tcp://{addr}:{port}",
            rank=world.rank,
            world_size=world.size,
            timeout=timeout,
        )
    if torch.device(device).type == "cuda":
        torch.cuda.set_device(device)
    world.torch_initialised = True
    return backend


def teardown(world: World) -> None:
    """Leave torch.distributed cleanly (MPI finalises itself at exit)."""
    if world.torch_initialised:
        import torch.distributed as dist

        with contextlib.suppress(Exception):
            dist.barrier()
        dist.destroy_process_group()
        world.torch_initialised = False


def my_share(items: Sequence[T], world: World) -> list[tuple[int, T]]:
    """The (index, item) pairs this rank handles: round-robin over ranks."""
    return [(i, item) for i, item in enumerate(items) if i % world.size == world.rank]


def gather_to_root(local: list[tuple[int, Any]], world: World, n: int) -> list[Any] | None:
    """Collect every rank's (index, result) pairs on rank 0, in index order.

    Returns the list of n results on rank 0 and None elsewhere.
    """
    if world.size == 1:
        parts = [local]
    elif world.comm is not None:
        parts = world.comm.gather(local, root=0)
    else:
        import torch.distributed as dist

        parts = [None] * world.size if world.is_root else None
        dist.gather_object(local, parts, dst=0)
    if not world.is_root:
        return None
    out: list[Any] = [None] * n
    for part in parts:
        for i, result in part:
            out[i] = result
    missing = [i for i, r in enumerate(out) if r is None]
    if missing:
        raise RuntimeError(f"no result for ensemble members {missing}")
    return out


def barrier(world: World) -> None:
    """Wait for every rank."""
    if world.comm is not None:
        world.comm.Barrier()
    elif world.torch_initialised:
        import torch.distributed as dist

        dist.barrier()


def interruptible_barrier(
    world: World, interrupted: Callable[[], bool], poll_seconds: float = 0.02
) -> bool:
    """Wait for every rank unless ``interrupted()`` becomes true first.

    A rank blocked in MPI's Barrier runs no Python signal handler, so a rank that finished
    its work and waits for the others would swallow the SIGTERM of a preemption while its
    peers checkpoint and exit: it would hang.  This barrier polls a non-blocking one
    (``Ibarrier``; torch's asynchronous barrier without MPI) and checks ``interrupted``
    between polls.

    Returns:
        True when every rank arrived, False when interrupted first.
    """
    if world.size == 1:
        return not interrupted()
    if world.comm is not None:
        request = world.comm.Ibarrier()
        done = request.Test
    elif world.torch_initialised:
        import torch.distributed as dist

        work = dist.barrier(async_op=True)
        done = work.is_completed
    else:
        return not interrupted()
    while not done():
        if interrupted():
            return False
        time.sleep(poll_seconds)
    return True


@contextlib.contextmanager
def abort_on_exception(world: World) -> Iterator[None]:
    """On an uncaught exception, print it and abort every rank (exit code 1).

    Without this, the surviving ranks would block forever in their next collective.
    ``SystemExit`` (e.g. a preemption exit after a checkpoint) passes through: every
    rank leaves on its own.
    """
    try:
        yield
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        if world.size > 1:
            # the launcher (mpiexec's proxy, srun) forwards output asynchronously; an
            # immediate abort lost the traceback in about 1 of 15 runs
            time.sleep(ABORT_GRACE_SECONDS)
            if world.comm is not None:
                world.comm.Abort(1)
            os._exit(1)
        raise
