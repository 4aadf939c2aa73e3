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

_COMMON = {
    "L": "L",
    "coupling": "couplings",
    "sweeps": "sweeps",
    "thermalization": "thermalization",
    "measure_every": "measure_every",
    "configurations": "configurations",
    "seed": "seed",
}
# option dest -> job key, per system
SYSTEM_OPTIONS: dict[str, dict[str, str]] = {
    "ising": {**_COMMON, "lattice": "lattice", "update": "update", "backend": "backend"},
    "xy": {
        **_COMMON,
        "lattice": "lattice",
        "update": "update",
        "start": "start",
        "metropolis_step": "metropolis_step",
        "clusters_per_sweep": "clusters_per_sweep",
        "metropolis_per_sweep": "metropolis_per_sweep",
        "overrelax_per_sweep": "overrelax_per_sweep",
    },
    "phi4": {
        "L": "L",
        "coupling": "betas",
        "lam": "lam",
        "m0sq": "m0sq",
        "lambda0": "lambda0",
        "update": "update",
        "metropolis_step": "metropolis_step",
        "or_sweeps": "or_sweeps",
        "clusters": "clusters",
        "sweeps": "sweeps",
        "thermalization": "thermalization",
        "measure_every": "measure_every",
        "configurations": "configurations",
        "seed": "seed",
    },
    "oscillator": {
        "sweeps": "sweeps",
        "thermalization": "thermalization",
        "measure_every": "measure_every",
        "seed": "seed",
        "potential": "potential",
        "lam": "lam",
        "eta": "eta",
        "omega": "omega",
        "coeffs": "coeffs",
        "mass": "mass",
        "beta": "beta",
        "n_tau": "n_tau",
        "update": "update",
        "hmc_steps": "hmc_steps",
        "hmc_length": "hmc_length",
        "fourier_acceleration": "fourier_acceleration",
        "metropolis_step": "metropolis_step",
        "gap_tmin": "gap_tmin",
        "correlator_rows": "correlator_rows",
    },
}


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
    g = p.add_argument_group("lattice models (ising, xy)")
    g.add_argument("--lattice", help="ising: square or lieb; xy: square or ring")
    g.add_argument("--L", type=int, help="linear size (cells per side for lieb)")
    g.add_argument("--coupling", type=float, nargs="+", help="coupling(s) K = J/T to sweep")
    g.add_argument("--update", help="ising: wolff, sw, metropolis; xy: combined, wolff, ...")
    g = p.add_argument_group("ising")
    g.add_argument("--backend", help="numba (default) or torch (metropolis)")
    g = p.add_argument_group("xy")
    g.add_argument("--start", help="hot (default) or cold")
    g.add_argument("--metropolis-step", type=float, help="Metropolis window (default: tuned)")
    g.add_argument("--clusters-per-sweep", type=int, help="Wolff clusters per sweep")
    g.add_argument("--metropolis-per-sweep", type=int, help="Metropolis sweeps per sweep")
    g.add_argument("--overrelax-per-sweep", type=int, help="over-relaxation sweeps per sweep")
    g = p.add_argument_group("phi4 (--coupling gives the hopping couplings beta)")
    g.add_argument("--m0sq", type=float, nargs="+", help="continuum form: bare masses squared")
    g.add_argument("--lambda0", type=float, help="continuum form: quartic coupling")
    g.add_argument("--or-sweeps", type=int, help="over-relaxation passes per sweep")
    g.add_argument("--clusters", type=int, help="Wolff clusters per sweep")
    g = p.add_argument_group("oscillator (0+1D field; --update hmc+reflect etc.)")
    g.add_argument("--potential", help="double_well (default), harmonic or polynomial")
    g.add_argument(
        "--lam", type=float, help="phi4: quartic coupling; double well: V = lam/4 (x^2 - eta^2)^2"
    )
    g.add_argument("--eta", type=float, help="double well: minima at +-eta")
    g.add_argument("--omega", type=float, help="harmonic frequency")
    g.add_argument("--coeffs", type=float, nargs="+", help="polynomial V, increasing powers")
    g.add_argument("--mass", type=float, help="particle mass (default 1)")
    g.add_argument("--beta", type=float, help="Euclidean time extent")
    g.add_argument("--n-tau", type=int, help="time slices (a = beta/n_tau)")
    g.add_argument("--hmc-steps", type=int, help="leapfrog steps per trajectory")
    g.add_argument("--hmc-length", type=float, help="trajectory length")
    g.add_argument(
        "--fourier-acceleration",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Fourier-accelerated HMC (default on)",
    )
    g.add_argument("--gap-tmin", type=float, help="start of the cosh fit window of C(tau)")
    g.add_argument("--correlator-rows", type=int, help="stored binned correlator rows")


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
    for key in ("couplings", "betas", "m0sq"):
        if key in job:
            job[key] = sorted(job[key])
    return validate_job(f"{args.system}_mc_job", job)


def simulate(job: dict[str, Any], device: str = "auto", progress: bool = True):
    """Run a validated job of any system; return its MCResult."""
    if job["system"] == "ising":
        from rgpipe.mc.ising import run_ising

        return run_ising(job, device=device, progress=progress)
    if job["system"] == "xy":
        from rgpipe.mc.xy_result import xy_result

        return xy_result(job, progress)
    if job["system"] == "phi4":
        from rgpipe.mc.phi4_result import phi4_result

        return phi4_result(job, progress)
    if job["system"] == "oscillator":
        from rgpipe.mc.oscillator_result import oscillator_result

        return oscillator_result(job)
    raise ValueError(f"unknown system {job['system']!r}")


def run(args: argparse.Namespace) -> int:
    """Validate, simulate, write."""
    try:
        job = job_from_args(args)
    except ConfigError as exc:
        print(f"rgpipe mc: {exc}", file=sys.stderr)
        return 2
    from rgpipe.mc.output import write_mc
    from rgpipe.runtime import set_threads

    set_threads(args.threads)
    result = simulate(job, device=args.device, progress=not args.quiet)
    write_mc(args.out, result, job=job, seed=job["seed"])
    print(f"rgpipe mc: wrote {args.out}", file=sys.stderr)
    return 0
