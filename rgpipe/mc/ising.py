"""The Ising Monte Carlo stage: a coupling sweep at one lattice size and seed.

:func:`run_ising` takes a validated job (``$defs/ising_mc_job`` of the config schema),
simulates every coupling from an independent random start and an independent random
stream, and returns an :class:`~rgpipe.mc.output.MCResult` with the energy and
magnetisation series and their Gamma-method estimates.  Per spin, in units of J = 1
(K = J/T):

* ``energy`` <e>, e = -(1/N) sum_bonds s_i s_j (all N spins; on the Lieb lattice corner
  and decorating spins alike);
* ``abs_m`` <|m|>, ``m2`` <m^2>, ``m4`` <m^4> with m = (1/N) sum_i s_i;
* ``binder`` U = 1 - <m^4> / (3 <m^2>^2);
* ``specific_heat`` c = K^2 N (<e^2> - <e>^2);
* ``susceptibility`` chi = K N <m^2> (the zero-field susceptibility of the finite
  lattice, where <m> = 0) and ``susceptibility_abs`` K N (<m^2> - <|m|>^2).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rgpipe.mc.ising_samplers import Wolff, make_sampler
from rgpipe.mc.output import MCResult
from rgpipe.mc.rng import stream_key, stream_states
from rgpipe.physics.lattice import make_lattice
from rgpipe.progress import Progress
from rgpipe.stats import Stats, derived, gamma_method

META = {
    "energy": ("J", "energy per spin, -(1/N) sum_bonds s_i s_j"),
    "magnetization": ("1", "magnetisation per spin, (1/N) sum_i s_i"),
    "abs_m": ("1", "<|m|>"),
    "m2": ("1", "<m^2>"),
    "m4": ("1", "<m^4>"),
    "binder": ("1", "Binder cumulant 1 - <m^4>/(3 <m^2>^2)"),
    "specific_heat": ("k_B", "specific heat per spin K^2 N (<e^2> - <e>^2)"),
    "susceptibility": ("1/J", "K N <m^2> (finite lattice, zero field)"),
    "susceptibility_abs": ("1/J", "K N (<m^2> - <|m|>^2)"),
}


def estimates_from_series(e: np.ndarray, m: np.ndarray, k: float, n: int) -> dict[str, Stats]:
    """Gamma-method estimates of every Ising observable from one chain.

    Args:
        e: float64 (n_meas,) energy per spin.
        m: float64 (n_meas,) magnetisation per spin.
        k: coupling K.
        n: number of spins.
    """
    am, m2, m4 = np.abs(m), m**2, m**4
    out = {
        "energy": gamma_method(e),
        "abs_m": gamma_method(am),
        "m2": gamma_method(m2),
        "m4": gamma_method(m4),
        "binder": derived(lambda a: 1.0 - a[1] / (3.0 * a[0] ** 2), np.stack([m2, m4])),
        "specific_heat": derived(lambda a: k**2 * n * (a[1] - a[0] ** 2), np.stack([e, e**2])),
        "susceptibility_abs": derived(lambda a: k * n * (a[0] - a[1] ** 2), np.stack([m2, am])),
    }
    s = out["m2"]
    out["susceptibility"] = Stats(
        k * n * s.mean, k * n * s.error_of_mean, (k * n) ** 2 * s.variance, s.tau_int
    )
    return out


def _stack_stats(per_point: list[dict[str, Stats]]) -> dict[str, Stats]:
    """List over parameter points of {name: Stats} -> {name: Stats of arrays}."""
    names = per_point[0].keys()
    return {
        name: Stats(
            *(
                np.array([getattr(p[name], f) for p in per_point])
                for f in ("mean", "error_of_mean", "variance", "tau_int")
            )
        )
        for name in names
    }


def _config_indices(n_meas: int, n_cfg: int) -> np.ndarray:
    """Measurement indices at which configurations are stored (evenly spaced)."""
    if n_cfg <= 0:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.linspace(0, n_meas - 1, min(n_cfg, n_meas)).round().astype(np.int64))


def run_ising(job: dict[str, Any], device: str = "auto", progress: bool = True) -> MCResult:
    """Simulate the Ising model for every coupling of a validated job.

    Args:
        job: validated ``ising_mc_job`` (lattice, L, couplings, update, backend, sweeps,
            thermalization, measure_every, configurations, seed).
        device: torch device for the torch backend.
        progress: report progress on stderr.
    """
    lattice = make_lattice(job["lattice"], job["L"])
    n = lattice.n_sites
    ks = np.array(sorted(job["couplings"]), dtype=np.float64)
    n_meas = job["sweeps"] // job["measure_every"]
    every = job["measure_every"]
    cfg_idx = _config_indices(n_meas, job["configurations"])
    energies = np.empty((len(ks), n_meas))
    mags = np.empty((len(ks), n_meas))
    configs = np.empty((len(ks), len(cfg_idx), *lattice.shape), dtype=np.int8)
    per_point, diag = [], {"seconds": [], "spin_updates_per_second": []}
    prog = Progress(
        len(ks) * (n_meas + 1), f"ising {job['lattice']} L={job['L']}", enabled=progress
    )
    for ik, k in enumerate(ks):
        key = (stream_key("ising", job["lattice"], job["L"], job["update"], repr(float(k))),)
        states = stream_states(job["seed"], key, max(lattice.L, 1) + 1)
        init_rng = np.random.default_rng(states[-1])
        spins = init_rng.choice(np.array([-1, 1], dtype=np.int8), size=n)
        sampler = make_sampler(
            lattice, job["update"], spins, float(k), states, job["backend"], device
        )
        t0 = time.perf_counter()
        if isinstance(sampler, Wolff):
            sampler.calibrate(job["thermalization"])
        elif job["thermalization"]:
            sampler.sweep(job["thermalization"])
        prog.update()
        flipped0 = getattr(sampler, "flipped", 0)
        t1 = time.perf_counter()
        c = 0
        for i in range(n_meas):
            sampler.sweep(every)
            e_tot, m_tot = sampler.energy_magnetisation()
            energies[ik, i] = e_tot / n
            mags[ik, i] = m_tot / n
            if c < len(cfg_idx) and cfg_idx[c] == i:
                configs[ik, c] = sampler.configuration().reshape(lattice.shape)
                c += 1
            if i % 256 == 255:
                prog.update(256)
        prog.update(n_meas % 256)
        t2 = time.perf_counter()
        updates = sampler.flipped - flipped0 if isinstance(sampler, Wolff) else n_meas * every * n
        diag["seconds"].append(t2 - t0)
        diag["spin_updates_per_second"].append(updates / max(t2 - t1, 1e-12))
        for name, value in sampler.diagnostics().items():
            diag.setdefault(name, []).append(value)
        per_point.append(estimates_from_series(energies[ik], mags[ik], float(k), n))
    prog.close()
    result = MCResult(
        parameter="coupling",
        values=ks,
        series={"energy": energies, "magnetization": mags},
        estimates=_stack_stats(per_point),
        meta={"coupling": ("1", "K = J/T"), **META},
        diagnostics={name: np.asarray(v, dtype=np.float64) for name, v in diag.items()},
        attrs={
            "system": "ising",
            "lattice": job["lattice"],
            "L": job["L"],
            "n_spins": n,
            "n_bonds": lattice.n_bonds,
            "update": job["update"],
            "backend": job["backend"],
        },
    )
    if len(cfg_idx):
        result.samples["spins"] = configs
        result.sample_attrs = {
            "shape": lattice.shape,
            "layout": (
                "[y, x]"
                if lattice.kind == "square"
                else "[sublattice (corner, horizontal bond, vertical bond), y, x]"
            ),
            "measurement_index": cfg_idx,
            "sweeps_between_measurements": every,
        }
    return result
