"""Command line: one subcommand per stage, plus ``inspect``.

Every stage validates its options against the config schema before any work starts,
logs the exact command that reruns it, and writes one HDF5 file atomically.
"""

from __future__ import annotations

import argparse
import sys

from rgpipe import __version__, inspect
from rgpipe.analysis import aggregate_stage, critical_stage
from rgpipe.learn import stage as train_stage
from rgpipe.mc import stage as mc_stage
from rgpipe.runtime import launcher_rank, rerun_command

STAGES = {
    "mc": (mc_stage, "Monte Carlo sampling of a lattice model (one job: a parameter sweep)"),
    "train": (train_stage, "train an ML-RG method (MPI ensembles or DDP; checkpoints)"),
    "critical": (critical_stage, "critical points from Monte Carlo data (Binder crossings)"),
    "aggregate": (
        aggregate_stage,
        "bias statistics, plots and report across critical-point and training files",
    ),
    "inspect": (inspect, "print the tree, provenance and estimates of rgpipe HDF5 files"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with one subparser per stage.

    Args:
        only: register the options of this stage alone (the one being run), so that its
            ``--help`` imports nothing another stage's options need (e.g. torch).
    """
    parser = argparse.ArgumentParser(prog="python -m rgpipe", description=__doc__)
    parser.add_argument("--version", action="version", version=f"rgpipe {__version__}")
    sub = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for name, (module, help_text) in STAGES.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            module.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m rgpipe`` and the ``rgpipe`` script."""
    words = sys.argv[1:] if argv is None else argv
    stage = next((w for w in words if not w.startswith("-")), None)
    args = build_parser(stage if stage in STAGES else None).parse_args(argv)
    if args.stage != "inspect" and launcher_rank() == 0:
        print(f"rgpipe: rerun with: {rerun_command(argv)}", file=sys.stderr, flush=True)
    module, _ = STAGES[args.stage]
    return module.run(args)
