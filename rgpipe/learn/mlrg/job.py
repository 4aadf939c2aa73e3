"""One MLRG training job: ranks, ensembles or data parallelism, checkpoints, output.

* **ensemble** mode: the seeds are cut into vectorised groups (``models_per_batch``
  models each, as :func:`.ensemble.train_ensemble` does); groups are spread round-robin
  over the ranks, every rank trains its groups, rank 0 gathers and writes.  A model's
  result depends only on its seed, so the world size changes nothing but the wall time.
* **ddp** mode: every rank trains every group together; each rank holds ``batch / size``
  of each model's coupling chains and DistributedDataParallel averages the gradients.

Checkpoints (``<out>.ckpt/``): every ``checkpoint_every`` epochs and on SIGTERM/SIGUSR1,
each group in progress saves its complete state (``group-NNNN`` in ensemble mode,
``group-NNNN-rank<r>of<n>`` in ddp mode); a finished group saves its results
(``group-NNNN-done``).  A rerun resumes from them and gives the same file as an unbroken
run (bit-identical on CPU).  After the output is written the checkpoints are removed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rgpipe.config import config_hash
from rgpipe.learn.checkpoint import Checkpointer
from rgpipe.learn.mlrg.ensemble import max_models_per_batch, write_result
from rgpipe.learn.mlrg.params import job_params
from rgpipe.learn.mlrg.train import GroupTrainer
from rgpipe.parallel import (
    World,
    barrier,
    gather_to_root,
    init_torch_distributed,
    my_share,
    teardown,
)
from rgpipe.progress import Progress

log = logging.getLogger("rgpipe")


def seed_list(job: dict[str, Any]) -> list[int]:
    """The model seeds of a job: ``seed``, ``seed + 1``, ..., ``n_models`` of them."""
    return list(range(job["seed"], job["seed"] + job["n_models"]))


def seed_groups(params: dict[str, Any], seeds: list[int]) -> list[list[int]]:
    """The vectorised groups (independent of the number of ranks)."""
    step = min(params["models_per_batch"], max_models_per_batch(params))
    return [seeds[i : i + step] for i in range(0, len(seeds), step)]


def _allreduce_any(flag: bool) -> bool:
    """True on every rank if it is True on any (data-parallel stop decision)."""
    import torch
    import torch.distributed as dist

    t = torch.tensor([1 if flag else 0], dtype=torch.int64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def _check_replicas(trainer: GroupTrainer) -> None:
    """Data-parallel replicas must hold identical weights after training."""
    import torch
    import torch.distributed as dist

    flat = torch.cat([p.detach().reshape(-1) for p in trainer.model.parameters()])
    reference = flat.clone()
    dist.broadcast(reference, src=0)
    diff = (flat - reference).abs().max()
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    if diff.item() != 0.0:
        raise RuntimeError(f"data-parallel replicas diverged (max weight difference {diff.item()})")


def _train(
    trainer: GroupTrainer,
    name: str,
    ckpt: Checkpointer,
    prog: Progress,
    agree: Any = None,
) -> None:
    """Run (or resume) one group to its last epoch with checkpoints."""
    state = ckpt.load(name)
    if state is not None:
        trainer.load_state_dict(state)
        prog.update(trainer.epoch)
    while not trainer.done:
        trainer.step()
        prog.update()
        ckpt.step_done(name, trainer.epoch, trainer.state_dict, agree)


def run_job(
    job: dict[str, Any],
    out: str | Path,
    world: World,
    checkpoint_every: int = 100,
    progress: bool = True,
) -> Path | None:
    """Train the ensemble of a validated ``mlrg_job`` and write it (rank 0).

    Returns:
        The output path on rank 0, None on the other ranks.

    Raises:
        Preempted: after a signal-triggered checkpoint (exit status 75: retry).
    """
    out = Path(out)
    params = job_params(job)
    seeds = seed_list(job)
    groups = seed_groups(params, seeds)
    ddp = job["mode"] == "ddp"
    # the checkpoints belong to this job; data-parallel ones also to this world size
    fingerprint = config_hash({"job": job, "world": world.size if ddp else 1})
    ckpt = Checkpointer(out.with_name(out.name + ".ckpt"), checkpoint_every, fingerprint)
    agree = None
    if ddp:
        init_torch_distributed(world)
        agree = _allreduce_any if world.size > 1 else None
        mine = list(enumerate(groups))
    else:
        mine = my_share(groups, world)
    total = sum(params["epochs"] for _, g in mine)
    prog = Progress(total, f"mlrg rank {world.rank}", enabled=progress)
    local = []
    for idx, group in mine:
        done_name = f"group-{idx:04d}-done"
        finished = ckpt.load(done_name) if world.is_root or not ddp else None
        if ddp and agree is not None and agree(finished is not None):
            # rank 0 holds the finished group: every rank skips it together
            if finished is not None:
                local.append((idx, finished))
            prog.update(params["epochs"])
            continue
        if finished is not None:
            local.append((idx, finished))
            prog.update(params["epochs"])
            continue
        trainer = GroupTrainer(params, group, world if ddp else None)
        name = f"group-{idx:04d}" + (f"-rank{world.rank}of{world.size}" if ddp else "")
        _train(trainer, name, ckpt, prog, agree)
        if ddp and world.size > 1:
            _check_replicas(trainer)
        if ddp and not world.is_root:
            ckpt.remove(name)
            continue
        models = trainer.finish()
        ckpt.save(done_name, models)
        ckpt.remove(name)
        local.append((idx, models))
    prog.close()
    if ddp:
        parts = [models for _, models in sorted(local)] if world.is_root else None
    else:
        parts = gather_to_root(local, world, len(groups))
    path = None
    if world.is_root:
        results = {"params": params, "seeds": seeds, "models": [m for p in parts for m in p]}
        path = write_result(out, params, results, world_size=world.size, job=job)
        ckpt.finish()
    else:
        ckpt.restore_handlers()
    barrier(world)
    if ddp:
        teardown(world)
    return path
