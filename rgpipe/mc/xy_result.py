"""The XY model's Monte Carlo job as an :class:`~rgpipe.mc.output.MCResult`."""

from __future__ import annotations

from typing import Any

import numpy as np

from rgpipe.mc.output import MCResult, run_point_by_point

META = {
    "coupling": ("1", "K = J/T"),
    "energy": ("J", "energy per site -(1/N) sum_bonds cos(theta_i - theta_j)"),
    "abs_m": ("1", "|m|, m = (1/N) sum_i (cos theta_i, sin theta_i)"),
    "m2": ("1", "|m|^2"),
    "cos_x": ("J", "(1/N) sum_x-bonds cos(dtheta)"),
    "cos_y": ("J", "(1/N) sum_y-bonds cos(dtheta)"),
    "sin2_x": ("J", "(1/N) (sum_x-bonds sin(dtheta))^2"),
    "sin2_y": ("J", "(1/N) (sum_y-bonds sin(dtheta))^2"),
    "helicity_x": ("J", "helicity modulus along x: <cos_x> - K <sin2_x>"),
    "helicity_y": ("J", "helicity modulus along y: <cos_y> - K <sin2_y>"),
    "helicity": ("J", "(helicity_x + helicity_y)/2 (ring: helicity_x)"),
    "vortex_density": ("1", "(vortices + antivortices) per site"),
    "specific_heat": ("k_B", "specific heat per site K^2 N (<e^2> - <e>^2)"),
    "susceptibility": ("1/J", "K N <|m|^2>"),
}


def xy_result(job: dict[str, Any], progress: bool = True) -> MCResult:
    """Run a validated ``xy_mc_job`` and package the result for :func:`write_mc`."""
    from rgpipe.mc.xy import run_xy

    raw = run_point_by_point(run_xy, dict(job), "couplings", f"xy L={job['L']}", progress)
    shape = raw["configurations"].shape[2:]
    result = MCResult(
        parameter="coupling",
        values=np.asarray(raw["couplings"], dtype=np.float64),
        series=raw["series"],
        estimates=raw["estimates"],
        meta=META,
        diagnostics=raw["diagnostics"],
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
