"""``python -m rgpipe train <family>``: the training stage's command line.

One subcommand per registered family (:mod:`rgpipe.learn.registry`), with one flag per
hyper-parameter of its spec (defaults and allowed values in ``--help``) besides the runner's
options.  A job trains an ensemble of independently seeded models (seeds ``--seed`` to
``--seed + --n-models - 1``) and writes one HDF5 file.  Launched under ``mpiexec`` or
``srun`` it spreads the models over the ranks (``--mode ensemble``) or shards every model's
data over them (``--mode ddp``).  The job slice (options after defaults) is stored in the
file.  Long runs checkpoint every ``--checkpoint-every`` steps and on SIGTERM/SIGUSR1, then
exit with status 75 so Slurm/Snakemake retry them; a rerun resumes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rgpipe.config import ConfigError
from rgpipe.runtime import non_negative_int, positive_int


def _add_family(p: argparse.ArgumentParser, family: Any) -> None:
    from rgpipe.learn.jobs import DATA, RUNNER

    p.add_argument("--out", required=True, help="output HDF5 file (written atomically)")
    if family.data is not None:
        p.add_argument(
            "--inputs",
            nargs=1,
            required=True,
            metavar="MC_FILE",
            help=f"Monte Carlo file with stored configurations ({', '.join(family.data.systems)})",
        )
    g = p.add_argument_group("ensemble")
    for param in (*RUNNER.params, *(DATA.params if family.data is not None else ())):
        param.add_argument(g)
    g = p.add_argument_group("process")
    g.add_argument(
        "--threads", type=positive_int, default=1, help="torch threads per rank [default: 1]"
    )
    g.add_argument(
        "--checkpoint-every",
        type=non_negative_int,
        default=100,
        help="steps between checkpoints (0: only on SIGTERM/SIGUSR1) [default: 100]",
    )
    g.add_argument("--device", default="auto", help="torch device [default: auto]")
    g.add_argument("--expect-ranks", type=positive_int, help="fail unless launched with N ranks")
    g.add_argument("--quiet", action="store_true", help="no progress output")
    g = p.add_argument_group("hyper-parameters")
    for param in family.spec.params:
        param.add_argument(g)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register one ``train <family>`` subcommand per registered family."""
    from rgpipe.learn import registry

    sub = p.add_subparsers(dest="method", required=True, metavar="FAMILY")
    for name, family in registry.families().items():
        _add_family(sub.add_parser(name, help=family.title, description=family.title), family)


def job_from_args(family: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The validated job slice of the options (raises ConfigError)."""
    from rgpipe.learn.jobs import job_params, validate
    from rgpipe.spec import given

    return validate(family, given(args, job_params(family)))


def run(args: argparse.Namespace) -> int:
    """Validate, train (on every rank), write (rank 0)."""
    from rgpipe.learn import registry
    from rgpipe.parallel import abort_on_exception, init_world, setup_logging

    family = registry.get(args.method)
    try:
        world = init_world(expected_size=args.expect_ranks)
    except RuntimeError as exc:
        print(f"rgpipe train: {exc}", file=sys.stderr)
        return 2
    setup_logging(world)
    try:
        job = job_from_args(family, args)
        if world.is_root:
            from rgpipe.store import check_output

            check_output(args.out)
        from rgpipe.runtime import pick_device

        pick_device(args.device)
    except (ConfigError, OSError, ValueError) as exc:
        print(f"rgpipe train: {exc}", file=sys.stderr)
        return 2
    from rgpipe.learn.runner import run_job
    from rgpipe.runtime import apply_torch_threads, set_threads

    set_threads(args.threads)
    apply_torch_threads()
    with abort_on_exception(world):
        path = run_job(
            family,
            job,
            args.out,
            world,
            checkpoint_every=args.checkpoint_every,
            progress=not args.quiet,
            device=args.device,
            inputs=getattr(args, "inputs", None) or (),
        )
    if path is not None:
        print(f"rgpipe train: wrote {path} ({world.size} rank(s))", file=sys.stderr)
    return 0
