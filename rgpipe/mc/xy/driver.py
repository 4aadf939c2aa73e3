"""The XY model's Monte Carlo driver: a coupling sweep at one size and seed.

:func:`simulate` runs one independent chain per coupling of a validated job
(:func:`rgpipe.mc.systems.validate_job`, defaults filled) and returns the raw arrays;
:func:`run` runs it one coupling at a time (for progress reports; the data are the same,
each chain has its own random stream) and packages it as an
:class:`~rgpipe.mc.output.MCResult`, with the exact values of the same system where they
are known (:mod:`rgpipe.mc.xy.references`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from rgpipe.mc.output import MCResult, run_point_by_point
from rgpipe.mc.xy.chain import Chain, chain_state, thermalize
from rgpipe.mc.xy.kernels import config_shape
from rgpipe.mc.xy.observables import META, estimates_from_series, series_from_raw, stack_stats
from rgpipe.mc.xy.references import references
from rgpipe.mc.xy.spec import sweep_composition


def simulate(job: Mapping[str, Any]) -> dict[str, Any]:
    """Monte Carlo of the XY model over the couplings of a validated job (one independent
    chain each; options in :mod:`rgpipe.mc.xy.spec`).

    Returns:
        dict with
            ``job``: the job;
            ``couplings``: float64 (n_K,); ``n_sites``: N;
            ``series``: name -> float64 (n_K, n_meas), per-measurement series of
                :func:`~rgpipe.mc.xy.observables.series_from_raw` (energy, abs_m, m2,
                cos_x, sin2_x, helicity_x, helicity, and on the square lattice cos_y,
                sin2_y, helicity_y, vortex_density);
            ``estimates``: name -> :class:`Stats` of float64 arrays (n_K,) for each name
                in ``ESTIMATES`` (the ring lacks helicity_y and vortex_density); tau_int
                in units of measurements;
            ``diagnostics``: name -> (n_K,) arrays: metropolis_step, clusters_per_sweep,
                acceptance (measurement phase, NaN without Metropolis),
                mean_cluster_size (NaN without clusters), seconds (wall time);
            ``configurations``: float64 (n_K, n_conf, *shape) angle snapshots (radians);
            ``final``: float64 (n_K, *shape) last configuration of each chain.
    """
    L, lattice = job["L"], job["lattice"]
    couplings = [float(k) for k in job["couplings"]]
    wolff, n_met, n_or = sweep_composition(job)
    n_meas = job["sweeps"] // job["measure_every"]
    n_conf = job["configurations"]
    shape = config_shape(L, lattice)
    series_rows: list[dict] = []
    stats_rows: list[dict] = []
    diag: dict[str, list] = {
        k: []
        for k in (
            "metropolis_step",
            "clusters_per_sweep",
            "acceptance",
            "mean_cluster_size",
            "seconds",
        )
    }
    confs = np.zeros((len(couplings), n_conf, *shape))
    finals = np.zeros((len(couplings), *shape))
    n_sites = 0
    for ik, k in enumerate(couplings):
        t0 = time.perf_counter()
        state = chain_state(job["seed"], lattice, L, job["update"], k)
        chain = Chain(L, lattice, k, state, job["start"])
        n_sites = chain.n
        step, n_cl = thermalize(chain, job)
        chain.counters[:4] = 0
        # measurement phase, cut into n_conf segments so snapshots are evenly spaced; the
        # random stream simply continues, so the series do not depend on n_conf
        bounds = np.linspace(0, n_meas, n_conf + 1).astype(np.int64) if n_conf else [0, n_meas]
        raw = []
        for seg, (a, b) in enumerate(itertools.pairwise(bounds)):
            raw.append(
                chain.run(
                    (b - a) * job["measure_every"], step, n_cl, n_met, n_or, job["measure_every"]
                )
            )
            if n_conf:
                confs[ik, seg] = chain.config()
        raw_all = np.concatenate(raw)
        finals[ik] = chain.config()
        ser = series_from_raw(raw_all, k, chain.n, lattice == "square")
        series_rows.append(ser)
        stats_rows.append(estimates_from_series(ser, k, chain.n))
        cnt = chain.counters
        diag["metropolis_step"].append(step if n_met else np.nan)
        diag["clusters_per_sweep"].append(n_cl)
        diag["acceptance"].append(cnt[0] / cnt[1] if cnt[1] else np.nan)
        diag["mean_cluster_size"].append(cnt[2] / cnt[3] if wolff and cnt[3] else np.nan)
        diag["seconds"].append(time.perf_counter() - t0)
    series = {name: np.stack([r[name] for r in series_rows]) for name in series_rows[0]}
    estimates = {name: stack_stats([r[name] for r in stats_rows]) for name in stats_rows[0]}
    return {
        "job": job,
        "couplings": np.array(couplings),
        "n_sites": n_sites,
        "series": series,
        "estimates": estimates,
        "diagnostics": {k: np.array(v, dtype=np.float64) for k, v in diag.items()},
        "configurations": confs,
        "final": finals,
    }


def run(job: dict[str, Any], device: str = "auto", progress: bool = True) -> MCResult:
    """Run a validated ``xy_mc_job`` and package the result for
    :func:`~rgpipe.mc.output.write_mc` (``device`` is not used: CPU kernels only)."""
    raw = run_point_by_point(simulate, dict(job), "couplings", f"xy L={job['L']}", progress)
    shape = raw["configurations"].shape[2:]
    couplings = np.asarray(raw["couplings"], dtype=np.float64)
    result = MCResult(
        parameter="coupling",
        values=couplings,
        series=raw["series"],
        estimates=raw["estimates"],
        meta=META,
        diagnostics={k: v for k, v in raw["diagnostics"].items() if k != "seconds"},
        timings={"seconds": raw["diagnostics"]["seconds"]},
        references=references(job["lattice"], job["L"], couplings),
        attrs={
            "system": "xy",
            "lattice": job["lattice"],
            "L": job["L"],
            "n_spins": int(raw["n_sites"]),
            "update": job["update"],
        },
    )
    if job["configurations"]:
        result.samples["angles"] = raw["configurations"]
        result.sample_attrs = {
            "shape": shape,
            "layout": "[y, x]" if job["lattice"] == "square" else "[x]",
            "units": "radians in [0, 2 pi)",
        }
    return result
