"""Command line: one subcommand per stage, plus ``inspect``.

Every stage validates its options against the config schema before any work starts,
logs the exact command that reruns it, and writes one HDF5 file atomically.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType

from rgpipe import __version__
from rgpipe.runtime import launcher_rank, rerun_command

STAGES = {
    "mc": ("rgpipe.mc.stage", "Monte Carlo sampling of a lattice model (one job: a sweep)"),
    "train": ("rgpipe.learn.stage", "train a learned RG method (MPI ensembles or DDP)"),
    "critical": (
        "rgpipe.analysis.critical_stage",
        "critical points from Monte Carlo data or trained models",
    ),
    "aggregate": (
        "rgpipe.analysis.aggregate_stage",
        "bias statistics, plots and report across critical-point and training files",
    ),
    "inspect": ("rgpipe.inspect", "print the tree, provenance and estimates of rgpipe files"),
}
"""Stage name -> (module, one-line help); a module is imported only when its stage is used."""


def _module(stage: str) -> ModuleType:
    return importlib.import_module(STAGES[stage][0])


def build_parser(stage: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only ``stage``'s options are registered (all stages when None),
    so that ``--help`` and a stage's start import no other stage."""
    parser = argparse.ArgumentParser(prog="python -m rgpipe", description=__doc__)
    parser.add_argument("--version", action="version", version=f"rgpipe {__version__}")
    sub = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for name, (_, help_text) in STAGES.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if stage is None or name == stage:
            _module(name).add_arguments(p)
    return parser


def _stage_of(argv: list[str]) -> str | None:
    """The stage named on the command line (its first word that is not an option), else
    None."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in STAGES else None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m rgpipe`` and the ``rgpipe`` script."""
    words = sys.argv[1:] if argv is None else argv
    stage = _stage_of(words)
    args = build_parser(stage or "").parse_args(argv)
    if args.stage != "inspect" and launcher_rank() == 0:
        print(f"rgpipe: rerun with: {rerun_command(argv)}", file=sys.stderr, flush=True)
    try:
        return _module(args.stage).run(args)
    except BrokenPipeError:
        # the reader went away (e.g. `rgpipe inspect FILE | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
