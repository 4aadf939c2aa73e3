"""Numba kernels of the 2D lattice phi^4 Monte Carlo (action and observables in
rgpipe.physics.phi4).

Updates (each a numba kernel acting on a flat float64 field ``phi`` of N = L^2 sites,
site i = y L + x, neighbour table of rgpipe.physics.lattice.square):

* :func:`metropolis_sweep` -- typewriter Metropolis, phi_i -> phi_i + step (2u - 1).
* :func:`overrelax_sweep` -- microcanonical over-relaxation of the exact quartic single-site
  action f(x) = x^2 + lam (x^2 - 1)^2 - b x (b = beta times the sum of the 4 neighbours).
  The move is a deterministic involution T: the level set {x : f(x) = f(phi_i)} has 2 or 4
  points; sorted, they are paired (1,2), (3,4), i.e. phi_i goes to the other side of the
  minimum of its own well (a reflection about the minimum for a parabola).  Because
  f(T x) = f(x), the Metropolis correction for a deterministic involution is the Jacobian,
  acceptance min(1, |T'(x)|) = min(1, |f'(x) / f'(T x)|).  This keeps detailed balance
  exactly; at lam = 0 it is the exact reflection x -> b - x, always accepted.  The partner
  is a root of the cubic g(y) = (f(y) - f(x)) / (y - x) = (y + x)(1 + lam (y^2 + x^2 - 2))
  - b, solved in closed form and Newton-polished, so no cancellation spoils it near the
  bottom of a well.
* :func:`wolff_cluster` -- Brower-Tamayo embedding: Ising signs s = sign(phi), a bond
  (x, y) with beta phi_x phi_y > 0 joins the cluster with p = 1 - exp(-2 beta phi_x phi_y),
  the cluster is flipped phi -> -phi.  Exact for any beta sign; changes only signs, so it
  is always combined with a local move.

One *sweep* of each ``update``:

* ``metropolis``: 1 Metropolis pass;
* ``overrelaxation``: 1 Metropolis pass + n over-relaxation passes;
* ``wolff``: 1 Metropolis pass + ``clusters`` Wolff clusters;
* ``combined`` (default, for near-critical runs): 1 Metropolis pass + n over-relaxation
  passes + ``clusters`` Wolff clusters.

n is ``or_sweeps`` or ``or_sweeps`` + 1 with probability 1/2 each (a random, state-
independent mixture of pi-invariant kernels, so still exact).  The random parity matters:
an over-relaxation pass reflects a stiff mode (e.g. the radial fluctuation phi^2 - 1 at
large lam) almost exactly, so a fixed odd count makes such a series alternate in sign from
sweep to sweep, rho(1) ~ -1, rho(2) ~ +1, ...; the Gamma method's automatic window stops at
W = 1 on such a series and underestimates the error by orders of magnitude (400-fold for
phi2 at lam = 1e4 on 2 x 2), while a fixed even count makes the passes cancel on that mode.

Local moves change the sign of phi_x only over the single-site barrier (height lam - 1 for
lam > 1/2, less in a field): at large lam ``metropolis`` and ``overrelaxation`` stay in
their starting sign sector for any practical run length; use ``wolff`` or ``combined``.

``metropolis_step: null`` tunes the step during thermalisation towards 50 % acceptance
(multiplicatively after every sweep; the geometric mean over the second half of the
thermalisation is then frozen).  ``clusters: null`` grows clusters during thermalisation
until about N sites per sweep have been flipped and then freezes the count at
round(N / mean cluster size) (a state-dependent count would bias the chain); with no
thermalisation it is 1.  Measurements use only frozen parameters.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from rgpipe.mc.rng import next_below, next_double

_TARGET_ACCEPTANCE = 0.5


# ---------------------------------------------------------------------------------------
# single-site helpers
# ---------------------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def _local_field(phi: np.ndarray, nbr: np.ndarray, i: int) -> float:
    """Sum of the 4 neighbour fields of site i (L = 2: a neighbour counts per bond)."""
    return phi[nbr[i, 0]] + phi[nbr[i, 1]] + phi[nbr[i, 2]] + phi[nbr[i, 3]]


@nb.njit(cache=True, inline="always")
def delta_local(x_old: float, x_new: float, b: float, lam: float) -> float:
    """f(x_new) - f(x_old), f(x) = x^2 + lam (x^2 - 1)^2 - b x, without cancellation."""
    d = x_new - x_old
    s = x_new + x_old
    return d * (s * (1.0 + lam * (x_new * x_new + x_old * x_old - 2.0)) - b)


@nb.njit(cache=True, inline="always")
def _fprime(x: float, b: float, lam: float) -> float:
    """f'(x) = 2 x + 4 lam x (x^2 - 1) - b."""
    return 2.0 * x + 4.0 * lam * x * (x * x - 1.0) - b


@nb.njit(cache=True, inline="always")
def _g(y: float, x: float, b: float, lam: float) -> float:
    """(f(y) - f(x)) / (y - x): a cubic in y whose roots are the other level-set points."""
    return (y + x) * (1.0 + lam * (y * y + x * x - 2.0)) - b


@nb.njit(cache=True, inline="always")
def _newton_g(y: float, x: float, b: float, lam: float) -> float:
    """Two Newton steps on g(., x) from y (polishes a closed-form root to rounding)."""
    for _ in range(2):
        d = 1.0 + lam * (y * y + x * x - 2.0) + 2.0 * lam * y * (y + x)
        if d != 0.0:
            y -= _g(y, x, b, lam) / d
    return y


@nb.njit(cache=True)
def overrelax_partner(x: float, b: float, lam: float) -> tuple[float, float]:
    """Over-relaxation image of x at local field b: (T x, acceptance ratio |f'(x)/f'(T x)|).

    The other points of the level set f(y) = f(x) are the real roots of the cubic
    g(y) = lam y^3 + lam x y^2 + (1 + lam (x^2 - 2)) y + x (1 + lam (x^2 - 2)) - b.
    One real root y: T x = y.  Three, y1 < y2 < y3: the sorted level set pairs (1,2) and
    (3,4), so T x = y1 if x < y2, else y3 (the other side of the well's minimum).  Roots in
    closed form (trigonometric / hyperbolic, free of cancellation; Newton-polished).
    lam = 0 gives the reflection b - x with ratio 1.
    """
    if lam == 0.0:
        return b - x, 1.0
    # monic cubic y^3 + x y^2 + c1 y + c0, c1 = x^2 - 2 + 1/lam; depressed by y = t - x/3
    c1 = x * x - 2.0 + 1.0 / lam
    p = c1 - x * x / 3.0
    q = 2.0 * x * x * x / 27.0 + 2.0 * x * c1 / 3.0 - b / lam
    shift = -x / 3.0
    if p < 0.0:
        s = math.sqrt(-p / 3.0)
        if 4.0 * p * p * p + 27.0 * q * q < 0.0:  # three real roots
            th = math.acos(min(1.0, max(-1.0, 1.5 * q / (p * s)))) / 3.0  # in [0, pi/3]
            y2 = _newton_g(2.0 * s * math.cos(th - 2.0 * math.pi / 3.0) + shift, x, b, lam)
            if x < y2:
                t = 2.0 * s * math.cos(th + 2.0 * math.pi / 3.0)  # smallest root
            else:
                t = 2.0 * s * math.cos(th)  # largest root
        else:
            arg = max(1.0, -1.5 * abs(q) / (p * s))
            t = -2.0 * math.copysign(1.0, q) * s * math.cosh(math.acosh(arg) / 3.0)
    elif p > 0.0:
        s = math.sqrt(p / 3.0)
        t = -2.0 * s * math.sinh(math.asinh(1.5 * q / (p * s)) / 3.0)
    else:
        t = -math.copysign(abs(q) ** (1.0 / 3.0), q)
    y = _newton_g(t + shift, x, b, lam)
    fy = _fprime(y, b, lam)
    if fy == 0.0:
        return y, np.inf
    return y, abs(_fprime(x, b, lam) / fy)


# ---------------------------------------------------------------------------------------
# sweeps
# ---------------------------------------------------------------------------------------


@nb.njit(cache=True)
def metropolis_sweep(
    phi: np.ndarray, nbr: np.ndarray, beta: float, lam: float, step: float, state: np.ndarray
) -> int:
    """One typewriter Metropolis pass over all sites; returns the number accepted.

    Args:
        phi: float64 (N,) field, modified in place.
        nbr: int64 (N, 4) neighbour table.
        step: half-width of the uniform proposal.
        state: uint64 (4,) xoshiro256** state, advanced in place.
    """
    acc = 0
    for i in range(phi.size):
        b = beta * _local_field(phi, nbr, i)
        old = phi[i]
        new = old + step * (2.0 * next_double(state) - 1.0)
        ds = delta_local(old, new, b, lam)
        if ds <= 0.0 or next_double(state) < math.exp(-ds):
            phi[i] = new
            acc += 1
    return acc


@nb.njit(cache=True)
def overrelax_sweep(
    phi: np.ndarray, nbr: np.ndarray, beta: float, lam: float, state: np.ndarray
) -> int:
    """One typewriter over-relaxation pass (Jacobian-corrected); returns the number accepted."""
    acc = 0
    for i in range(phi.size):
        b = beta * _local_field(phi, nbr, i)
        x = phi[i]
        y, ratio = overrelax_partner(x, b, lam)
        if y != x and (ratio >= 1.0 or next_double(state) < ratio):
            phi[i] = y
            acc += 1
    return acc


@nb.njit(cache=True)
def wolff_cluster(
    phi: np.ndarray,
    nbr: np.ndarray,
    beta: float,
    state: np.ndarray,
    stack: np.ndarray,
    mark: np.ndarray,
) -> int:
    """Grow and flip one Brower-Tamayo embedded Wolff cluster; returns its size.

    Args:
        stack: int64 (N,) work space.
        mark: uint8 (N,) all zero on entry and on exit.
    """
    n = phi.size
    seed = next_below(state, n)
    mark[seed] = 1
    stack[0] = seed
    top = 1
    pos = 0
    while pos < top:
        i = stack[pos]
        pos += 1
        xi = beta * phi[i]
        for k in range(nbr.shape[1]):
            j = nbr[i, k]
            if mark[j] == 0:
                c = xi * phi[j]
                if c > 0.0 and next_double(state) < -math.expm1(-2.0 * c):
                    mark[j] = 1
                    stack[top] = j
                    top += 1
    for p in range(top):
        j = stack[p]
        phi[j] = -phi[j]
        mark[j] = 0
    return top


@nb.njit(cache=True)
def measure(phi: np.ndarray, nbr: np.ndarray, out: np.ndarray) -> None:
    """Write (m, phi2, phi4, hop) per site of ``phi`` into ``out`` (float64 (4,))."""
    s1 = 0.0
    s2 = 0.0
    s4 = 0.0
    sh = 0.0
    for i in range(phi.size):
        x = phi[i]
        x2 = x * x
        s1 += x
        s2 += x2
        s4 += x2 * x2
        sh += x * (phi[nbr[i, 0]] + phi[nbr[i, 2]])
    n = phi.size
    out[0] = s1 / n
    out[1] = s2 / n
    out[2] = s4 / n
    out[3] = sh / n


@nb.njit(cache=True)
def _sweep(
    phi: np.ndarray,
    nbr: np.ndarray,
    beta: float,
    lam: float,
    step: float,
    n_or: int,
    n_clusters: int,
    fill_n: bool,
    state: np.ndarray,
    stack: np.ndarray,
    mark: np.ndarray,
    counts: np.ndarray,
) -> None:
    """One sweep: Metropolis, n_or or n_or + 1 (random) over-relaxation passes, clusters.

    ``counts`` (float64 (6,)) accumulates: Metropolis accepted, over-relaxation accepted,
    clusters grown, sites flipped by clusters, Metropolis proposals, over-relaxation
    passes.  With ``fill_n`` the clusters are grown until N sites were flipped
    (thermalisation only).
    """
    counts[0] += metropolis_sweep(phi, nbr, beta, lam, step, state)
    counts[4] += phi.size
    if n_or > 0:
        passes = n_or + (1 if next_double(state) < 0.5 else 0)
        for _ in range(passes):
            counts[1] += overrelax_sweep(phi, nbr, beta, lam, state)
        counts[5] += passes
    if fill_n:
        flipped = 0
        while flipped < phi.size:
            c = wolff_cluster(phi, nbr, beta, state, stack, mark)
            flipped += c
            counts[2] += 1
            counts[3] += c
    else:
        for _ in range(n_clusters):
            counts[3] += wolff_cluster(phi, nbr, beta, state, stack, mark)
            counts[2] += 1


@nb.njit(cache=True)
def run_chain(
    phi: np.ndarray,
    nbr: np.ndarray,
    beta: float,
    lam: float,
    n_therm: int,
    n_meas: int,
    every: int,
    step: float,
    tune_step: bool,
    n_or: int,
    use_clusters: bool,
    n_clusters: int,
    state: np.ndarray,
    snap_at: np.ndarray,
    snaps: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Thermalise, then measure every ``every`` sweeps, ``n_meas`` times.

    Args:
        phi: float64 (N,) start field, modified in place.
        step: Metropolis step (initial value if ``tune_step``).
        n_clusters: clusters per sweep; <= 0 with ``use_clusters`` means automatic.
        snap_at: int64 (n_snap,) ascending measurement indices at which phi is copied
            into ``snaps`` (float64 (n_snap, N)).

    Returns:
        (meas, info): float64 (n_meas, 4) series (m, phi2, phi4, hop) and float64 (6,)
        (Metropolis acceptance, over-relaxation acceptance, Metropolis step, clusters per
        sweep, mean cluster size / N, measured sweeps), all over the measured sweeps.
    """
    n = phi.size
    stack = np.empty(n, dtype=np.int64)
    mark = np.zeros(n, dtype=np.uint8)
    counts = np.zeros(6)
    auto_clusters = use_clusters and n_clusters <= 0
    ncl = n_clusters if use_clusters else 0
    log_step_sum = 0.0
    n_half = 0
    size_sum = 0.0
    n_grown = 0.0
    for t in range(n_therm):
        counts[:] = 0.0
        _sweep(phi, nbr, beta, lam, step, n_or, ncl, auto_clusters, state, stack, mark, counts)
        second_half = 2 * t >= n_therm
        if tune_step:
            step *= math.exp(counts[0] / counts[4] - _TARGET_ACCEPTANCE)
            step = min(max(step, 1e-8), 1e3)
            if second_half:
                log_step_sum += math.log(step)
                n_half += 1
        if auto_clusters and second_half:
            size_sum += counts[3]
            n_grown += counts[2]
    if tune_step and n_half > 0:
        step = math.exp(log_step_sum / n_half)
    if auto_clusters:
        ncl = max(1, round(n / (size_sum / n_grown))) if n_grown > 0 else 1
    meas = np.empty((n_meas, 4))
    counts[:] = 0.0
    k = 0
    for t in range(n_meas):
        for _ in range(every):
            _sweep(phi, nbr, beta, lam, step, n_or, ncl, False, state, stack, mark, counts)
        measure(phi, nbr, meas[t])
        if k < snap_at.size and snap_at[k] == t:
            snaps[k, :] = phi
            k += 1
    sweeps = float(n_meas * every)
    info = np.empty(6)
    info[0] = counts[0] / counts[4] if counts[4] > 0 else np.nan
    info[1] = counts[1] / (counts[5] * n) if counts[5] > 0 else np.nan
    info[2] = step
    info[3] = ncl
    info[4] = counts[3] / counts[2] / n if counts[2] > 0 else np.nan
    info[5] = sweeps
    return meas, info
