"""The Ising model's observables: units, definitions and Gamma-method estimates.

Per spin, in units of J = 1 (K = J/T):

* ``energy`` <e>, e = -(1/N) sum_bonds s_i s_j (all N spins; on the Lieb lattice corner
  and decorating spins alike);
* ``abs_m`` <|m|>, ``m2`` <m^2>, ``m4`` <m^4> with m = (1/N) sum_i s_i;
* ``binder`` U = 1 - <m^4> / (3 <m^2>^2);
* ``specific_heat`` c = K^2 N (<e^2> - <e>^2);
* ``susceptibility`` chi = K N <m^2> (the zero-field susceptibility of the finite
  lattice, where <m> = 0) and ``susceptibility_abs`` K N (<m^2> - <|m|>^2).
"""

from __future__ import annotations

import numpy as np

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


def stack_stats(per_point: list[dict[str, Stats]]) -> dict[str, Stats]:
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


def config_indices(n_meas: int, n_cfg: int) -> np.ndarray:
    """Measurement indices at which configurations are stored (evenly spaced)."""
    if n_cfg <= 0:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.linspace(0, n_meas - 1, min(n_cfg, n_meas)).round().astype(np.int64))
