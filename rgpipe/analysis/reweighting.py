"""Multiple-histogram reweighting (Ferrenberg-Swendsen) for discrete energies.

Runs at couplings K_1..K_R sample the Boltzmann weight exp(-K E) of a system whose
total energy E takes discrete values (the Ising model: integers in units of J).
Combining all runs, the density of states on the visited energies is

    Omega(E) = sum_i H_i(E) / g_i  /  sum_j (n_j / g_j) exp(-K_j E - F_j),

with H_i the energy histogram of run i, n_i its number of measurements, g_i = 2 tau_int
its statistical inefficiency and F_j = ln Z(K_j) solved self-consistently.  Any
observable that is a function of the configuration is carried along as per-energy sums,
so <O>(K) = sum_E Omega(E) exp(-K E) Obar(E) / Z(K) is available at every K inside the
sampled range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp


@dataclass
class Histograms:
    """Energy histograms of R runs with per-energy sums of observables.

    Attributes:
        couplings: float64 (R,) K of each run.
        energies: float64 (n_E,) distinct total energies visited (units of J).
        counts: float64 (R, n_E) histogram H_i(E).
        sums: dict name -> float64 (R, n_E) sum of the observable over the samples of
            run i at energy E.
        inefficiency: float64 (R,) g_i >= 1.
    """

    couplings: np.ndarray
    energies: np.ndarray
    counts: np.ndarray
    sums: dict[str, np.ndarray]
    inefficiency: np.ndarray


def build_histograms(
    couplings: np.ndarray,
    energy: np.ndarray,
    observables: dict[str, np.ndarray],
    inefficiency: np.ndarray | None = None,
) -> Histograms:
    """Histogram the samples of every run.

    Args:
        couplings: (R,) couplings.
        energy: (R, n) total energies (must be discrete: exactly representable values).
        observables: name -> (R, n) sample values.
        inefficiency: (R,) g_i; defaults to 1.
    """
    energies, inverse = np.unique(energy, return_inverse=True)
    inverse = inverse.reshape(energy.shape)
    r, n_e = energy.shape[0], len(energies)
    counts = np.zeros((r, n_e))
    sums = {name: np.zeros((r, n_e)) for name in observables}
    for i in range(r):
        counts[i] = np.bincount(inverse[i], minlength=n_e)
        for name, values in observables.items():
            sums[name][i] = np.bincount(inverse[i], weights=values[i], minlength=n_e)
    g = np.ones(r) if inefficiency is None else np.maximum(np.asarray(inefficiency), 1.0)
    return Histograms(np.asarray(couplings, float), energies, counts, sums, g)


@dataclass
class Reweighter:
    """Solved multiple-histogram equations: observables at any coupling in range.

    Attributes:
        log_omega: (n_E,) log density of states (up to a constant) on visited energies.
        energies: (n_E,) the energies.
        obs_mean: name -> (n_E,) mean of the observable at each energy.
        k_range: (min, max) of the sampled couplings.
    """

    log_omega: np.ndarray
    energies: np.ndarray
    obs_mean: dict[str, np.ndarray]
    k_range: tuple[float, float]

    def expectation(self, name: str, k: float | np.ndarray) -> np.ndarray:
        """<O>(K) for the observable ``name`` (``energy`` gives <E>)."""
        k = np.atleast_1d(np.asarray(k, dtype=float))
        log_w = self.log_omega[None, :] - k[:, None] * self.energies[None, :]
        log_w -= logsumexp(log_w, axis=1, keepdims=True)
        values = self.energies if name == "energy" else self.obs_mean[name]
        return np.exp(log_w) @ values


def solve(h: Histograms, tol: float = 1e-10, max_iter: int = 10000) -> Reweighter:
    """Solve the self-consistent equations for the free energies F_j (in log space)."""
    k, e = h.couplings, h.energies
    n_eff = h.counts.sum(axis=1) / h.inefficiency  # (R,)
    numer = np.log(np.maximum((h.counts / h.inefficiency[:, None]).sum(axis=0), 1e-300))
    f = np.zeros(len(k))
    log_n = np.log(n_eff)
    for _ in range(max_iter):
        denom = logsumexp(log_n[:, None] - k[:, None] * e[None, :] - f[:, None], axis=0)
        log_omega = numer - denom
        f_new = logsumexp(log_omega[None, :] - k[:, None] * e[None, :], axis=1)
        f_new -= f_new[0]
        if np.max(np.abs(f_new - f)) < tol:
            f = f_new
            break
        f = f_new
    denom = logsumexp(log_n[:, None] - k[:, None] * e[None, :] - f[:, None], axis=0)
    log_omega = numer - denom
    total = h.counts.sum(axis=0)
    obs_mean = {
        name: np.divide(s.sum(axis=0), total, out=np.zeros_like(total), where=total > 0)
        for name, s in h.sums.items()
    }
    return Reweighter(log_omega, e, obs_mean, (float(k.min()), float(k.max())))
