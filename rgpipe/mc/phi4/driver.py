"""The 2D lattice phi^4 Monte Carlo driver: a sweep of coupling points at one size and seed.

:func:`simulate` runs one chain per (beta, lam) point of a validated job
(:func:`rgpipe.mc.systems.validate_job`, defaults filled; the continuum-like form
m0sq, lambda0 is converted exactly point by point) and returns the raw arrays; :func:`run`
runs it one point at a time (for progress reports; each chain has its own random stream,
so the data are the same) and packages it as an :class:`~rgpipe.mc.output.MCResult`, with
the exact values of the same lattice where they are known (:mod:`rgpipe.mc.phi4.references`).

Random numbers: one xoshiro256** stream per coupling point, keyed by (L, beta, lam), so a
point's chain does not depend on the other points of the sweep; same seed => bit-identical
series.  Every chain starts from phi = 1 (cold start).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from rgpipe.mc.output import MCResult, run_point_by_point
from rgpipe.mc.phi4.kernels import run_chain
from rgpipe.mc.phi4.references import references
from rgpipe.mc.rng import stream_key, stream_states
from rgpipe.physics.lattice import square
from rgpipe.physics.phi4 import (
    META,
    SERIES,
    action_density,
    continuum_from_lattice,
    estimates_from_series,
    lattice_from_continuum,
)
from rgpipe.stats import Stats

INITIAL_STEP = 1.0
"""Metropolis step at the start of the thermalisation when it is tuned."""


def couplings(job: Mapping[str, Any]) -> list[tuple[float, float]]:
    """The (beta, lam) points of a job in the order given (continuum form converted)."""
    if "betas" in job:
        lam = float(job["lam"])
        return [(float(b), lam) for b in job["betas"]]
    l0 = float(job["lambda0"])
    return [lattice_from_continuum(float(m), l0) for m in job["m0sq"]]


def _snapshot_indices(n_meas: int, n_cfg: int) -> np.ndarray:
    """Measurement indices of stored configurations (evenly spaced, unique, ascending)."""
    if n_cfg <= 0:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.linspace(0, n_meas - 1, min(n_cfg, n_meas)).round().astype(np.int64))


def _stack(per_point: list[dict[str, Stats]]) -> dict[str, Stats]:
    """List over points of {name: Stats} -> {name: Stats of (n_p,) arrays}."""
    fields = ("mean", "error_of_mean", "variance", "tau_int")
    return {
        name: Stats(*(np.array([getattr(p[name], f) for p in per_point]) for f in fields))
        for name in per_point[0]
    }


def simulate(job: Mapping[str, Any]) -> dict[str, Any]:
    """Simulate 2D lattice phi^4 at every coupling point of a validated job.

    Args:
        job: ``L``; ``betas`` (list) and ``lam``, or ``m0sq`` (list) and ``lambda0``;
            ``update``, ``sweeps``, ``thermalization``, ``measure_every``, ``seed``,
            ``metropolis_step``, ``or_sweeps``, ``clusters``, ``configurations`` (the
            options of :mod:`rgpipe.mc.phi4.spec`; updates in :mod:`.kernels`).

    Returns:
        A dict laid out like the Monte Carlo HDF5 files (n_p points, n_meas measurements):

        * ``parameter``: ``"beta"``; ``values``: float64 (n_p,) beta of every point;
        * ``parameters``: ``beta``, ``lam``, ``m0sq``, ``lambda0``, ``field_scale``, each
          float64 (n_p,) (continuum equivalents NaN for beta <= 0);
        * ``series``: ``m``, ``phi2``, ``phi4``, ``hop``, ``action``, float64 (n_p, n_meas);
        * ``estimates``: name -> Stats of (n_p,) arrays: ``m``, ``abs_m``, ``m2``, ``m4``,
          ``phi2``, ``phi4``, ``hop``, ``action``, ``binder``, ``chi``,
          ``chi_connected``, ``specific_heat``;
        * ``meta``: name -> (units, description);
        * ``diagnostics``: float64 (n_p,) ``acceptance_metropolis``,
          ``acceptance_overrelaxation``, ``metropolis_step``, ``clusters_per_sweep``,
          ``mean_cluster_fraction`` (mean cluster size / N), ``sweeps``;
        * ``timing``: float64 (n_p,) ``seconds`` (wall clock; volatile, not reproducible);
        * ``samples``: ``phi`` float64 (n_p, n_cfg, L, L) [y, x] if ``configurations`` > 0;
          ``sample_attrs``: layout and ``measurement_index`` (n_cfg,);
        * ``attrs``: system facts; ``job``: the job.
    """
    L = int(job["L"])
    lat = square(L)
    nbr = lat.neighbors
    n = lat.n_sites
    points = couplings(job)
    n_p = len(points)
    every = int(job["measure_every"])
    n_meas = int(job["sweeps"]) // every
    snap_at = _snapshot_indices(n_meas, int(job["configurations"]))
    update = job["update"]
    n_or = int(job["or_sweeps"]) if update in ("overrelaxation", "combined") else 0
    use_clusters = update in ("wolff", "combined")
    n_clusters = int(job["clusters"]) if job["clusters"] is not None else 0
    tune = job["metropolis_step"] is None
    step0 = INITIAL_STEP if tune else float(job["metropolis_step"])

    series = {name: np.empty((n_p, n_meas)) for name in (*SERIES, "action")}
    snaps_all = np.empty((n_p, snap_at.size, L, L))
    info_all = np.empty((n_p, 6))
    seconds = np.empty(n_p)
    per_point = []
    for ip, (beta, lam) in enumerate(points):
        key = (stream_key("phi4", "square"), L, stream_key(repr(float(beta)), repr(float(lam))))
        state = stream_states(int(job["seed"]), key, 1)[0]
        phi = np.ones(n)
        snaps = np.empty((snap_at.size, n))
        t0 = time.perf_counter()
        meas, info = run_chain(
            phi,
            nbr,
            float(beta),
            float(lam),
            int(job["thermalization"]),
            n_meas,
            every,
            step0,
            tune,
            n_or,
            use_clusters,
            n_clusters,
            state,
            snap_at,
            snaps,
        )
        seconds[ip] = time.perf_counter() - t0
        one = {name: meas[:, k].copy() for k, name in enumerate(SERIES)}
        one["action"] = action_density(one, beta, lam)
        for name, s in one.items():
            series[name][ip] = s
        snaps_all[ip] = snaps.reshape(snap_at.size, L, L)
        info_all[ip] = info
        per_point.append(estimates_from_series(one, n, beta, lam))

    betas = np.array([p[0] for p in points])
    lams = np.array([p[1] for p in points])
    cont = np.array(
        [continuum_from_lattice(b, g) if b > 0 else (np.nan, np.nan) for b, g in points]
    )
    result: dict[str, Any] = {
        "parameter": "beta",
        "values": betas,
        "parameters": {
            "beta": betas,
            "lam": lams,
            "m0sq": cont[:, 0],
            "lambda0": cont[:, 1],
            "field_scale": np.sqrt(np.where(betas > 0, betas, np.nan)),
        },
        "series": series,
        "estimates": _stack(per_point),
        "meta": dict(META),
        "diagnostics": {
            "acceptance_metropolis": info_all[:, 0],
            "acceptance_overrelaxation": info_all[:, 1],
            "metropolis_step": info_all[:, 2],
            "clusters_per_sweep": info_all[:, 3],
            "mean_cluster_fraction": info_all[:, 4],
            "sweeps": info_all[:, 5],
        },
        "timing": {"seconds": seconds},
        "samples": {},
        "sample_attrs": {},
        "attrs": {
            "system": "phi4",
            "lattice": "square",
            "L": L,
            "n_sites": n,
            "update": update,
            "action": "S = sum_x [-beta sum_mu phi_x phi_{x+mu} + phi_x^2 + lam (phi_x^2 - 1)^2]",
        },
        "job": job,
    }
    if snap_at.size:
        result["samples"]["phi"] = snaps_all
        result["sample_attrs"] = {
            "shape": (L, L),
            "layout": "[y, x]",
            "measurement_index": snap_at,
            "sweeps_between_measurements": every,
        }
    return result


def run(job: dict[str, Any], device: str = "auto", progress: bool = True) -> MCResult:
    """Run a validated ``phi4_mc_job`` and package the result for
    :func:`~rgpipe.mc.output.write_mc` (``device`` is not used: CPU kernels only)."""
    run_job = {k: v for k, v in job.items() if k != "system"}
    key = "betas" if "betas" in run_job else "m0sq"
    raw = run_point_by_point(simulate, run_job, key, f"phi4 L={job['L']}", progress)
    attrs = dict(raw["attrs"])
    attrs["n_spins"] = int(attrs.get("n_sites", job["L"] ** 2))
    betas = np.asarray(raw["values"], dtype=np.float64)
    return MCResult(
        parameter=raw["parameter"],
        values=betas,
        series=raw["series"],
        estimates=raw["estimates"],
        meta={"beta": ("1", "hopping coupling beta"), **raw["meta"]},
        samples=raw["samples"],
        sample_attrs=raw["sample_attrs"],
        diagnostics=raw["diagnostics"],
        timings=raw["timing"],
        attrs=attrs,
        point_parameters=raw["parameters"],
        references=references(job["L"], betas, raw["parameters"]["lam"]),
    )
