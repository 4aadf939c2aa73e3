"""Exact references for the XY model (conventions of :mod:`rgpipe.physics.xy`).

* The periodic ring of ``N`` sites (``N`` bonds, coupling ``K``): with
  ``exp(K cos a) = sum_n I_n(K) e^{i n a}`` the angle integrals force one common index
  on every bond, so ``Z = (2 pi)^N sum_n I_n(K)^N``.  A twist ``Delta`` on every bond
  gives ``Z(Delta) = (2 pi)^N sum_n I_n(K)^N cos(n N Delta)``, whence the helicity
  modulus ``Upsilon = (1/N) d^2 F/d Delta^2 = T N sum_n n^2 I_n^N / sum_n I_n^N``, and
  inserting ``e^{i (theta_r - theta_0)}`` shifts the index on ``r`` bonds:
  ``<cos(theta_r - theta_0)> = sum_n I_n^{N-r} I_{n+1}^r / sum_n I_n^N``.  Bessel
  functions are used scaled (``ive``), sums run over ``|n| <= 40 + 2 K``.
* Small periodic systems (at most 4 sites, e.g. the 2 x 2 torus and rings of 2 to 4
  sites) by numerical integration: ``theta_0 = 0`` by rotation symmetry and the
  trapezoidal rule on ``n_grid`` points per remaining angle, which converges
  exponentially for these periodic analytic integrands.  The exception is ``abs_m``:
  ``|m|`` has a conical zero where the spins sum to zero, so its error decays only as
  ``n_grid^-3`` (about 1e-6 at 96 points, the torus minimum; checked at K = 0 against
  the mean length of a 4-step planar random walk, ``W_4(1)/4``).

Every function returns per-site quantities in the units of :mod:`rgpipe.physics.xy`:
``energy``, ``specific_heat = K^2 N Var(e)``, ``m2``, ``susceptibility = K N <m2>``,
``helicity_x`` (and on the torus ``abs_m``, ``helicity_y``, ``helicity``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ive

from rgpipe.physics.lattice import square

TWO_PI = 2.0 * np.pi
MAX_QUADRATURE_SITES = 4
MIN_TORUS_GRID = 96


def _check_ring(n_sites: int, coupling: float) -> None:
    if n_sites < 2:
        raise ValueError(f"the ring needs at least 2 sites, got {n_sites}")
    if not (np.isfinite(coupling) and coupling >= 0):
        raise ValueError(f"coupling must be finite and >= 0, got {coupling}")


def _scaled_bessel(coupling: float, extra: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Orders ``n = -M-extra .. M+extra`` and ``ive(n, K) = I_n(K) e^{-K}``."""
    m = int(40 + 2 * coupling) + extra
    n = np.arange(-m, m + 1)
    return n, ive(np.abs(n), coupling)


def ring_log_partition(n_sites: int, coupling: float) -> float:
    """``ln Z`` of the periodic ring, ``Z = (2 pi)^N sum_n I_n(K)^N``."""
    _check_ring(n_sites, coupling)
    _, r = _scaled_bessel(coupling)
    return n_sites * (np.log(TWO_PI) + coupling) + float(np.log(np.sum(r**n_sites)))


def _ring_derivatives(n_sites: int, coupling: float) -> tuple[float, float]:
    """``(d ln Z/dK, d^2 ln Z/dK^2)`` from ``I_n' = (I_{n-1} + I_{n+1})/2``."""
    _check_ring(n_sites, coupling)
    n = n_sites
    _, r = _scaled_bessel(coupling)
    c = r[2:-2]  # I_n, |n| <= M, scaled
    d1 = 0.5 * (r[1:-3] + r[3:-1])  # I_n'
    d2 = 0.25 * (r[:-4] + 2.0 * c + r[4:])  # I_n''
    z = np.sum(c**n)
    z1 = n * np.sum(c ** (n - 1) * d1)
    z2 = n * (n - 1) * np.sum(c ** (n - 2) * d1 * d1) + n * np.sum(c ** (n - 1) * d2)
    g1 = z1 / z
    return float(g1), float(z2 / z - g1 * g1)


def ring_energy(n_sites: int, coupling: float) -> float:
    """Energy per site ``<e> = -(1/N) d ln Z / dK`` (units of J)."""
    return -_ring_derivatives(n_sites, coupling)[0] / n_sites


def ring_specific_heat(n_sites: int, coupling: float) -> float:
    """Specific heat per site ``K^2/N d^2 ln Z/dK^2 = K^2 N Var(e)``."""
    return coupling**2 * _ring_derivatives(n_sites, coupling)[1] / n_sites


def ring_helicity(n_sites: int, coupling: float) -> float:
    """Helicity modulus ``T N sum_n n^2 I_n^N / sum_n I_n^N`` (units of J; 0 at K = 0)."""
    _check_ring(n_sites, coupling)
    if coupling == 0:
        return 0.0
    n, r = _scaled_bessel(coupling)
    w = r**n_sites
    return float(n_sites * np.sum(n * n * w) / np.sum(w) / coupling)


def ring_correlation(n_sites: int, coupling: float, distance: int) -> float:
    """``<cos(theta_{i+r} - theta_i)>`` at distance ``r`` on the ring."""
    _check_ring(n_sites, coupling)
    rr = int(distance) % n_sites
    _, r = _scaled_bessel(coupling)
    c, up = r[1:-1], r[2:]
    return float(np.sum(c ** (n_sites - rr) * up**rr) / np.sum(c**n_sites))


def ring_m2(n_sites: int, coupling: float) -> float:
    """``<m2> = (1/N) sum_{r=0}^{N-1} <cos(theta_r - theta_0)>``."""
    g = [ring_correlation(n_sites, coupling, r) for r in range(n_sites)]
    return float(np.sum(g)) / n_sites


def ring_exact(n_sites: int, coupling: float) -> dict[str, float]:
    """energy, specific_heat, m2, susceptibility, helicity_x of the periodic ring."""
    m2 = ring_m2(n_sites, coupling)
    return {
        "energy": ring_energy(n_sites, coupling),
        "specific_heat": ring_specific_heat(n_sites, coupling),
        "m2": m2,
        "susceptibility": coupling * n_sites * m2,
        "helicity_x": ring_helicity(n_sites, coupling),
    }


def default_grid(coupling: float, bonds_per_site: float = 2.0) -> int:
    """Quadrature points per angle, enough for ~1e-13 relative accuracy.

    The integrand's Fourier modes in one angle decay like those of
    ``exp(2 z K cos a)`` (``z`` bonds per site), i.e. as ``exp(-k^2 / (4 z K))``.
    """
    k = 4.0 * bonds_per_site * max(coupling, 0.0)
    return int(2 * np.ceil((24 + np.sqrt(35.0 * k)) / 2))


def quadrature(
    bonds: np.ndarray, directions: np.ndarray, n_sites: int, coupling: float, n_grid: int
) -> dict[str, float]:
    """Exact expectation values of a tiny periodic XY system by numerical integration.

    Args:
        bonds: int (n_bonds, 2) pairs ``(i, j)``; ``d theta = theta_j - theta_i``.
        directions: int (n_bonds,) 0 for an x bond, 1 for a y bond.
        n_sites: number of sites, 2..4 (``theta_0 = 0``, trapezoid in the others).
        coupling: K >= 0.
        n_grid: points per angle.

    Returns:
        energy, specific_heat, m2, abs_m, susceptibility, and for each direction present
        ``cos_mu``, ``sin2_mu`` and ``helicity_mu`` (per site, conventions of
        :mod:`rgpipe.physics.xy`).
    """
    if not 2 <= n_sites <= MAX_QUADRATURE_SITES:
        raise ValueError(f"quadrature supports 2..{MAX_QUADRATURE_SITES} sites, got {n_sites}")
    bonds = np.asarray(bonds, dtype=np.int64)
    directions = np.asarray(directions, dtype=np.int64)
    dirs = sorted(set(directions.tolist()))
    grid = TWO_PI * np.arange(n_grid) / n_grid
    rest = np.meshgrid(*([grid] * (n_sites - 2)), indexing="ij") if n_sites > 2 else []
    acc: dict[str, float] = {}

    def add(name: str, value: float) -> None:
        acc[name] = acc.get(name, 0.0) + value

    for t1 in grid:  # one slice of theta_1 at a time keeps the memory at n_grid^(N-2)
        shape = rest[0].shape if rest else ()
        theta = [np.zeros(shape), np.full(shape, t1), *rest]
        csum = {mu: np.zeros(shape) for mu in dirs}
        ssum = {mu: np.zeros(shape) for mu in dirs}
        for (i, j), mu in zip(bonds, directions, strict=True):
            d = theta[j] - theta[i]
            csum[mu] = csum[mu] + np.cos(d)
            ssum[mu] = ssum[mu] + np.sin(d)
        ctot = sum(csum.values())
        w = np.exp(coupling * (ctot - len(bonds)))  # shifted: the largest weight is 1
        e = -ctot / n_sites
        m2 = (sum(np.cos(t) for t in theta) ** 2 + sum(np.sin(t) for t in theta) ** 2) / (
            n_sites * n_sites
        )
        add("z", float(np.sum(w)))
        add("energy", float(np.sum(w * e)))
        add("e2", float(np.sum(w * e * e)))
        add("m2", float(np.sum(w * m2)))
        add("abs_m", float(np.sum(w * np.sqrt(m2))))
        for mu in dirs:
            add(f"cos_{'xy'[mu]}", float(np.sum(w * csum[mu])) / n_sites)
            add(f"sin2_{'xy'[mu]}", float(np.sum(w * ssum[mu] ** 2)) / n_sites)
    z = acc.pop("z")
    out = {name: value / z for name, value in acc.items()}
    e2 = out.pop("e2")
    out["specific_heat"] = coupling**2 * n_sites * (e2 - out["energy"] ** 2)
    out["susceptibility"] = coupling * n_sites * out["m2"]
    for mu in dirs:
        name = "xy"[mu]
        out[f"helicity_{name}"] = out[f"cos_{name}"] - coupling * out[f"sin2_{name}"]
    return out


def ring_bonds(n_sites: int) -> tuple[np.ndarray, np.ndarray]:
    """Bonds ``(i, i+1 mod N)`` of the ring and their directions (all x)."""
    i = np.arange(n_sites)
    return np.stack([i, (i + 1) % n_sites], axis=1), np.zeros(n_sites, dtype=np.int64)


def square_bonds(L: int) -> tuple[np.ndarray, np.ndarray]:
    """Bonds ``(i, i+x)`` then ``(i, i+y)`` of the periodic square lattice, directions 0/1."""
    nbr = square(L).neighbors
    i = np.arange(L * L)
    bonds = np.concatenate([np.stack([i, nbr[:, 0]], 1), np.stack([i, nbr[:, 2]], 1)])
    return bonds, np.repeat(np.array([0, 1], dtype=np.int64), L * L)


def torus2x2(coupling: float, n_grid: int | None = None) -> dict[str, float]:
    """Exact observables of the periodic 2 x 2 torus (8 bonds) by numerical integration.

    Returns the keys of :func:`quadrature` plus ``helicity = (helicity_x + helicity_y)/2``.
    Every value is exact to ~1e-13 except ``abs_m`` (~1e-6, see the module docstring);
    the default grid is ``max(MIN_TORUS_GRID, default_grid(K))``.
    """
    if not (np.isfinite(coupling) and coupling >= 0):
        raise ValueError(f"coupling must be finite and >= 0, got {coupling}")
    bonds, dirs = square_bonds(2)
    n = max(MIN_TORUS_GRID, default_grid(coupling)) if n_grid is None else int(n_grid)
    out = quadrature(bonds, dirs, 4, coupling, n)
    out["helicity"] = 0.5 * (out["helicity_x"] + out["helicity_y"])
    return out
