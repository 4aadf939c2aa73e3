"""``python -m rgpipe mc``: the Monte Carlo stage's command line.

Options are grouped per system; an option that does not belong to the chosen
``--system`` is an error, as is any value the config schema rejects.  The job slice
(the options after defaults are filled in) is stored in the output file.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rgpipe.config import ConfigError, validate_job

# option dest -> job key, per system
_ISING_OPTIONS = {
    "lattice": "lattice",
    "L": "L",
    "coupling": "couplings",
    "update": "update",
    "backend": "backend",
    "sweeps": "sweeps",
    "thermalization": "thermalization",
    "measure_every": "measure_every",
    "configurations": "configurations",
    "seed": "seed",
}
SYSTEM_OPTIONS: dict[str, dict[str, str]] = {"ising": _ISING_OPTIONS}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the ``mc`` options (defaults come from the config schema)."""
    p.add_argument("--system", required=True, choices=sorted(SYSTEM_OPTIONS), help="the model")
    p.add_argument("--out", required=True, help="output HDF5 file (written atomically)")
    p.add_argument("--seed", type=int, help="base seed of every random stream (default 0)")
    p.add_argument("--sweeps", type=int, help="measured sweeps per coupling")
    p.add_argument("--thermalization", type=int, help="discarded sweeps per coupling")
    p.add_argument("--measure-every", type=int, help="sweeps between measurements")
    p.add_argument("--configurations", type=int, help="configurations stored per coupling")
    p.add_argument("--threads", type=int, default=1, help="compute threads (default 1)")
    p.add_argument("--device", default="auto", help="torch device for --backend torch")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    g = p.add_argument_group("ising")
    g.add_argument("--lattice", help="square or lieb")
    g.add_argument("--L", type=int, help="linear size (cells per side for lieb)")
    g.add_argument("--coupling", type=float, nargs="+", help="coupling(s) K = J/T to sweep")
    g.add_argument("--update", help="wolff, sw or metropolis")
    g.add_argument("--backend", help="numba (default) or torch (metropolis)")


def job_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The validated job slice of the chosen system (raises ConfigError)."""
    options = SYSTEM_OPTIONS[args.system]
    known = {dest for opts in SYSTEM_OPTIONS.values() for dest in opts}
    stray = [d for d in known - set(options) if getattr(args, d, None) is not None]
    if stray:
        flags = ", ".join("--" + d.replace("_", "-") for d in sorted(stray))
        raise ConfigError(f"option(s) {flags} do not apply to --system {args.system}")
    job: dict[str, Any] = {"system": args.system}
    for dest, key in options.items():
        value = getattr(args, dest, None)
        if value is not None:
            job[key] = value
    if "couplings" in job:
        job["couplings"] = sorted(job["couplings"])
    return validate_job(f"{args.system}_mc_job", job)


def run(args: argparse.Namespace) -> int:
    """Validate, simulate, write."""
    try:
        job = job_from_args(args)
    except ConfigError as exc:
        print(f"rgpipe mc: {exc}", file=sys.stderr)
        return 2
    from rgpipe.runtime import set_threads

    set_threads(args.threads)
    if args.system == "ising":
        from rgpipe.mc.ising import run_ising

        result = run_ising(job, device=args.device, progress=not args.quiet)
    else:  # pragma: no cover - guarded by argparse choices
        raise AssertionError(args.system)
    from rgpipe.mc.output import write_mc

    write_mc(args.out, result, job=job, seed=job["seed"])
    print(f"rgpipe mc: wrote {args.out}", file=sys.stderr)
    return 0
