"""Exact reference values for 2D lattice phi^4 (form and observables as in rgpipe.physics.phi4).

* :func:`gaussian_exact` -- lam = 0, any L: S = phi^T M phi with
  M = 1 - (beta/2) A (A the adjacency matrix counting bonds), so
  <phi_x phi_y> = (1/2) M^{-1}_{xy}, diagonal in momentum space:
  G(r) = (1/2N) sum_k e^{i k r} / (1 - beta (cos k_x + cos k_y)), by FFT on the torus.
  Wick's theorem gives every moment (m is Gaussian).
* :func:`ising_limit_exact` -- the lam -> infinity limit: phi_x = +-1, the Ising model with
  K = beta, by exact enumeration of all 2^N states (N <= 20).
* :func:`two_by_two_exact` -- the 2 x 2 torus at any (beta, lam): the 4-dimensional
  integral by a tensor-product trapezoidal rule (spectrally accurate for this smooth,
  super-exponentially decaying integrand), reduced exactly to a 2-dimensional sum: on the
  2 x 2 torus the hopping term is 2 beta (a + d)(b + c) for sites a = (0,0), b = (1,0),
  c = (0,1), d = (1,1), so a and d are independent given u = b + c.
  :func:`two_by_two_bruteforce` is the plain 4-dimensional sum on the same grid (the check).
* :func:`single_site_moments` -- moments of p(x) ~ exp(-[x^2 + lam (x^2-1)^2 - b x]), the
  distribution a local update samples at fixed neighbours.

Every function returns plain floats keyed by the estimate names of rgpipe.physics.phi4.
"""

from __future__ import annotations

import math

import numpy as np

from rgpipe.physics.lattice import Lattice, square
from rgpipe.physics.phi4 import gaussian_stability_interval


def check_gaussian_stable(L: int, beta: float) -> None:
    """Raise ValueError if the lam = 0 action at ``beta`` is unbounded on the L x L torus."""
    lo, hi = gaussian_stability_interval(L)
    if not lo < beta < hi:
        raise ValueError(
            f"unstable Gaussian: beta = {beta!r} with lam = 0 on the {L} x {L} torus needs "
            f"{lo:.6g} < beta < {hi:.6g} (the quadratic form M has an eigenvalue <= 0)"
        )


def gaussian_kernel(L: int, beta: float) -> np.ndarray:
    """Eigenvalues of M, 1 - beta (cos k_x + cos k_y), shape (L, L) indexed [k_y, k_x]."""
    c = np.cos(2.0 * np.pi * np.arange(L) / L)
    return 1.0 - beta * (c[:, None] + c[None, :])


def gaussian_propagator(L: int, beta: float) -> np.ndarray:
    """Exact <phi_0 phi_r> at lam = 0, shape (L, L) indexed [r_y, r_x].

    Raises:
        ValueError: for an unstable Gaussian (see :func:`check_gaussian_stable`).
    """
    check_gaussian_stable(L, beta)
    return np.real(np.fft.ifft2(0.5 / gaussian_kernel(L, beta)))


def gaussian_exact(L: int, beta: float) -> dict[str, float]:
    """Exact lam = 0 expectation values on the L x L torus (estimate names of phi4.META)."""
    g = gaussian_propagator(L, beta)
    n = L * L
    g0 = float(g[0, 0])
    m2 = 0.5 / (n * (1.0 - 2.0 * beta))  # (1/N^2) sum_xy G = G~(k=0) / N
    hop = float(g[0, 1 % L] + g[1 % L, 0])
    s = 0.5  # <phi^T M phi> / N = Tr(M M^{-1}/2) / N
    return {
        "phi2": g0,
        "phi4": 3.0 * g0 * g0,
        "hop": hop,
        "action": s,
        "m": 0.0,
        "m2": m2,
        "m4": 3.0 * m2 * m2,
        "abs_m": math.sqrt(2.0 * m2 / math.pi),
        "binder": 0.0,
        "chi": n * m2,
        "chi_connected": n * m2 * (1.0 - 2.0 / math.pi),
        "specific_heat": 0.5,  # N Var(S/N) = Var(S)/N = (N/2)/N for a quadratic action
    }


def ising_limit_exact(K: float, lattice: Lattice | int) -> dict[str, float]:
    """Exact Ising expectation values by enumerating all 2^N states (N <= 20).

    Weight exp(K sum_bonds s_i s_j); the estimate names follow phi4.META for phi = s
    (``hop`` = (1/N) sum_bonds s_i s_j, ``phi2`` = ``phi4`` = 1), the lam -> infinity limit
    of phi^4 at beta = K.  No ``action`` or ``specific_heat``: at large lam the stiff radial
    mode adds 1/2 per site to both (equipartition), so they have no Ising limit.

    Args:
        K: Ising coupling (= beta of the phi^4 form in the lam -> infinity limit).
        lattice: a Lattice, or L for the L x L square lattice.
    """
    lat = square(lattice) if isinstance(lattice, int | np.integer) else lattice
    n = lat.n_sites
    if n > 20:
        raise ValueError(f"exact enumeration limited to N <= 20 spins, got N = {n}")
    states = np.arange(2**n, dtype=np.int64)
    spins = (1 - 2 * ((states[:, None] >> np.arange(n)) & 1)).astype(np.int8)
    bond = np.zeros(2**n, dtype=np.int64)
    for a, b in lat.bonds:
        bond += spins[:, a] * spins[:, b]
    mag = spins.sum(axis=1, dtype=np.int64) / n
    logw = K * bond
    w = np.exp(logw - logw.max())
    w /= w.sum()
    hop = bond / n
    m2 = float(w @ mag**2)
    m4 = float(w @ mag**4)
    am = float(w @ np.abs(mag))
    e = float(w @ hop)
    return {
        "phi2": 1.0,
        "phi4": 1.0,
        "hop": e,
        "m": float(w @ mag),
        "m2": m2,
        "m4": m4,
        "abs_m": am,
        "binder": 1.0 - m4 / (3.0 * m2 * m2),
        "chi": n * m2,
        "chi_connected": n * (m2 - am * am),
        "log_z": float(math.log(np.exp(logw - logw.max()).sum()) + logw.max()),
    }


def _single_site_potential(x: np.ndarray, lam: float) -> np.ndarray:
    """x^2 + lam (x^2 - 1)^2."""
    return x * x + lam * (x * x - 1.0) ** 2


def quadrature_grid(beta: float, lam: float, h: float | None = None) -> np.ndarray:
    """Uniform nodes (odd count, symmetric about 0) for the 2 x 2 torus integral.

    The range [-R, R] is chosen from the bound S >= sum_x [lam x^4 + (1 - 2 lam - 2|beta|) x^2]
    + 4 lam (2|ab| <= a^2 + b^2 on every bond): outside it the integrand is below e^-60 of
    its maximum.  The spacing h defaults to half the narrowest single-site width
    1/sqrt(V''(x0)), V(x) = x^2 + lam (x^2 - 1)^2, at x0 = 1 or at the minimum of the bound
    if that lies further out (capped at 0.05), so the trapezoidal error,
    ~ exp(-2 pi^2 (width/h)^2) for this analytic integrand, is far below double precision.

    Raises:
        ValueError: for lam < 0 or an unstable Gaussian at lam = 0.
    """
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    c2 = 1.0 - 2.0 * lam - 2.0 * abs(beta)
    if lam == 0:
        check_gaussian_stable(2, beta)

    def bound(x: float) -> float:
        return lam * x**4 + c2 * x * x

    x0sq = max(1.0, -c2 / (2.0 * lam)) if lam > 0 else 1.0  # where the bound is lowest
    umin = bound(math.sqrt(x0sq)) if (lam > 0 and c2 < 0) else 0.0
    r = math.sqrt(x0sq)
    while bound(r) - umin < 60.0:
        r *= 1.05
    if h is None:
        curvature = max(2.0 + 8.0 * lam, 2.0 + lam * (12.0 * x0sq - 4.0))
        h = min(0.05, 0.5 / math.sqrt(curvature))
    k = math.ceil(r / h)
    return h * np.arange(-k, k + 1, dtype=np.float64)


def _log_conditional(x: np.ndarray, beta: float, lam: float, kmax: int) -> tuple:
    """Per u = b + c on the grid of pair sums: log F_0(u) and E[a^k | u] for k <= kmax.

    F_0(u) = sum_a w(a) exp(2 beta a u), w(a) = exp(-V(a)); the uniform grid makes the pair
    sums u_{i+j} = x_i + x_j a grid of 2 n - 1 points.
    """
    n = x.size
    h = x[1] - x[0]
    u = x[0] * 2.0 + h * np.arange(2 * n - 1)
    logw = -_single_site_potential(x, lam)
    expo = logw[None, :] + 2.0 * beta * u[:, None] * x[None, :]  # (2n-1, n)
    shift = expo.max(axis=1)
    p = np.exp(expo - shift[:, None])
    f0 = p.sum(axis=1)
    mom = np.stack([(p * x[None, :] ** k).sum(axis=1) / f0 for k in range(kmax + 1)])
    return np.log(f0) + shift, mom


def two_by_two_exact(beta: float, lam: float, h: float | None = None) -> dict[str, float]:
    """Exact expectation values on the 2 x 2 torus by quadrature (see module docstring).

    Returns the keys ``phi2``, ``phi4``, ``hop``, ``action``, ``m``, ``m2``, ``m4``,
    ``binder``, ``chi`` (no ``abs_m``: not a polynomial moment).

    Args:
        h: grid spacing (default from :func:`quadrature_grid`).
    """
    return two_by_two_on_grid(beta, lam, quadrature_grid(beta, lam, h))


def two_by_two_on_grid(beta: float, lam: float, x: np.ndarray) -> dict[str, float]:
    """:func:`two_by_two_exact` on given uniform nodes ``x`` (ascending, equally spaced);
    equals :func:`two_by_two_bruteforce` on the same nodes to rounding."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    logf0, mom = _log_conditional(x, beta, lam, 4)
    idx = np.arange(n)[:, None] + np.arange(n)[None, :]  # u index of (b, c)
    logw = -_single_site_potential(x, lam)
    logp = logw[:, None] + logw[None, :] + 2.0 * logf0[idx]
    p = np.exp(logp - logp.max())
    p /= p.sum()
    b = x[:, None]
    c = x[None, :]
    u = b + c
    mu = [mom[k][idx] for k in range(5)]  # E[a^k | u] = E[d^k | u], a and d independent
    # moments of v = a + d given u
    v1 = 2 * mu[1]
    v2 = 2 * mu[2] + 2 * mu[1] ** 2
    v3 = 2 * mu[3] + 6 * mu[2] * mu[1]
    v4 = 2 * mu[4] + 8 * mu[3] * mu[1] + 6 * mu[2] ** 2
    e = lambda q: float(np.sum(p * q))  # noqa: E731
    phi2 = e((b**2 + c**2 + 2 * mu[2]) / 4)
    phi4 = e((b**4 + c**4 + 2 * mu[4]) / 4)
    hop = e(u * v1 / 2)
    s1 = e(u + v1) / 4
    m2 = e(u**2 + 2 * u * v1 + v2) / 16
    m4 = e(u**4 + 4 * u**3 * v1 + 6 * u**2 * v2 + 4 * u * v3 + v4) / 256
    return {
        "phi2": phi2,
        "phi4": phi4,
        "hop": hop,
        "action": -beta * hop + phi2 + lam * (phi4 - 2 * phi2 + 1),
        "m": s1,
        "m2": m2,
        "m4": m4,
        "binder": 1.0 - m4 / (3.0 * m2 * m2),
        "chi": 4 * m2,
    }


def two_by_two_bruteforce(beta: float, lam: float, x: np.ndarray) -> dict[str, float]:
    """The plain 4-dimensional grid sum on nodes ``x`` (cost x.size**4; the check of
    :func:`two_by_two_exact`).  Keys ``phi2``, ``phi4``, ``hop``, ``m2``, ``m4``, ``abs_m``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size > 64:
        raise ValueError(f"brute force limited to 64 nodes per axis, got {x.size}")
    a, b, c, d = np.meshgrid(x, x, x, x, indexing="ij", sparse=True)
    # S = -beta * sum_x sum_mu phi phi_mu + sum V; on 2 x 2 every pair has two bonds
    hop_sum = 2.0 * (a * b + c * d + a * c + b * d)
    v = _single_site_potential(x, lam)
    va, vb, vc, vd = np.meshgrid(v, v, v, v, indexing="ij", sparse=True)
    logw = beta * hop_sum - (va + vb + vc + vd)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    m = (a + b + c + d) / 4
    return {
        "phi2": float(np.sum(w * (a**2 + b**2 + c**2 + d**2)) / 4),
        "phi4": float(np.sum(w * (a**4 + b**4 + c**4 + d**4)) / 4),
        "hop": float(np.sum(w * hop_sum) / 4),
        "m2": float(np.sum(w * m**2)),
        "m4": float(np.sum(w * m**4)),
        "abs_m": float(np.sum(w * np.abs(m))),
    }


def single_site_moments(b: float, lam: float, kmax: int = 4) -> np.ndarray:
    """<x^k>, k = 0..kmax, for p(x) ~ exp(-[x^2 + lam (x^2 - 1)^2 - b x]) (quadrature).

    For lam = 0 this is a Gaussian of mean b/2 and variance 1/2.  Trapezoidal rule on a
    grid with a tenth of the narrowest well width as spacing, over the range where the
    density exceeds e^-60 of its maximum.

    Returns:
        float64 (kmax + 1,) moments (the k = 0 entry is 1).
    """
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")

    def u(x: np.ndarray | float) -> np.ndarray | float:
        return _single_site_potential(x, lam) - b * x

    if lam == 0:
        stat = np.array([b / 2.0])
    else:
        roots = np.roots([4.0 * lam, 0.0, 2.0 - 4.0 * lam, -b])
        stat = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
    curv = max(2.0, float(np.max(2.0 + lam * (12.0 * stat**2 - 4.0))))
    h = 0.1 / math.sqrt(curv)
    umin = float(np.min(u(stat)))
    lo, hi = float(stat[0]) - 1.0, float(stat[-1]) + 1.0
    while u(lo) - umin < 60.0:
        lo -= 0.5
    while u(hi) - umin < 60.0:
        hi += 0.5
    x = np.arange(lo, hi + h, h)
    logp = -(u(x) - umin)
    p = np.exp(logp)
    p /= p.sum()
    return np.array([float(p @ x**k) for k in range(kmax + 1)])
