"""The Ising Monte Carlo driver: a coupling sweep at one lattice size and seed.

:func:`run` takes a validated job (:func:`rgpipe.mc.systems.validate_job`, defaults
filled), simulates every coupling from an independent random start and an independent
random stream, and returns an :class:`~rgpipe.mc.output.MCResult` with the energy and
magnetisation series and their Gamma-method estimates (definitions and units in
:mod:`rgpipe.mc.ising.observables`) and the exact values of the same lattice where they are
known (:mod:`rgpipe.mc.ising.references`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rgpipe.mc.ising.observables import META, config_indices, estimates_from_series, stack_stats
from rgpipe.mc.ising.references import references
from rgpipe.mc.ising.samplers import Wolff, make_sampler
from rgpipe.mc.output import MCResult
from rgpipe.mc.rng import stream_key, stream_states
from rgpipe.physics.lattice import make_lattice
from rgpipe.progress import Progress


def run(job: dict[str, Any], device: str = "auto", progress: bool = True) -> MCResult:
    """Simulate the Ising model for every coupling of a validated job.

    Args:
        job: validated ``ising_mc_job`` (lattice, L, couplings, update, backend, sweeps,
            thermalization, measure_every, configurations, seed; defaults filled).
        device: torch device for the torch backend.
        progress: report progress on stderr.
    """
    lattice = make_lattice(job["lattice"], job["L"])
    n = lattice.n_sites
    ks = np.array(sorted(job["couplings"]), dtype=np.float64)
    n_meas = job["sweeps"] // job["measure_every"]
    every = job["measure_every"]
    cfg_idx = config_indices(n_meas, job["configurations"])
    energies = np.empty((len(ks), n_meas))
    mags = np.empty((len(ks), n_meas))
    configs = np.empty((len(ks), len(cfg_idx), *lattice.shape), dtype=np.int8)
    per_point, diag = [], {}
    timings: dict[str, list[float]] = {"seconds": [], "spin_updates_per_second": []}
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
        timings["seconds"].append(t2 - t0)
        timings["spin_updates_per_second"].append(updates / max(t2 - t1, 1e-12))
        for name, value in sampler.diagnostics().items():
            diag.setdefault(name, []).append(value)
        per_point.append(estimates_from_series(energies[ik], mags[ik], float(k), n))
    prog.close()
    result = MCResult(
        parameter="coupling",
        values=ks,
        series={"energy": energies, "magnetization": mags},
        estimates=stack_stats(per_point),
        meta={"coupling": ("1", "K = J/T"), **META},
        diagnostics={name: np.asarray(v, dtype=np.float64) for name, v in diag.items()},
        timings={name: np.asarray(v, dtype=np.float64) for name, v in timings.items()},
        references=references(job["lattice"], job["L"], ks),
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
