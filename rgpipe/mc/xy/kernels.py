"""Geometry and numba kernels of the XY model's Monte Carlo.

Conventions (model, units, observables) are those of :mod:`rgpipe.physics.xy`.

State of a chain: ``theta`` float64 (N,) angles in ``[0, 2 pi)`` (authoritative) and the
caches ``c = cos(theta)``, ``s = sin(theta)`` (float64 (N,)), recomputed with ``cos``/``sin``
from ``theta`` every time an angle changes, so they are exact (no discretised tables).
Geometry: ``nbr`` int64 (N, z), the periodic neighbour table, column 0 = ``+x`` and (on
the square lattice, z = 4, order (+x, -x, +y, -y) of :mod:`rgpipe.physics.lattice`)
column 2 = ``+y``; the ring has z = 2 (+x, -x).  Every column is one bond, so the double
bonds of L = 2 are handled exactly.

Updates (each leaves ``exp(-K H)`` invariant):

* ``metropolis_sweep``: sequential sweep, proposal ``theta + step * U(-1, 1)`` (window
  ``step`` in (0, pi]), Metropolis acceptance.
* ``overrelax_sweep``: sequential microcanonical reflection of each spin about its local
  field (``theta -> 2 psi - theta``); energy-conserving, so never used alone.
* ``wolff_cluster``: Wolff's embedding single-cluster move: random axis ``r`` at angle
  ``phi``, reflection ``theta -> pi + 2 phi - theta`` of the spins' ``r`` component, bond
  ``(i, j)`` activated with ``1 - exp(-2 K (s_i.r)(s_j.r))`` when that is positive.

:func:`run_sweeps` runs sweeps of ``n_clusters`` Wolff clusters, then ``n_metropolis``
Metropolis sweeps, then ``n_overrelax`` over-relaxation sweeps (the composition of a
sweep: :data:`rgpipe.mc.xy.spec.UPDATES`).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from rgpipe.mc.rng import next_below, next_double
from rgpipe.physics.lattice import square

TWO_PI = 2.0 * np.pi

MEASURE_COLUMNS = (
    "cos_sum_x",
    "sin_sum_x",
    "cos_sum_y",
    "sin_sum_y",
    "mx_sum",
    "my_sum",
    "vortices",
)
"""Raw columns written by :func:`measure` (sums over the lattice; vortices = sum |q|)."""


# --------------------------------------------------------------------------- geometry


def neighbor_table(L: int, lattice: str = "square") -> np.ndarray:
    """Neighbour table int64 (N, z): square L x L (z = 4) or ring of L sites (z = 2)."""
    if lattice == "square":
        return np.ascontiguousarray(square(L).neighbors)
    if lattice == "ring":
        if L < 2:
            raise ValueError(f"the ring needs L >= 2, got {L}")
        i = np.arange(L, dtype=np.int64)
        return np.stack([(i + 1) % L, (i - 1) % L], axis=1)
    raise ValueError(f"unknown XY lattice {lattice!r} (expected 'square' or 'ring')")


def config_shape(L: int, lattice: str) -> tuple[int, ...]:
    """Storage shape of one configuration: (L, L) [y, x] or (L,)."""
    return (L, L) if lattice == "square" else (L,)


def spin_cache(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cos theta, sin theta)`` as flat float64 arrays (N,)."""
    t = np.ascontiguousarray(theta, dtype=np.float64).ravel()
    return np.cos(t), np.sin(t)


# --------------------------------------------------------------------------- kernels


@nb.njit(inline="always")
def _mod_2pi(x: float) -> float:
    """x reduced into [0, 2 pi); for the few periods the kernels produce (|x| < 6 pi)."""
    while x >= TWO_PI:
        x -= TWO_PI
    while x < 0.0:
        x += TWO_PI
    if x >= TWO_PI:  # -tiny + 2 pi may round to 2 pi
        x = 0.0
    return x


@nb.njit(inline="always")
def _wrap_pi(d: float) -> float:
    """Angle difference wrapped into (-pi, pi]."""
    return d + TWO_PI * math.floor((math.pi - d) / TWO_PI)


@nb.njit(cache=True)
def random_angles(n: int, state: np.ndarray) -> np.ndarray:
    """n uniform angles in [0, 2 pi) from ``state``."""
    out = np.empty(n)
    for i in range(n):
        out[i] = TWO_PI * next_double(state)
    return out


@nb.njit(cache=True)
def metropolis_sweep(
    theta: np.ndarray,
    c: np.ndarray,
    s: np.ndarray,
    nbr: np.ndarray,
    coupling: float,
    step: float,
    state: np.ndarray,
) -> int:
    """One sequential Metropolis sweep; returns the number of accepted moves (of N)."""
    n, z = nbr.shape
    accepted = 0
    for i in range(n):
        hx = 0.0
        hy = 0.0
        for k in range(z):
            j = nbr[i, k]
            hx += c[j]
            hy += s[j]
        t_new = _mod_2pi(theta[i] + step * (2.0 * next_double(state) - 1.0))
        cn = math.cos(t_new)
        sn = math.sin(t_new)
        ds = -coupling * ((cn - c[i]) * hx + (sn - s[i]) * hy)
        if ds <= 0.0 or next_double(state) < math.exp(-ds):
            theta[i] = t_new
            c[i] = cn
            s[i] = sn
            accepted += 1
    return accepted


@nb.njit(cache=True)
def overrelax_sweep(theta: np.ndarray, c: np.ndarray, s: np.ndarray, nbr: np.ndarray) -> None:
    """One sequential over-relaxation sweep: reflect each spin about its local field."""
    n, z = nbr.shape
    for i in range(n):
        hx = 0.0
        hy = 0.0
        for k in range(z):
            j = nbr[i, k]
            hx += c[j]
            hy += s[j]
        if hx == 0.0 and hy == 0.0:
            continue
        t_new = _mod_2pi(2.0 * math.atan2(hy, hx) - theta[i])
        theta[i] = t_new
        c[i] = math.cos(t_new)
        s[i] = math.sin(t_new)


@nb.njit(cache=True)
def wolff_cluster(
    theta: np.ndarray,
    c: np.ndarray,
    s: np.ndarray,
    nbr: np.ndarray,
    coupling: float,
    state: np.ndarray,
    stack: np.ndarray,
    mark: np.ndarray,
    stamp: int,
    proj: np.ndarray,
) -> int:
    """Grow and flip one Wolff embedding cluster; returns its size.

    Work arrays (N,): ``stack`` int64, ``mark`` int64 (a site is in the current cluster
    iff ``mark[i] == stamp``; use a new stamp per cluster), ``proj`` float64.
    """
    n, z = nbr.shape
    phi = TWO_PI * next_double(state)
    rx = math.cos(phi)
    ry = math.sin(phi)
    shift = math.pi + 2.0 * phi
    two_k = 2.0 * coupling
    i = next_below(state, n)
    mark[i] = stamp
    proj[i] = c[i] * rx + s[i] * ry
    t = _mod_2pi(shift - theta[i])
    theta[i] = t
    c[i] = math.cos(t)
    s[i] = math.sin(t)
    stack[0] = i
    top = 1
    size = 1
    while top > 0:
        top -= 1
        i = stack[top]
        pi_ = proj[i]
        for k in range(z):
            j = nbr[i, k]
            if mark[j] == stamp:
                continue
            pj = c[j] * rx + s[j] * ry
            x = two_k * pi_ * pj
            if x <= 0.0:
                continue
            if next_double(state) < -math.expm1(-x):
                mark[j] = stamp
                proj[j] = pj
                t = _mod_2pi(shift - theta[j])
                theta[j] = t
                c[j] = math.cos(t)
                s[j] = math.sin(t)
                stack[top] = j
                top += 1
                size += 1
    return size


@nb.njit(cache=True)
def measure(
    theta: np.ndarray, c: np.ndarray, s: np.ndarray, nbr: np.ndarray, out: np.ndarray
) -> None:
    """Write the raw sums of ``MEASURE_COLUMNS`` into ``out`` (float64 (7,)).

    Bond sums use ``d theta = theta_{i+mu} - theta_i``; on the ring (z = 2) the y columns
    and the vortex count are 0.
    """
    n, z = nbr.shape
    two_d = z == 4
    cx = 0.0
    sx = 0.0
    cy = 0.0
    sy = 0.0
    mx = 0.0
    my = 0.0
    nv = 0
    for i in range(n):
        mx += c[i]
        my += s[i]
        j = nbr[i, 0]
        cx += c[j] * c[i] + s[j] * s[i]
        sx += s[j] * c[i] - c[j] * s[i]
        if two_d:
            u = nbr[i, 2]
            cy += c[u] * c[i] + s[u] * s[i]
            sy += s[u] * c[i] - c[u] * s[i]
            d = nbr[j, 2]
            w = (
                _wrap_pi(theta[j] - theta[i])
                + _wrap_pi(theta[d] - theta[j])
                + _wrap_pi(theta[u] - theta[d])
                + _wrap_pi(theta[i] - theta[u])
            )
            q = round(w / TWO_PI)
            nv += abs(q)
    out[0] = cx
    out[1] = sx
    out[2] = cy
    out[3] = sy
    out[4] = mx
    out[5] = my
    out[6] = nv


@nb.njit(cache=True)
def run_sweeps(
    theta: np.ndarray,
    c: np.ndarray,
    s: np.ndarray,
    nbr: np.ndarray,
    coupling: float,
    step: float,
    n_clusters: int,
    n_metropolis: int,
    n_overrelax: int,
    n_sweeps: int,
    measure_every: int,
    state: np.ndarray,
    work: np.ndarray,
    proj: np.ndarray,
    out: np.ndarray,
    counters: np.ndarray,
) -> None:
    """Run ``n_sweeps`` sweeps, measuring into ``out`` after every ``measure_every``-th.

    Args:
        work: int64 (2, N): Wolff stack and marks (see :func:`wolff_cluster`).
        proj: float64 (N,) Wolff work array.
        out: float64 (n_sweeps // measure_every, 7) measurements (rows 0..), or (0, 7)
            with ``measure_every = 0`` for no measurement.
        counters: int64 (5,) accumulated [accepted Metropolis moves, Metropolis proposals,
            flipped cluster spins, clusters, last Wolff stamp]; only the stamp must never
            be reset (it marks cluster membership).
    """
    n = theta.size
    row = 0
    for sweep in range(1, n_sweeps + 1):
        for _ in range(n_clusters):
            counters[3] += 1
            counters[4] += 1
            counters[2] += wolff_cluster(
                theta, c, s, nbr, coupling, state, work[0], work[1], counters[4], proj
            )
        for _ in range(n_metropolis):
            counters[0] += metropolis_sweep(theta, c, s, nbr, coupling, step, state)
            counters[1] += n
        for _ in range(n_overrelax):
            overrelax_sweep(theta, c, s, nbr)
        if measure_every > 0 and sweep % measure_every == 0:
            measure(theta, c, s, nbr, out[row])
            row += 1
