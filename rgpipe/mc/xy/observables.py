"""The XY model's observables: per-measurement series and Gamma-method estimates.

Definitions and units are those of :mod:`rgpipe.physics.xy`.
"""

from __future__ import annotations

import numpy as np

from rgpipe.stats import Stats, derived, gamma_method

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
"""Units and description of the parameter and of every series and estimate."""

ESTIMATES = (
    "energy",
    "abs_m",
    "m2",
    "specific_heat",
    "susceptibility",
    "helicity_x",
    "helicity_y",
    "helicity",
    "vortex_density",
)
"""Estimates of :func:`rgpipe.mc.xy.driver.simulate` (the ring has no helicity_y and no
vortex_density)."""


def series_from_raw(raw: np.ndarray, coupling: float, n_sites: int, two_d: bool) -> dict:
    """Per-measurement series (float64 (n_meas,)) from the raw sums of
    :func:`rgpipe.mc.xy.kernels.measure`.

    Keys: energy, abs_m, m2, cos_x, sin2_x, helicity_x, helicity, and for the square
    lattice cos_y, sin2_y, helicity_y, vortex_density (definitions in
    :mod:`rgpipe.physics.xy`).
    """
    n = float(n_sites)
    cx, sx, cy, sy, mx, my, nv = raw.T
    m2 = (mx * mx + my * my) / (n * n)
    out = {"energy": -(cx + cy) / n, "abs_m": np.sqrt(m2), "m2": m2}
    dirs = [("x", cx, sx), ("y", cy, sy)] if two_d else [("x", cx, sx)]
    for mu, cs, ss in dirs:
        out[f"cos_{mu}"] = cs / n
        out[f"sin2_{mu}"] = ss * ss / n
        out[f"helicity_{mu}"] = out[f"cos_{mu}"] - coupling * out[f"sin2_{mu}"]
    if two_d:
        out["helicity"] = 0.5 * (out["helicity_x"] + out["helicity_y"])
        out["vortex_density"] = nv / n
    else:
        out["helicity"] = out["helicity_x"].copy()
    return out


def estimates_from_series(series: dict, coupling: float, n_sites: int) -> dict[str, Stats]:
    """Gamma-method :class:`Stats` of every estimate in ``ESTIMATES`` present for the geometry."""
    k, n = float(coupling), float(n_sites)
    e = series["energy"]
    out: dict[str, Stats] = {}
    for name in ESTIMATES:
        if name == "specific_heat":
            out[name] = derived(lambda a: k * k * n * (a[1] - a[0] ** 2), np.stack([e, e * e]))
        elif name == "susceptibility":
            out[name] = gamma_method(k * n * series["m2"])
        elif name in series:
            out[name] = gamma_method(series[name])
    return out


def stack_stats(per_coupling: list[Stats]) -> Stats:
    """Combine per-coupling Stats into one Stats of float64 arrays (n_couplings,)."""
    return Stats(
        *(np.array([getattr(st, f) for st in per_coupling]) for f in Stats.__dataclass_fields__)
    )
