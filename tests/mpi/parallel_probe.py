"""Run under mpiexec by tests/test_parallel.py: exercises rgpipe.parallel on every rank.

Usage: mpiexec -n N python tests/mpi/parallel_probe.py MODE OUT_DIR
MODE: ensemble | ddp | fail
"""

import json
import sys
from pathlib import Path

import torch

from rgpipe.parallel import (
    abort_on_exception,
    gather_to_root,
    init_torch_distributed,
    init_world,
    log,
    my_share,
    setup_logging,
    teardown,
)


def ensemble(world, out: Path) -> None:
    seeds = list(range(7))
    local = [(i, {"seed": s, "rank": world.rank, "value": s**2}) for i, s in my_share(seeds, world)]
    log.info("training members %s", [i for i, _ in local])
    results = gather_to_root(local, world, len(seeds))
    if world.is_root:
        out.joinpath("ensemble.json").write_text(json.dumps(results))


def ddp(world, out: Path) -> None:
    backend = init_torch_distributed(world)
    torch.manual_seed(0)  # same initial weights everywhere
    model = torch.nn.Linear(3, 1)
    ddp_model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp_model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(100 + world.rank)  # different data per rank
    x = torch.randn(8, 3, generator=gen)
    loss = ddp_model(x).pow(2).mean()
    loss.backward()
    opt.step()
    weights = torch.cat([p.detach().ravel() for p in model.parameters()]).tolist()
    out.joinpath(f"ddp_rank{world.rank}.json").write_text(
        json.dumps({"backend": backend, "weights": weights, "x": x.tolist()})
    )
    teardown(world)


def fail(world, out: Path) -> None:
    if world.rank == 1:
        raise ValueError("rank 1 fails on purpose")
    world.comm.Barrier()  # rank 0 would wait here forever without the abort


if __name__ == "__main__":
    mode, out = sys.argv[1], Path(sys.argv[2])
    world = init_world(expected_size=int(sys.argv[3]) if len(sys.argv) > 3 else None)
    setup_logging(world)
    with abort_on_exception(world):
        {"ensemble": ensemble, "ddp": ddp, "fail": fail}[mode](world, out)
