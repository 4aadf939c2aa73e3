"""``python -m rgpipe train <method>``: the training stage's command line.

``train mlrg`` trains an ensemble of independently seeded MLRG models (seeds ``--seed``
to ``--seed + --n-models - 1``) and writes one HDF5 file.  Launched under ``mpiexec`` or
``srun`` it spreads the models over the ranks (``--mode ensemble``) or shards every
model's batch over them (``--mode ddp``).  Every hyper-parameter of the config schema
is an option; the job slice (options after defaults) is stored in the file.  Long runs
checkpoint every ``--checkpoint-every`` epochs and on SIGTERM/SIGUSR1, then exit with
status 75 so Slurm/Snakemake retry them; a rerun resumes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rgpipe.config import ConfigError, validate_job

_TYPES = {"str": str, "int": int, "float": float}


def _add_mlrg(p: argparse.ArgumentParser) -> None:
    from rgpipe.learn.mlrg.params import HYPERPARAMETERS

    p.add_argument("--out", required=True, help="output HDF5 file (written atomically)")
    p.add_argument("--seed", type=int, help="first model seed (default 0)")
    p.add_argument("--n-models", type=int, help="models in the ensemble (default 16)")
    p.add_argument("--mode", help="ensemble (default) or ddp")
    p.add_argument("--threads", type=int, default=1, help="torch threads per rank (default 1)")
    p.add_argument(
        "--checkpoint-every", type=int, default=100, help="epochs between checkpoints (0: none)"
    )
    p.add_argument("--expect-ranks", type=int, help="fail unless launched with this many ranks")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    g = p.add_argument_group("hyper-parameters (defaults from the config schema)")
    for hp in HYPERPARAMETERS:
        flag = "--" + hp.name.replace("_", "-")
        text = hp.description.replace("%", "%%")  # argparse formats help strings with %
        if hp.type in _TYPES:
            g.add_argument(flag, type=_TYPES[hp.type], help=text)
        elif hp.type == "int_list":
            g.add_argument(flag, type=int, nargs="+", help=text)
        else:
            g.add_argument(flag, type=float, nargs=2, metavar=("LOW", "HIGH"), help=text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register ``train <method>`` subcommands."""
    sub = p.add_subparsers(dest="method", required=True, metavar="METHOD")
    _add_mlrg(sub.add_parser("mlrg", help="MLRG: learned RG flow of the Lieb-lattice Ising model"))


def mlrg_job_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The validated ``mlrg_job`` slice of the options (raises ConfigError)."""
    from rgpipe.learn.mlrg.params import HYPERPARAMETERS, job_params

    job: dict[str, Any] = {}
    for key in ("seed", "n_models", "mode"):
        if getattr(args, key) is not None:
            job[key] = getattr(args, key)
    for hp in HYPERPARAMETERS:
        value = getattr(args, hp.name)
        if value is not None:
            job[hp.name] = list(value) if isinstance(value, list) else value
    job = validate_job("mlrg_job", job)
    try:
        job_params(job)
    except ValueError as exc:
        raise ConfigError(f"invalid mlrg job:\n  {exc}") from None
    return job


def run(args: argparse.Namespace) -> int:
    """Validate, train (on every rank), write (rank 0)."""
    from rgpipe.parallel import abort_on_exception, init_world, setup_logging

    world = init_world(expected_size=args.expect_ranks)
    setup_logging(world)
    try:
        job = mlrg_job_from_args(args)
    except ConfigError as exc:
        print(f"rgpipe train: {exc}", file=sys.stderr)
        return 2
    from rgpipe.learn.mlrg.job import run_job
    from rgpipe.runtime import apply_torch_threads, set_threads

    set_threads(args.threads)
    apply_torch_threads()
    with abort_on_exception(world):
        path = run_job(
            job,
            args.out,
            world,
            checkpoint_every=args.checkpoint_every,
            progress=not args.quiet,
        )
    if path is not None:
        print(f"rgpipe train: wrote {path} ({world.size} rank(s))", file=sys.stderr)
    return 0
