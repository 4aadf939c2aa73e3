"""The 0+1D field's Monte Carlo job as an :class:`~rgpipe.mc.output.MCResult`.

One job is one lattice spacing a = beta/n_tau, so the parameter axis has a single
point (``/parameters/a``) and every estimate is a scalar, except the correlator C(tau)
and the effective mass, which run along ``/parameters/tau`` and
``/parameters/tau_effective_mass``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from rgpipe.mc.output import MCResult
from rgpipe.stats import Stats

META = {
    "a": ("1/energy", "lattice spacing a = beta / n_tau"),
    "x": ("length", "<x>, averaged over time slices"),
    "x2": ("length^2", "<x^2>"),
    "x4": ("length^4", "<x^4>"),
    "energy": ("energy", "virial estimator <V(x) + x V'(x)/2> = <H>(beta) on the lattice"),
    "energy_thermo": ("energy", "thermodynamic estimator -d ln Z / d beta (same mean)"),
    "gap": ("energy", "E1 - E0 from a cosh fit of C(tau)"),
    "correlator": ("length^2", "C(tau) = <x_0 x_tau>, binned rows"),
    "effective_mass": ("energy", "arccosh-free log-ratio effective mass of C(tau)"),
}


def _leading(st: Stats) -> Stats:
    """Add the (single-point) parameter axis to every field."""
    return Stats(*(np.asarray(getattr(st, f))[None] for f in Stats.__dataclass_fields__))


def oscillator_result(job: dict[str, Any]) -> MCResult:
    """Run a validated ``oscillator_mc_job``; package it for :func:`write_mc`."""
    from rgpipe.mc.oscillator import run_oscillator

    run_job = {k: v for k, v in job.items() if k != "configurations"}
    raw = run_oscillator(run_job)
    meta = raw["meta"]
    numeric = {
        k: np.array([float(v)])
        for k, v in meta.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    result = MCResult(
        parameter="a",
        values=np.array([meta["a"]]),
        series={name: np.asarray(v)[None] for name, v in raw["series"].items()},
        estimates={name: _leading(st) for name, st in raw["estimates"].items()},
        meta={**META, "tau": ("1/energy", "Euclidean time")},
        diagnostics=numeric,
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
