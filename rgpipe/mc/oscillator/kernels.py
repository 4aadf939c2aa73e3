"""Numba kernels of the 0+1D field Monte Carlo (:mod:`rgpipe.physics.oscillator`).

Updates (one "sweep" applies each selected update once, in this order):

* ``hmc``: one hybrid Monte Carlo trajectory (leapfrog, Metropolis accept/reject).  By
  default Fourier accelerated: the momenta have the mass matrix
  ``M = (m/a) D^T D + a m Omega^2`` (D the periodic forward difference, Omega the well
  frequency), the Hessian of the action of a harmonic well, so every Gaussian mode
  oscillates with the same frequency 1 and a trajectory of length pi/2 decorrelates them
  all whatever a is.  M^{-1} is applied in O(N) (cyclic tridiagonal solve,
  Sherman-Morrison) and p ~ N(0, M) is drawn as sqrt(m/a) D^T xi + sqrt(a m) Omega zeta.
  The step size is jittered by +-10 % per trajectory (independently of the state) to
  avoid resonances.  Without acceleration M = 1.
* ``metropolis``: a sequential sweep of single-site Metropolis proposals
  x_i -> x_i + delta (2u - 1).
* ``reflect``: the tunnelling move for even potentials (V(-x) = V(x)).  With
  x_i = s_i |x_i| the action is an Ising chain in the signs with couplings
  J_i = (m/a) |x_i x_{i+1}| plus terms that do not depend on the signs, so a
  Swendsen-Wang update of the embedded signs (Brower-Tamayo embedding) is exact: a link
  with s_i = s_{i+1} is bonded with probability 1 - exp(-2 J_i); the time segments
  between unbonded links (which sit where the path comes close to x = 0, i.e. at or
  near zero crossings) are reflected x -> -x with probability 1/2 each.  It creates and
  removes instanton/anti-instanton pairs and flips the whole path between the wells at
  no cost, which local and HMC updates cannot do in a deep double well.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from rgpipe.mc.oscillator.fourier import cyclic_solve
from rgpipe.mc.rng import next_double

SCALARS = ("x", "x2", "x4", "energy", "energy_thermo")
"""Per-measurement scalar observables, in the column order of the kernel output."""


@nb.njit(cache=True, inline="always")
def _pot(c: np.ndarray, x: float) -> float:
    """V(x) by Horner's rule (c in increasing powers)."""
    v = 0.0
    for k in range(c.size - 1, -1, -1):
        v = v * x + c[k]
    return v


@nb.njit(cache=True, inline="always")
def _dpot(c: np.ndarray, x: float) -> float:
    """V'(x) by Horner's rule."""
    v = 0.0
    for k in range(c.size - 1, 0, -1):
        v = v * x + k * c[k]
    return v


@nb.njit(cache=True)
def _normals(s: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` with independent standard normals (Box-Muller, both outputs used)."""
    n = out.size
    i = 0
    while i < n:
        u1 = 1.0 - next_double(s)  # (0, 1]
        u2 = next_double(s)
        r = math.sqrt(-2.0 * math.log(u1))
        out[i] = r * math.cos(2.0 * math.pi * u2)
        if i + 1 < n:
            out[i + 1] = r * math.sin(2.0 * math.pi * u2)
        i += 2


@nb.njit(cache=True)
def _action(x: np.ndarray, c: np.ndarray, ka: float, a: float) -> float:
    """S = (ka/2) sum (x_{i+1} - x_i)^2 + a sum V(x_i), ka = m/a."""
    n = x.size
    kin = 0.0
    pot = 0.0
    for i in range(n):
        d = x[(i + 1) % n] - x[i]
        kin += d * d
        pot += _pot(c, x[i])
    return 0.5 * ka * kin + a * pot


@nb.njit(cache=True)
def _force(x: np.ndarray, c: np.ndarray, ka: float, a: float, f: np.ndarray) -> None:
    """f_i = -dS/dx_i = -ka (2 x_i - x_{i-1} - x_{i+1}) - a V'(x_i)."""
    n = x.size
    for i in range(n):
        il = i - 1 if i > 0 else n - 1
        ir = i + 1 if i < n - 1 else 0
        f[i] = -ka * (2.0 * x[i] - x[il] - x[ir]) - a * _dpot(c, x[i])


@nb.njit(cache=True)
def _metropolis_sweep(
    x: np.ndarray, c: np.ndarray, ka: float, a: float, delta: float, s: np.ndarray
) -> int:
    """One sequential sweep of single-site Metropolis; returns the number accepted."""
    n = x.size
    acc = 0
    for i in range(n):
        il = i - 1 if i > 0 else n - 1
        ir = i + 1 if i < n - 1 else 0
        xo = x[i]
        xn = xo + delta * (2.0 * next_double(s) - 1.0)
        nb_sum = x[il] + x[ir]
        # kinetic part: (ka/2)[(x-xl)^2 + (x-xr)^2] = ka x^2 - ka x (xl+xr) + const
        ds = ka * (xn * xn - xo * xo - (xn - xo) * nb_sum) + a * (_pot(c, xn) - _pot(c, xo))
        if ds <= 0.0 or next_double(s) < math.exp(-ds):
            x[i] = xn
            acc += 1
    return acc


@nb.njit(cache=True)
def _hmc_trajectory(
    x: np.ndarray,
    c: np.ndarray,
    ka: float,
    a: float,
    eps: float,
    n_steps: int,
    fourier: bool,
    fa_diag: float,
    fa_off: float,
    fa_mass: float,
    den: np.ndarray,
    cp: np.ndarray,
    z: np.ndarray,
    s: np.ndarray,
    work: np.ndarray,
) -> int:
    """One HMC trajectory; returns 1 if accepted (x updated in place), else 0.

    ``work`` is scratch of shape (6, N): p, v = M^{-1} p, force, saved x, two normals.
    Fourier acceleration uses M = cyclic tridiagonal(fa_diag, fa_off) with
    p = sqrt(ka) D^T xi + fa_mass zeta, fa_mass = sqrt(a m) Omega.
    """
    n = x.size
    p = work[0]
    v = work[1]
    f = work[2]
    x0 = work[3]
    xi = work[4]
    zeta = work[5]
    for i in range(n):
        x0[i] = x[i]
    _normals(s, xi)
    if fourier:
        _normals(s, zeta)
        sk = math.sqrt(ka)
        for i in range(n):
            il = i - 1 if i > 0 else n - 1
            p[i] = sk * (xi[il] - xi[i]) + fa_mass * zeta[i]
        cyclic_solve(den, cp, z, fa_diag, fa_off, p, v)
    else:
        for i in range(n):
            p[i] = xi[i]
            v[i] = p[i]
    kin0 = 0.0
    for i in range(n):
        kin0 += p[i] * v[i]
    h0 = 0.5 * kin0 + _action(x, c, ka, a)
    step = eps * (0.9 + 0.2 * next_double(s))
    _force(x, c, ka, a, f)
    for i in range(n):
        p[i] += 0.5 * step * f[i]
    for k in range(n_steps):
        if fourier:
            cyclic_solve(den, cp, z, fa_diag, fa_off, p, v)
        else:
            for i in range(n):
                v[i] = p[i]
        for i in range(n):
            x[i] += step * v[i]
        _force(x, c, ka, a, f)
        w = step if k < n_steps - 1 else 0.5 * step
        for i in range(n):
            p[i] += w * f[i]
    if fourier:
        cyclic_solve(den, cp, z, fa_diag, fa_off, p, v)
    else:
        for i in range(n):
            v[i] = p[i]
    kin1 = 0.0
    for i in range(n):
        kin1 += p[i] * v[i]
    dh = 0.5 * kin1 + _action(x, c, ka, a) - h0
    if dh <= 0.0 or next_double(s) < math.exp(-dh):
        return 1
    for i in range(n):
        x[i] = x0[i]
    return 0


@nb.njit(cache=True)
def _reflect_sweep(x: np.ndarray, ka: float, s: np.ndarray) -> int:
    """Swendsen-Wang update of the embedded signs (exact for even V); returns #segments.

    Link i joins sites i and i+1 (periodic).  It is cut if the signs differ or, for equal
    signs, with probability exp(-2 ka x_i x_{i+1}).  Each segment between cuts is
    reflected with probability 1/2.
    """
    n = x.size
    first_cut = -1
    cut = np.empty(n, dtype=np.bool_)
    for i in range(n):
        j = i + 1 if i < n - 1 else 0
        prod = x[i] * x[j]
        if prod <= 0.0:
            cut[i] = True
        else:
            cut[i] = next_double(s) < math.exp(-2.0 * ka * prod)
        if cut[i] and first_cut < 0:
            first_cut = i
    if first_cut < 0:  # one segment: the whole closed path
        if next_double(s) < 0.5:
            for i in range(n):
                x[i] = -x[i]
        return 1
    segments = 0
    start = first_cut + 1
    flip = False
    for k in range(n):
        i = (start + k) % n
        if k == 0 or cut[(i - 1 + n) % n]:
            flip = next_double(s) < 0.5
            segments += 1
        if flip:
            x[i] = -x[i]
    return segments


@nb.njit(cache=True)
def _measure(x: np.ndarray, c: np.ndarray, ka: float, a: float, out: np.ndarray) -> None:
    """Scalar observables of one configuration in the order of SCALARS."""
    n = x.size
    s1 = 0.0
    s2 = 0.0
    s4 = 0.0
    vir = 0.0
    kin = 0.0
    pot = 0.0
    for i in range(n):
        xi = x[i]
        x2 = xi * xi
        s1 += xi
        s2 += x2
        s4 += x2 * x2
        v = _pot(c, xi)
        pot += v
        vir += v + 0.5 * xi * _dpot(c, xi)
        d = x[(i + 1) % n] - xi
        kin += d * d
    out[0] = s1 / n
    out[1] = s2 / n
    out[2] = s4 / n
    out[3] = vir / n
    out[4] = 0.5 / a - 0.5 * ka * kin / (a * n) + pot / n


@nb.njit(cache=True)
def run_sweeps(
    x: np.ndarray,
    c: np.ndarray,
    ka: float,
    a: float,
    use_hmc: bool,
    use_metro: bool,
    use_reflect: bool,
    eps: float,
    n_steps: int,
    fourier: bool,
    fa_diag: float,
    fa_off: float,
    fa_mass: float,
    den: np.ndarray,
    cp: np.ndarray,
    z: np.ndarray,
    delta: float,
    n_sweeps: int,
    measure_every: int,
    s: np.ndarray,
    scalars: np.ndarray,
    configs: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Run ``n_sweeps`` sweeps; every ``measure_every``-th writes a row of the outputs.

    scalars: (n_sweeps // measure_every, 5); configs: same rows, (., N) copies of x.
    counts (int64, 4) accumulates: HMC accepted, Metropolis accepted, reflected
    segments, sweeps.
    """
    n = x.size
    work = np.empty((6, n))
    row = 0
    for sweep in range(n_sweeps):
        if use_hmc:
            counts[0] += _hmc_trajectory(
                x, c, ka, a, eps, n_steps, fourier, fa_diag, fa_off, fa_mass, den, cp, z, s, work
            )
        if use_metro:
            counts[1] += _metropolis_sweep(x, c, ka, a, delta, s)
        if use_reflect:
            counts[2] += _reflect_sweep(x, ka, s)
        counts[3] += 1
        if (sweep + 1) % measure_every == 0 and row < scalars.shape[0]:
            _measure(x, c, ka, a, scalars[row])
            for i in range(n):
                configs[row, i] = x[i]
            row += 1
