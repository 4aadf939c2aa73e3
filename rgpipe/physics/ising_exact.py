"""Exact finite-lattice results for the 2D Ising model (square and Lieb lattices).

Conventions: H = -J sum_<ij> s_i s_j with J = 1, coupling K = J/T; energies per spin in
units of J; specific heat per spin c = K^2 Var(E)/N; susceptibility per spin
chi = K N <m^2> (zero field, so <m> = 0 on a finite lattice) and the "abs" variant
K N (<m^2> - <|m|>^2).  Bonds as in :mod:`rgpipe.physics.lattice` (periodic; for L = 2
the two bonds joining a pair of sites are both counted, as on any torus).

Three independent routes:

* :func:`enumerate_exact`: brute-force sum over all 2^N states (N <= 24) of any
  :class:`~rgpipe.physics.lattice.Lattice`; gives everything including magnetisation
  moments.
* :func:`kaufman_log_z` and :func:`square_thermo`: Kaufman's (1949) exact partition
  function of the periodic m x n square lattice, evaluated in arbitrary precision, with
  the energy and specific heat from its derivatives.
* :func:`lieb_thermo` and :func:`lieb_magnetisation_moments`: the Lieb lattice through
  the decimation of its bond spins, tanh K_eff = tanh^2 J and
  Z_Lieb(J) = (2 e^{K_eff})^{2N} Z_square(K_eff) with N = L^2 corners, and exact
  magnetisation moments from a sum over corner configurations in which the bond spins
  are traced analytically.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np
from scipy.special import comb, ellipk, logsumexp

from rgpipe.physics.lattice import Lattice, square

K_C_SQUARE = float(np.log1p(np.sqrt(2.0)) / 2.0)
"""Critical coupling of the square lattice, ln(1 + sqrt 2)/2 = 0.44068679..."""

J_C_LIEB = float(np.arccosh(1.0 + np.sqrt(2.0)) / 2.0)
"""Critical coupling of the Lieb lattice, arccosh(1 + sqrt 2)/2 = 0.76428546..."""


@dataclass(frozen=True)
class ExactThermo:
    """Exact expectation values per spin at one coupling (NaN where not available)."""

    energy: float
    specific_heat: float
    abs_m: float = float("nan")
    m2: float = float("nan")
    m4: float = float("nan")
    binder: float = float("nan")
    susceptibility: float = float("nan")
    susceptibility_abs: float = float("nan")


def onsager_energy(k: float) -> float:
    """Energy per spin of the infinite square-lattice Ising model at coupling k (Onsager),
    in units of J; the nearest-neighbour correlation is -onsager_energy(k) / 2."""
    kk = 2 * np.sinh(2 * k) / np.cosh(2 * k) ** 2
    return float(
        -1 / np.tanh(2 * k) * (1 + 2 / np.pi * (2 * np.tanh(2 * k) ** 2 - 1) * ellipk(kk**2))
    )


def _moments_from_distribution(
    log_w: np.ndarray, values: dict[str, np.ndarray], n: int, k: float
) -> ExactThermo:
    """Expectations from log-weights of (energy, magnetisation) classes.

    Args:
        log_w: shape (n_classes,), log of the total Boltzmann weight of each class.
        values: ``E`` (total energy in units of J) and ``M`` (total magnetisation)
            per class, each shape (n_classes,).
        n: number of spins.
        k: coupling K.
    """
    p = np.exp(log_w - logsumexp(log_w))
    e = values["E"] / n
    m = values["M"] / n
    e1, e2 = p @ e, p @ e**2
    am, m2, m4 = p @ np.abs(m), p @ m**2, p @ m**4
    return ExactThermo(
        energy=float(e1),
        specific_heat=float(k**2 * n * (e2 - e1**2)),
        abs_m=float(am),
        m2=float(m2),
        m4=float(m4),
        binder=float(1 - m4 / (3 * m2**2)),
        susceptibility=float(k * n * m2),
        susceptibility_abs=float(k * n * (m2 - am**2)),
    )


def density_of_states(lattice: Lattice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count the states of every (E, M) class by brute force.

    Returns:
        (E, M, count): total energy -sum_bonds s_i s_j, total magnetisation and the
        number of states, each an int64 array of shape (n_classes,).
    """
    n = lattice.n_sites
    if n > 24:
        raise ValueError(f"brute-force enumeration of {n} spins is too large (max 24)")
    states = np.arange(1 << n, dtype=np.int64)
    spins = (((states[:, None] >> np.arange(n)) & 1) * 2 - 1).astype(np.int8)
    a, b = lattice.bonds[:, 0], lattice.bonds[:, 1]
    energy = -(spins[:, a].astype(np.int64) * spins[:, b]).sum(axis=1)
    mag = spins.sum(axis=1, dtype=np.int64)
    pairs, count = np.unique(np.stack([energy, mag], 1), axis=0, return_counts=True)
    return pairs[:, 0], pairs[:, 1], count.astype(np.int64)


def enumerate_exact(lattice: Lattice, k: float) -> ExactThermo:
    """All exact expectations by brute-force enumeration (n_sites <= 24)."""
    energy, mag, count = density_of_states(lattice)
    log_w = np.log(count) - k * energy
    return _moments_from_distribution(log_w, {"E": energy, "M": mag}, lattice.n_sites, k)


def kaufman_log_z(m: int, n: int, k: mpmath.mpf | float) -> mpmath.mpf:
    """ln Z of the periodic m x n square-lattice Ising model (Kaufman 1949).

    Z = 1/2 (2 sinh 2K)^{mn/2} [prod 2cosh(m g_{2r+1}/2) + prod 2sinh(m g_{2r+1}/2)
        + prod 2cosh(m g_{2r}/2) + prod 2sinh(m g_{2r}/2)],  r = 0..n-1,
    cosh g_q = cosh 2K coth 2K - cos(pi q / n) with g_q > 0, except g_0 = 2K + ln tanh K,
    which changes sign at K_c (this sign matters in the last product).
    Works in the current mpmath precision; ``k`` must be > 0.
    """
    k = mpmath.mpf(k)
    c = mpmath.cosh(2 * k) / mpmath.tanh(2 * k)

    def gamma(q: int) -> mpmath.mpf:
        if q == 0:
            return 2 * k + mpmath.log(mpmath.tanh(k))
        return mpmath.acosh(c - mpmath.cos(mpmath.pi * q / n))

    odd = [gamma(2 * r + 1) for r in range(n)]
    even = [gamma(2 * r) for r in range(n)]
    z1 = mpmath.fprod(2 * mpmath.cosh(m * g / 2) for g in odd)
    z2 = mpmath.fprod(2 * mpmath.sinh(m * g / 2) for g in odd)
    z3 = mpmath.fprod(2 * mpmath.cosh(m * g / 2) for g in even)
    z4 = mpmath.fprod(2 * mpmath.sinh(m * g / 2) for g in even)
    pref = (m * n / mpmath.mpf(2)) * mpmath.log(2 * mpmath.sinh(2 * k))
    return pref + mpmath.log((z1 + z2 + z3 + z4) / 2)


def _thermo_from_log_z(log_z, k: float, n_spins: int, dps: int) -> ExactThermo:
    """Energy and specific heat per spin from derivatives of ln Z(K)."""
    with mpmath.workdps(dps):
        d1 = mpmath.diff(log_z, mpmath.mpf(k), 1)
        d2 = mpmath.diff(log_z, mpmath.mpf(k), 2)
        return ExactThermo(
            energy=float(-d1 / n_spins),
            specific_heat=float(mpmath.mpf(k) ** 2 * d2 / n_spins),
        )


def square_thermo(L: int, k: float, dps: int = 40) -> ExactThermo:
    """Exact energy and specific heat per spin of the periodic L x L square lattice."""
    if k <= 0:
        raise ValueError(f"Kaufman's formula needs K > 0, got {k}")
    return _thermo_from_log_z(lambda x: kaufman_log_z(L, L, x), k, L * L, dps)


def lieb_log_z(L: int, j: mpmath.mpf | float) -> mpmath.mpf:
    """ln Z of the Lieb lattice (L x L cells) by decimation of the bond spins."""
    j = mpmath.mpf(j)
    k_eff = mpmath.atanh(mpmath.tanh(j) ** 2)
    n = L * L
    return 2 * n * (mpmath.log(2) + k_eff) + kaufman_log_z(L, L, k_eff)


def lieb_thermo(L: int, j: float, dps: int = 40) -> ExactThermo:
    """Exact energy and specific heat per spin (all 3 L^2 spins) of the Lieb lattice."""
    if j <= 0:
        raise ValueError(f"the decimation formula needs J > 0, got {j}")
    return _thermo_from_log_z(lambda x: lieb_log_z(L, x), j, 3 * L * L, dps)


def _binomial_log_pmf(n: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
    """log P(k up of n) for a binomial, as a dense (n_classes, n_max+1) table."""
    kk = np.arange(int(n.max()) + 1)
    with np.errstate(divide="ignore"):
        logc = np.log(comb(n[:, None], kk[None, :]))
        out = logc + kk * np.log(p) + (n[:, None] - kk) * np.log1p(-p)
    out[kk[None, :] > n[:, None]] = -np.inf
    return kk, out


def lieb_magnetisation_moments(L: int, j: float) -> ExactThermo:
    """Exact <|m|>, <m^2>, <m^4>, Binder and susceptibilities of the Lieb lattice.

    Sums over the 2^(L^2) corner configurations (L <= 4), grouped by the corner
    magnetisation and the numbers n_+ / n_- of corner-corner bonds with both corners
    up / down.  Given the corners, each bond spin is independent: up with probability
    p = e^{2J}/(2 cosh 2J) on an (up, up) bond, 1 - p on (down, down), 1/2 otherwise,
    with weight 2cosh 2J or 2 per bond.  Energy and specific heat come from
    :func:`lieb_thermo`.
    """
    if L > 4:
        raise ValueError(f"corner enumeration is limited to L <= 4, got {L}")
    n_c = L * L
    n_b = 2 * n_c
    lat = square(L)
    states = np.arange(1 << n_c, dtype=np.int64)
    up = ((states[:, None] >> np.arange(n_c)) & 1).astype(np.int64)
    a, b = lat.bonds[:, 0], lat.bonds[:, 1]
    n_plus = (up[:, a] & up[:, b]).sum(1)
    n_minus = ((1 - up[:, a]) & (1 - up[:, b])).sum(1)
    m_corner = 2 * up.sum(1) - n_c
    keys, count = np.unique(np.stack([m_corner, n_plus, n_minus], 1), axis=0, return_counts=True)
    mc, npl, nmi = keys.T
    nze = n_b - npl - nmi
    log_w_cls = np.log(count) + (npl + nmi) * np.log(2 * np.cosh(2 * j)) + nze * np.log(2.0)
    p = np.exp(2 * j) / (2 * np.cosh(2 * j))
    # distribution of the number of up bond spins: Bin(n+, p) * Bin(n-, 1-p) * Bin(n0, 1/2)
    n_tot_up = np.arange(n_b + 1)
    log_pu = np.full((len(keys), n_b + 1), -np.inf)
    _, lp_plus = _binomial_log_pmf(npl, p)
    _, lp_minus = _binomial_log_pmf(nmi, 1 - p)
    _, lp_zero = _binomial_log_pmf(nze, 0.5)
    for i in range(len(keys)):
        conv = np.full(n_b + 1, -np.inf)
        conv[: npl[i] + 1] = lp_plus[i, : npl[i] + 1]
        for part, nn in ((lp_minus[i], nmi[i]), (lp_zero[i], nze[i])):
            new = np.full(n_b + 1, -np.inf)
            for u in range(nn + 1):
                new[u:] = np.logaddexp(new[u:], conv[: n_b + 1 - u] + part[u])
            conv = new
        log_pu[i] = conv
    log_w = (log_w_cls[:, None] + log_pu).ravel()
    mag = (mc[:, None] + 2 * n_tot_up[None, :] - n_b).ravel()
    keep = np.isfinite(log_w)
    n_spins = 3 * n_c
    mom = _moments_from_distribution(
        log_w[keep], {"E": np.zeros(keep.sum()), "M": mag[keep]}, n_spins, j
    )
    th = lieb_thermo(L, j)
    return ExactThermo(
        energy=th.energy,
        specific_heat=th.specific_heat,
        abs_m=mom.abs_m,
        m2=mom.m2,
        m4=mom.m4,
        binder=mom.binder,
        susceptibility=mom.susceptibility,
        susceptibility_abs=mom.susceptibility_abs,
    )


def exact_thermo(kind: str, L: int, k: float) -> ExactThermo:
    """Best available exact results for a lattice: full moments where feasible.

    square: enumeration for L <= 4, otherwise Kaufman (energy, specific heat only).
    lieb: decimation for energy and specific heat plus corner enumeration of the
    magnetisation moments for L <= 4.
    """
    if kind == "square":
        return enumerate_exact(square(L), k) if L <= 4 else square_thermo(L, k)
    if kind == "lieb":
        return lieb_magnetisation_moments(L, k) if L <= 4 else lieb_thermo(L, k)
    raise ValueError(f"unknown lattice {kind!r}")


__all__ = [
    "J_C_LIEB",
    "K_C_SQUARE",
    "ExactThermo",
    "density_of_states",
    "enumerate_exact",
    "exact_thermo",
    "kaufman_log_z",
    "lieb_log_z",
    "lieb_magnetisation_moments",
    "lieb_thermo",
    "square_thermo",
]
