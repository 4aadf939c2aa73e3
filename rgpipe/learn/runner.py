"""The generic training job: any family's ensemble over ranks or data-parallel, resumable.

* **ensemble** mode: the seeds are cut into the family's vectorised groups (its ``groups``
  hook; one model each by default); the groups are spread round-robin over the ranks and
  every rank trains its own.  A model's result depends only on its seed, so the world size
  changes nothing but the wall time.
* **ddp** mode: every rank trains every group together on its shard of the data; the
  family's trainer wraps its model in DistributedDataParallel.

Checkpoints (``<out>.ckpt/``): every ``checkpoint_every`` steps and on SIGTERM/SIGUSR1, each
group in progress saves its complete state (``group-NNNN``, in ddp mode
``group-NNNN-rank<r>of<n>``); a finished group saves its per-model results as its **part**
``group-NNNN-done``.  A rerun resumes from them and gives the same file as an unbroken run
(bit-identical on CPU).  Rank 0 writes the output from the parts on disk after every rank
has finished, so no model's weights travel through MPI; the checkpoint directory must
therefore be visible to every rank (it sits next to the output file).  After the output is
written the checkpoints are removed.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

from rgpipe.config import config_hash
from rgpipe.learn import jobs
from rgpipe.learn.checkpoint import Checkpointer, Preempted
from rgpipe.learn.ensemble import write_estimates
from rgpipe.learn.family import Family, TrainContext
from rgpipe.parallel import (
    World,
    init_torch_distributed,
    interruptible_barrier,
    my_share,
    rank_device,
    teardown,
)
from rgpipe.progress import Progress
from rgpipe.store import create_result

log = logging.getLogger("rgpipe")


def groups_of(family: Family, params: dict[str, Any], seeds: list[int]) -> list[list[int]]:
    """The vectorised groups of a job (independent of the number of ranks)."""
    hook = family.hook("groups")
    return hook(params, seeds) if hook is not None else [[s] for s in seeds]


def _allreduce_any(flag: bool) -> bool:
    """True on every rank if it is True on any (the data-parallel stop decision)."""
    import torch
    import torch.distributed as dist

    t = torch.tensor([1 if flag else 0], dtype=torch.int64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def check_replicas(model: Any) -> None:
    """Data-parallel replicas must hold identical weights after training."""
    import torch
    import torch.distributed as dist

    flat = torch.cat([p.detach().reshape(-1).cpu() for p in model.parameters()])
    reference = flat.clone()
    dist.broadcast(reference, src=0)
    diff = (flat - reference).abs().max()
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    if diff.item() != 0.0:
        raise RuntimeError(f"data-parallel replicas diverged (max weight difference {diff.item()})")


def _train(trainer: Any, name: str, ckpt: Checkpointer, prog: Progress, agree: Any) -> None:
    """Run (or resume) one group to its last step, with checkpoints."""
    state = ckpt.load(name)
    if state is not None:
        trainer.load_state_dict(state)
        prog.update(trainer.step_count)
    while not trainer.done:
        trainer.step()
        prog.update()
        ckpt.step_done(name, trainer.step_count, trainer.state_dict, agree)


def _load_data(family: Family, job: dict[str, Any], inputs: list[str], world: World, ddp: bool):
    """This rank's Monte Carlo configurations (all of them in ensemble mode)."""
    if family.data is None:
        if inputs:
            raise ValueError(f"the {family.name} family learns from no input files")
        return None
    if len(inputs) != 1:
        raise ValueError(f"the {family.name} family needs one Monte Carlo file (--inputs FILE)")
    from rgpipe.learn.data import read_samples

    rank, size = (world.rank, world.size) if ddp else (0, 1)
    return read_samples(
        inputs[0], systems=family.data.systems, coupling=job.get("coupling"), rank=rank, size=size
    )


def run_job(
    family: Family,
    job: dict[str, Any],
    out: str | Path,
    world: World,
    *,
    checkpoint_every: int = 100,
    progress: bool = True,
    device: str = "auto",
    inputs: list[str] | tuple[str, ...] = (),
) -> Path | None:
    """Train the ensemble of a validated job (:func:`rgpipe.learn.jobs.validate`) and write it.

    Args:
        family: the family.
        job: the validated job slice (stored as the file's configuration).
        out: the output file (written by rank 0, atomically).
        world: the ranks.
        checkpoint_every: steps between checkpoints (0: only on signals).
        progress: report progress on stderr.
        device: torch device (``auto``: this rank's GPU if CUDA is visible, else the CPU).
        inputs: Monte Carlo files, for families that learn from data.

    Returns:
        The output path on rank 0, None on the other ranks.

    Raises:
        rgpipe.learn.checkpoint.Preempted: after a signal-triggered checkpoint (exit 75).
    """
    out = Path(out)
    inputs = [str(p) for p in inputs]
    params = jobs.resolve(family, job)
    seeds = jobs.seed_list(job)
    groups = groups_of(family, params, seeds)
    ddp = job["mode"] == "ddp"
    dev = rank_device(world, device)
    # the checkpoints belong to this job; data-parallel ones also to this world size
    fingerprint = config_hash({"job": job, "world": world.size if ddp else 1})
    ckpt = Checkpointer(out.with_name(out.name + ".ckpt"), checkpoint_every, fingerprint)
    agree = None
    if world.size > 1 and (ddp or world.comm is None):
        init_torch_distributed(world, dev)  # DDP, or the barrier of a torchrun ensemble
    if ddp:
        agree = _allreduce_any if world.size > 1 else None
        mine = list(enumerate(groups))
    else:
        mine = my_share(groups, world)
    data = _load_data(family, job, inputs, world, ddp)
    make_trainer = family.hook("trainer")
    steps = params[family.steps]
    prog = Progress(steps * len(mine), f"{family.name} rank {world.rank}", enabled=progress)
    writes_parts = world.is_root or not ddp
    for idx, group in mine:
        done = f"group-{idx:04d}-done"
        finished = writes_parts and ckpt.path(done).exists()
        if ddp and agree is not None:
            finished = agree(finished)  # rank 0 holds the part: every rank skips it together
        if finished:
            prog.update(steps)
            continue
        ctx = TrainContext(params, group, world if ddp else None, dev, data)
        trainer = make_trainer(ctx)
        name = f"group-{idx:04d}" + (f"-rank{world.rank}of{world.size}" if ddp else "")
        _train(trainer, name, ckpt, prog, agree)
        if ddp and world.size > 1 and hasattr(trainer, "model"):
            check_replicas(trainer.model)
        models = trainer.finish() if writes_parts else None
        if writes_parts:
            ckpt.save(done, models)
        ckpt.remove(name)
    prog.close()
    # every part must be on disk before rank 0 reads them; a rank that waits here must
    # still answer a preemption signal (its peers checkpoint and exit)
    if not interruptible_barrier(world, lambda: ckpt.requested is not None):
        raise Preempted(ckpt.requested or signal.SIGTERM)
    path = None
    if world.is_root:
        models = []
        for idx in range(len(groups)):
            part = ckpt.load(f"group-{idx:04d}-done", resuming=False)
            if part is None:
                raise RuntimeError(f"no result for group {idx} in {ckpt.directory}")
            models += part
        path = write_training(family, out, params, job, models, world.size, inputs)
        ckpt.finish()
    else:
        ckpt.restore_handlers()
    teardown(world)
    return path


def write_training(
    family: Family,
    out: str | Path,
    params: dict[str, Any],
    job: dict[str, Any],
    models: list[dict[str, Any]],
    world_size: int = 1,
    inputs: list[str] | tuple[str, ...] = (),
) -> Path:
    """Write a family's training file atomically (stage ``train_<family>``).

    The runner writes the provenance, ``/estimates`` and ``/models/{seed, <estimate>}``
    (:func:`rgpipe.learn.ensemble.write_estimates`); the family's ``write`` hook the rest.
    """
    if not models:
        raise ValueError("no models to write")
    described = family.hook("describe")(params)
    with create_result(
        out,
        stage=family.stage,
        config=job,
        seed=int(models[0]["seed"]),
        world_size=world_size,
        inputs=inputs,
    ) as fh:
        fh.attrs["family"] = family.name
        write_estimates(fh, models, described)
        family.hook("write")(fh, params, models, job)
    return Path(out)
