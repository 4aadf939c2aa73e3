"""``python -m rgpipe critical``: critical points from Monte Carlo data.

``--method binder``: Binder-cumulant crossings of an Ising coupling sweep measured at
several lattice sizes (one input file per size, as written by ``rgpipe mc``).  The
estimate of K_c is the crossing of the two largest sizes; the crossings of every pair
of consecutive sizes, the reweighted curves and the bootstrap replicates are stored too.

Layout of the output::

    /estimates/K_c/{mean, error_of_mean}    attrs: method, exact, reference, pair, failed
    /crossings/{pairs, estimate, error, failed, replicates}
    /curves/{coupling, sizes, binder, binder_error}
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from rgpipe.config import ConfigError, validate_job
from rgpipe.store import create_result, open_result, read_config

EXACT_COUPLINGS = {
    ("ising", "square"): ("K_c = ln(1 + sqrt 2)/2 (Onsager)", "K_C_SQUARE"),
    ("ising", "lieb"): (
        "J_c = arccosh(1 + sqrt 2)/2 (decimation to the square lattice)",
        "J_C_LIEB",
    ),
}


def exact_critical(system: str, lattice: str) -> tuple[float, str]:
    """The exact critical coupling of a model and its source (NaN if unknown)."""
    from rgpipe.physics import ising_exact

    if (system, lattice) not in EXACT_COUPLINGS:
        return float("nan"), "none"
    ref, name = EXACT_COUPLINGS[(system, lattice)]
    return float(getattr(ising_exact, name)), ref


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", required=True, choices=["binder"], help="estimator")
    p.add_argument("--inputs", nargs="+", required=True, help="Monte Carlo files (one per L)")
    p.add_argument("--bootstrap", type=int, help="bootstrap replicates (default 200)")
    p.add_argument("--seed", type=int, help="seed of the bootstrap (default 0)")
    p.add_argument("--out", required=True, help="output HDF5 file")


def _read_sizes(paths: list[str]) -> tuple[list[Any], dict[str, Any]]:
    from rgpipe.analysis.binder import SizeData

    sizes, systems = [], set()
    for path in paths:
        with open_result(path, stage="mc") as fh:
            cfg = read_config(fh)
            systems.add((cfg["system"], cfg["lattice"]))
            sizes.append(
                SizeData(
                    L=int(cfg["L"]),
                    n_spins=int(fh["parameters"].attrs["n_spins"]),
                    couplings=np.atleast_1d(fh["parameters/coupling"][()]),
                    energy=np.atleast_2d(fh["observables/energy"][()]),
                    magnetization=np.atleast_2d(fh["observables/magnetization"][()]),
                )
            )
    if len(systems) != 1:
        raise ConfigError(f"inputs mix different systems/lattices: {sorted(systems)}")
    if len({d.L for d in sizes}) != len(sizes):
        raise ConfigError("inputs must have distinct lattice sizes")
    system, lattice = systems.pop()
    return sizes, {"system": system, "lattice": lattice}


def run(args: argparse.Namespace) -> int:
    """Validate, analyse, write."""
    try:
        job = validate_job(
            "critical_binder_job",
            {
                k: v
                for k, v in {
                    "method": args.method,
                    "bootstrap": args.bootstrap,
                    "seed": args.seed,
                }.items()
                if v is not None
            },
        )
        sizes, model = _read_sizes(args.inputs)
    except (ConfigError, OSError) as exc:
        print(f"rgpipe critical: {exc}", file=sys.stderr)
        return 2
    from rgpipe.analysis.binder import binder_crossings

    res = binder_crossings(sizes, n_boot=job["bootstrap"], seed=job["seed"])
    exact, ref = exact_critical(model["system"], model["lattice"])
    config = {**job, **model, "sizes": sorted(d.L for d in sizes)}
    with create_result(
        args.out, stage="critical", config=config, seed=job["seed"], inputs=args.inputs
    ) as fh:
        est = fh.create_group("estimates").create_group("K_c")
        est.create_dataset("mean", data=res.estimate[-1])
        est.create_dataset("error_of_mean", data=res.error[-1])
        est.attrs.update(
            {
                "units": "1",
                "description": "critical coupling K_c = J/T_c from the Binder crossing of "
                "the two largest sizes",
                "method": "binder_crossing",
                "pair": res.pairs[-1],
                "exact": exact,
                "reference": ref,
                "failed_replicates": int(res.failed[-1]),
                "converged": bool(np.isfinite(res.estimate[-1])),
            }
        )
        cr = fh.create_group("crossings")
        for name in ("pairs", "estimate", "error", "failed", "replicates"):
            cr.create_dataset(name, data=getattr(res, name))
        cv = fh.create_group("curves")
        cv.create_dataset("coupling", data=res.grid)
        cv.create_dataset("sizes", data=np.array(sorted(d.L for d in sizes)))
        cv.create_dataset("binder", data=res.curves)
        cv.create_dataset("binder_error", data=res.curve_errors)
        fh.attrs.update({"system": model["system"], "lattice": model["lattice"]})
    for (l1, l2), x, e in zip(res.pairs, res.estimate, res.error, strict=True):
        print(f"rgpipe critical: crossing L={l1},{l2}: K = {x:.6f} +- {e:.6f}", file=sys.stderr)
    print(f"rgpipe critical: exact {exact:.6f}; wrote {args.out}", file=sys.stderr)
    return 0
