"""The 0+1D field's Monte Carlo driver: one lattice spacing a = beta/n_tau and seed.

:func:`simulate` samples a validated job (:func:`rgpipe.mc.systems.validate_job`, defaults
filled) and analyses it (scalar observables, the correlator C(tau), the gap from a cosh
fit); :func:`run` packages it as an :class:`~rgpipe.mc.output.MCResult`: the parameter
axis has a single point (``/parameters/a``) and every estimate is a scalar, except the
correlator C(tau) and the effective mass, which run along ``/parameters/tau`` and
``/parameters/tau_effective_mass``.  The updates are described in :mod:`.kernels`.

Default moves: ``hmc+reflect`` for even potentials, ``hmc`` otherwise.  During
thermalisation the Metropolis step is tuned towards 50 % acceptance and the number of HMC
steps is increased while the acceptance is below 70 %; both are frozen before measuring.

Random numbers: one xoshiro256** stream (:mod:`rgpipe.mc.rng`) derived from the job's
seed with numpy SeedSequence; the whole chain runs in one numba kernel call per block,
so a seed gives bit-identical output.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from rgpipe.mc.oscillator.fourier import cyclic_factor
from rgpipe.mc.oscillator.kernels import SCALARS, run_sweeps
from rgpipe.mc.oscillator.references import references
from rgpipe.mc.oscillator.spec import moves
from rgpipe.mc.output import MCResult, Status
from rgpipe.mc.rng import stream_key, stream_states
from rgpipe.physics.oscillator import (
    EFFECTIVE_MASS_STATUS,
    GAP_STATUS,
    Potential,
    correlator,
    correlator_weights,
    effective_mass_stats,
    gap_stats,
    gap_status,
    potential_from_spec,
    series_stats,
    well_frequency,
)
from rgpipe.physics.oscillator_exact import gap_fit_window
from rgpipe.stats import Stats, gamma_method

META = {
    "a": ("1/energy", "lattice spacing a = beta / n_tau"),
    "x": ("length", "<x>, averaged over time slices"),
    "x2": ("length^2", "<x^2>"),
    "x4": ("length^4", "<x^4>"),
    "energy": ("energy", "virial estimator <V(x) + x V'(x)/2> = <H>(beta) on the lattice"),
    "energy_thermo": ("energy", "thermodynamic estimator -d ln Z / d beta (same mean)"),
    "gap": ("energy", "E1 - E0 from a cosh fit of C(tau)"),
    "correlator": ("length^2", "C(tau) = <x_0 x_tau>, binned rows"),
    "effective_mass": ("energy", "effective mass arccosh((C(k-1) + C(k+1)) / (2 C(k))) / a"),
}
"""Units and description of the parameter and of every series and estimate."""


def _cold_start(pot: Potential, n_tau: int) -> np.ndarray:
    """Every time slice at the global minimum (the right-most one if degenerate)."""
    return np.full(n_tau, pot.global_minimum()[0])


def simulate(job: Mapping[str, Any]) -> dict[str, Any]:
    """Run one Monte Carlo job for the 0+1D field and analyse it.

    Args:
        job: a validated job (options in :mod:`rgpipe.mc.oscillator.spec`), e.g. the
            options ``{"system": "oscillator", "lam": 4, "eta": 1.4, "beta": 20,
            "n_tau": 200, "sweeps": 10000, "seed": 1}`` with defaults filled.

    Returns:
        dict with
        - ``job``: the job with its moves resolved (``update``: '+'-joined, in the order
          they run; null became hmc+reflect or hmc);
        - ``series``: float64 arrays ``x, x2, x4, energy, energy_thermo`` of shape
          (n_meas,), one value per measurement, and ``correlator`` of shape
          (n_rows, N//2 + 1), bin averages of ``correlator_bin`` measurements;
        - ``estimates``: Stats for ``x, x2, x4, energy`` (virial), ``energy_thermo``,
          ``gap`` (E1 - E0 from the cosh fit), and array Stats ``correlator``
          (N//2 + 1,) and ``effective_mass`` (N//2,);
        - ``status``: :class:`~rgpipe.mc.output.Status` of ``effective_mass`` and ``gap``
          (where and why their error, or mean, is undefined), without the parameter axis;
        - ``references``: :class:`~rgpipe.mc.reference.Reference` of every estimate, the
          exact values of the same lattice (:mod:`.references`), with the parameter axis;
        - ``tau``: (N//2 + 1,) times of the correlator; ``tau_effective_mass`` (N//2,);
        - ``meta``: lattice spacing, potential, update details, acceptance rates,
          gap window and method, timings (s).
    """
    t_start = time.perf_counter()
    mass, beta, n_tau = float(job["mass"]), float(job["beta"]), job["n_tau"]
    pot = potential_from_spec(job, mass)
    update = moves(job["update"], pot.is_even)
    a = beta / n_tau
    ka = mass / a
    coeffs = np.ascontiguousarray(pot.coeffs, dtype=np.float64)
    parts = update.split("+")
    use_hmc, use_metro, use_reflect = ("hmc" in parts, "metropolis" in parts, "reflect" in parts)
    omega = well_frequency(pot, mass)
    fourier = bool(job["fourier_acceleration"])
    fa_diag, fa_off = 2.0 * ka + a * mass * omega**2, -ka
    fa_mass = math.sqrt(a * mass) * omega
    den, cp, z = cyclic_factor(n_tau, fa_diag, fa_off)
    n_steps = job["hmc_steps"]
    length = float(job["hmc_length"])
    delta = job["metropolis_step"] or 2.0 * math.sqrt(a / (2.0 * mass))
    state = stream_states(job["seed"], (stream_key("oscillator", "chain"),), 1)[0]
    x = _cold_start(pot, n_tau)
    empty_s = np.empty((0, len(SCALARS)))
    empty_c = np.empty((0, n_tau))

    def sweeps(n: int, every: int, scal: np.ndarray, conf: np.ndarray) -> np.ndarray:
        counts = np.zeros(4, dtype=np.int64)
        run_sweeps(
            x, coeffs, ka, a, use_hmc, use_metro, use_reflect, length / n_steps, n_steps,
            fourier, fa_diag, fa_off, fa_mass, den, cp, z, delta, n, every, state, scal, conf,
            counts,
        )  # fmt: skip
        return counts

    # thermalisation in blocks, tuning the Metropolis step and the HMC step count
    block = 50
    done = 0
    while done < job["thermalization"]:
        nb_ = min(block, job["thermalization"] - done)
        counts = sweeps(nb_, 1, empty_s, empty_c)
        done += nb_
        if use_metro and job["metropolis_step"] is None:
            delta *= math.exp(counts[1] / (nb_ * n_tau) - 0.5)
        if use_hmc and counts[0] < 0.7 * nb_ and n_steps < 1000:
            n_steps = math.ceil(n_steps * 1.25)
    t_therm = time.perf_counter() - t_start

    n_meas = job["sweeps"] // job["measure_every"]
    bin_size = max(1, -(-n_meas // job["correlator_rows"]))
    n_rows = n_meas // bin_size
    scalars = np.empty((n_meas, len(SCALARS)))
    corr = np.zeros((n_rows, n_tau // 2 + 1))
    chunk = bin_size * max(1, 4096 // bin_size)
    totals = np.zeros(4, dtype=np.int64)
    row = 0
    while row < n_meas:
        m = min(chunk, n_meas - row)
        conf = np.empty((m, n_tau))
        totals += sweeps(
            m * job["measure_every"], job["measure_every"], scalars[row : row + m], conf
        )
        c = correlator(conf)
        first_bin, nfull = row // bin_size, m // bin_size
        nfull = min(nfull, n_rows - first_bin)
        if nfull > 0:
            corr[first_bin : first_bin + nfull] = (
                c[: nfull * bin_size].reshape(nfull, bin_size, -1).mean(axis=1)
            )
        row += m
    t_run = time.perf_counter() - t_start - t_therm

    series = {name: scalars[:, k].copy() for k, name in enumerate(SCALARS)}
    estimates: dict[str, Stats] = {name: gamma_method(series[name]) for name in SCALARS}
    series["correlator"] = corr
    estimates["correlator"] = series_stats(corr)
    estimates["effective_mass"], mass_status = effective_mass_stats(corr, a)
    weights = correlator_weights(corr)
    x_bins = None
    if not pot.is_even:
        x_bins = series["x"][: n_rows * bin_size].reshape(n_rows, bin_size).mean(axis=1)

    @functools.cache  # the window scan has already fitted the window it returns
    def gap_from(window: tuple[int, int]) -> Stats:
        return gap_stats(corr, a, beta, window, x_mean=x_bins, weights=weights)

    if job["gap_tmin"] is None:
        window = gap_fit_window(
            pot, mass, beta, n_tau, weights=weights,
            stat_error=lambda k: gap_from((k, n_tau // 2)).error_of_mean,
        )  # fmt: skip
    else:
        kmin = min(max(1, round(job["gap_tmin"] / a)), n_tau // 2 - 1)
        window = (kmin, n_tau // 2)
    estimates["gap"] = gap_from(window)
    status = {
        "effective_mass": Status(mass_status, EFFECTIVE_MASS_STATUS),
        "gap": Status(np.int8(gap_status(estimates["gap"])), GAP_STATUS),
    }
    t_total = time.perf_counter() - t_start

    sweeps_total = job["thermalization"] + n_meas * job["measure_every"]
    meta = {
        "a": a,
        "potential": pot.spec(),
        "update": update,
        "energy_estimator": "virial: V(x) + x V'(x)/2 averaged over time slices",
        "fourier_acceleration": fourier if use_hmc else None,
        "fourier_omega": omega if use_hmc and fourier else None,
        "hmc_steps": n_steps if use_hmc else None,
        "hmc_step_size": length / n_steps if use_hmc else None,
        "metropolis_step": delta if use_metro else None,
        "acceptance_hmc": float(totals[0] / totals[3]) if use_hmc else None,
        "acceptance_metropolis": float(totals[1] / (totals[3] * n_tau)) if use_metro else None,
        "reflect_segments_per_sweep": float(totals[2] / totals[3]) if use_reflect else None,
        "n_measurements": n_meas,
        "correlator_bin": bin_size,
        "gap_window": [float(window[0] * a), float(window[1] * a)],
        "gap_method": "cosh fit A cosh(dE (tau - beta/2)) of "
        + ("C(tau)" if pot.is_even else "C(tau) - <x>^2")
        + " weighted by inverse variances; Gamma-method errors (derived)",
        "seconds_thermalization": t_therm,
        "seconds_measurement": t_run,
        "seconds_total": t_total,
        "sweeps_per_second": sweeps_total / max(t_therm + t_run, 1e-12),
    }
    tau = np.arange(n_tau // 2 + 1) * a
    return {
        "job": {**job, "update": update},
        "series": series,
        "estimates": estimates,
        "status": status,
        "references": references(pot, mass, beta, n_tau, a),
        "tau": tau,
        "tau_effective_mass": tau[1:],
        "meta": meta,
    }


TIMINGS = ("seconds_thermalization", "seconds_measurement", "seconds_total", "sweeps_per_second")
"""Wall-clock facts of a run (written under /provenance: volatile)."""


def _leading(st: Stats) -> Stats:
    """Add the (single-point) parameter axis to every field."""
    return Stats(*(np.asarray(getattr(st, f))[None] for f in Stats.__dataclass_fields__))


def run(job: dict[str, Any], device: str = "auto", progress: bool = True) -> MCResult:
    """Run a validated ``oscillator_mc_job`` and package it for
    :func:`~rgpipe.mc.output.write_mc` (``device`` is not used; one point: no progress
    report)."""
    raw = simulate(job)
    meta = {k: v for k, v in raw["meta"].items() if k not in TIMINGS}
    numeric = {
        k: np.array([float(v)])
        for k, v in meta.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    timings = {k: np.array([float(raw["meta"][k])]) for k in TIMINGS}
    result = MCResult(
        parameter="a",
        values=np.array([meta["a"]]),
        series={name: np.asarray(v)[None] for name, v in raw["series"].items()},
        estimates={name: _leading(st) for name, st in raw["estimates"].items()},
        references=raw["references"],
        status={
            name: Status(np.asarray(st.codes)[None], st.meanings)
            for name, st in raw["status"].items()
        },
        meta={**META, "tau": ("1/energy", "Euclidean time")},
        diagnostics=numeric,
        timings=timings,
        attrs={
            "system": "oscillator",
            "beta": job["beta"],
            "n_tau": job["n_tau"],
            "n_spins": job["n_tau"],
            "meta_json": json.dumps(meta, sort_keys=True),
        },
        axes={"tau": raw["tau"], "tau_effective_mass": raw["tau_effective_mass"]},
    )
    return result
