"""Critical couplings from Binder-cumulant crossings, with bootstrap error bars.

For each lattice size L the Binder cumulant U_L(K) = 1 - <m^4>/(3<m^2>^2) is made a
continuous function of K by multiple-histogram reweighting of the whole coupling sweep
(:mod:`rgpipe.analysis.reweighting`).  The curves of two sizes cross near K_c; the
crossing K_x(L1, L2) approaches K_c as the sizes grow (for the 2D Ising model with
corrections of order L^-(1/nu + omega)).  Errors come from a block bootstrap of every
measurement series (blocks of about 4 tau_int, so autocorrelations are kept), with the
whole analysis, reweighting included, repeated on every replicate.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from rgpipe.analysis.reweighting import Reweighter, build_histograms, solve
from rgpipe.stats import gamma_method


@dataclass
class SizeData:
    """One lattice size's coupling sweep.

    Attributes:
        L: linear size.
        n_spins: number of spins N.
        couplings: (R,) couplings K.
        energy: (R, n) energy per spin series.
        magnetization: (R, n) magnetisation per spin series.
    """

    L: int
    n_spins: int
    couplings: np.ndarray
    energy: np.ndarray
    magnetization: np.ndarray


def _block_length(series: np.ndarray) -> int:
    """About 4 tau_int of |m| and e (the slowest), at least 1."""
    taus = [gamma_method(s).tau_int for s in series]
    return max(1, int(np.ceil(4 * max(taus))))


def reweighter(d: SizeData, inefficiency: np.ndarray | None = None) -> Reweighter:
    """Multiple-histogram reweighter of m^2 and m^4 from a sweep (energies made exact
    integers from the per-spin series)."""
    e_tot = np.rint(d.energy * d.n_spins)
    m2 = d.magnetization**2
    h = build_histograms(d.couplings, e_tot, {"m2": m2, "m4": m2**2}, inefficiency)
    return solve(h)


def binder_curve(rw: Reweighter, k: np.ndarray) -> np.ndarray:
    """U_L(K) on a grid of couplings."""
    m2 = rw.expectation("m2", k)
    m4 = rw.expectation("m4", k)
    return 1.0 - m4 / (3.0 * m2**2)


def crossing(rw1: Reweighter, rw2: Reweighter, grid: int = 400) -> float:
    """The coupling where U_L1 and U_L2 cross inside the common sampled range (NaN if
    they do not cross there; the crossing nearest the middle if several)."""
    lo = max(rw1.k_range[0], rw2.k_range[0])
    hi = min(rw1.k_range[1], rw2.k_range[1])
    if not lo < hi:
        return float("nan")
    k = np.linspace(lo, hi, grid)
    diff = binder_curve(rw1, k) - binder_curve(rw2, k)
    flips = np.flatnonzero(np.sign(diff[:-1]) * np.sign(diff[1:]) <= 0)
    if not len(flips):
        return float("nan")
    i = flips[np.argmin(np.abs(k[flips] - 0.5 * (lo + hi)))]

    def f(x: float) -> float:
        return float(binder_curve(rw1, np.array([x]))[0] - binder_curve(rw2, np.array([x]))[0])

    if diff[i] == 0:
        return float(k[i])
    return float(brentq(f, k[i], k[i + 1], xtol=1e-12))


def _resample(d: SizeData, rng: np.random.Generator, block: int) -> SizeData:
    """Block-bootstrap replicate: every run's series resampled in blocks."""
    r, n = d.energy.shape
    n_blocks = max(1, n // block)
    starts = rng.integers(0, n - block + 1, size=(r, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(r, -1)
    rows = np.arange(r)[:, None]
    return SizeData(d.L, d.n_spins, d.couplings, d.energy[rows, idx], d.magnetization[rows, idx])


@dataclass
class CrossingResult:
    """Crossings of consecutive sizes with bootstrap statistics.

    Attributes:
        pairs: (P, 2) the size pairs (L1 < L2).
        estimate: (P,) crossing on the original data.
        error: (P,) bootstrap standard deviation.
        replicates: (B, P) the bootstrap crossings (NaN where no crossing).
        failed: (P,) how many replicates had no crossing.
        grid: (G,) couplings of the stored curves.
        curves: (S, G) U_L(K) per size on the original data.
        curve_errors: (S, G) bootstrap standard deviations of the curves.
    """

    pairs: np.ndarray
    estimate: np.ndarray
    error: np.ndarray
    replicates: np.ndarray
    failed: np.ndarray
    grid: np.ndarray
    curves: np.ndarray
    curve_errors: np.ndarray


def binder_crossings(
    sizes: list[SizeData], n_boot: int = 200, seed: int = 0, grid_points: int = 101
) -> CrossingResult:
    """Crossings U_L(K) = U_L'(K) for consecutive sizes, with block-bootstrap errors."""
    sizes = sorted(sizes, key=lambda d: d.L)
    if len(sizes) < 2:
        raise ValueError("Binder crossings need at least two lattice sizes")
    pairs = np.array([(a.L, b.L) for a, b in itertools.pairwise(sizes)])
    blocks = [_block_length(np.concatenate([d.energy, np.abs(d.magnetization)])) for d in sizes]
    g = [np.array([2 * gamma_method(s).tau_int for s in d.energy * d.n_spins]) for d in sizes]
    lo = max(d.couplings.min() for d in sizes)
    hi = min(d.couplings.max() for d in sizes)
    grid = np.linspace(lo, hi, grid_points)

    def analyse(data: list[SizeData]) -> tuple[np.ndarray, np.ndarray]:
        rws = [reweighter(d, gi) for d, gi in zip(data, g, strict=True)]
        xs = np.array([crossing(a, b) for a, b in itertools.pairwise(rws)])
        return xs, np.array([binder_curve(rw, grid) for rw in rws])

    estimate, curves = analyse(sizes)
    rng = np.random.default_rng(seed)
    reps, rep_curves = [], []
    for _ in range(n_boot):
        data = [_resample(d, rng, b) for d, b in zip(sizes, blocks, strict=True)]
        xs, cv = analyse(data)
        reps.append(xs)
        rep_curves.append(cv)
    reps_arr = np.array(reps).reshape(n_boot, len(pairs))
    failed = np.isnan(reps_arr).sum(axis=0)
    with np.errstate(invalid="ignore"):
        error = np.nanstd(reps_arr, axis=0, ddof=1) if n_boot > 1 else np.full(len(pairs), np.nan)
    curve_err = np.std(np.array(rep_curves), axis=0, ddof=1) if n_boot > 1 else curves * np.nan
    return CrossingResult(pairs, estimate, error, reps_arr, failed, grid, curves, curve_err)


@dataclass
class BinderCurve:
    """Binder-cumulant estimates of one size along a coupling scan (no series needed).

    Attributes:
        L: linear size.
        coupling: (n,) ascending couplings.
        binder: (n,) U_L estimates; error: (n,) their standard errors (independent
            chains per coupling).
    """

    L: int
    coupling: np.ndarray
    binder: np.ndarray
    error: np.ndarray


def _spline_crossing(a: BinderCurve, b: BinderCurve, ua: np.ndarray, ub: np.ndarray) -> float:
    """Crossing of two interpolated curves inside their common range (NaN if none)."""
    from scipy.interpolate import CubicSpline

    def interp(c: BinderCurve, u: np.ndarray):
        if len(c.coupling) >= 3:
            return CubicSpline(c.coupling, u)
        return lambda x: np.interp(x, c.coupling, u)

    fa, fb = interp(a, ua), interp(b, ub)
    lo = max(a.coupling.min(), b.coupling.min())
    hi = min(a.coupling.max(), b.coupling.max())
    if not lo < hi:
        return float("nan")
    k = np.linspace(lo, hi, 400)
    diff = fa(k) - fb(k)
    flips = np.flatnonzero(np.sign(diff[:-1]) * np.sign(diff[1:]) <= 0)
    if not len(flips):
        return float("nan")
    i = flips[np.argmin(np.abs(k[flips] - 0.5 * (lo + hi)))]
    if diff[i] == 0:
        return float(k[i])
    return float(brentq(lambda x: float(fa(x) - fb(x)), k[i], k[i + 1], xtol=1e-12))


def interpolated_crossings(
    curves: list[BinderCurve], n_boot: int = 200, seed: int = 0
) -> CrossingResult:
    """Crossings of consecutive sizes from interpolated Binder estimates.

    For models whose energy is continuous (phi^4), the histogram reweighting of
    :func:`binder_crossings` does not apply directly; the estimates at the simulated
    couplings are interpolated (cubic spline with >= 3 points) and the errors come from
    a parametric bootstrap (every point redrawn from its Gaussian error).
    """
    curves = sorted(curves, key=lambda c: c.L)
    if len(curves) < 2:
        raise ValueError("Binder crossings need at least two lattice sizes")
    pairs = np.array([(a.L, b.L) for a, b in itertools.pairwise(curves)])

    def analyse(us: list[np.ndarray]) -> np.ndarray:
        return np.array(
            [
                _spline_crossing(a, b, ua, ub)
                for (a, ua), (b, ub) in itertools.pairwise(zip(curves, us, strict=True))
            ]
        )

    estimate = analyse([c.binder for c in curves])
    rng = np.random.default_rng(seed)
    reps = np.array(
        [
            analyse([c.binder + rng.normal(size=c.binder.shape) * c.error for c in curves])
            for _ in range(n_boot)
        ]
    ).reshape(n_boot, len(pairs))
    failed = np.isnan(reps).sum(axis=0)
    with np.errstate(invalid="ignore"):
        error = np.nanstd(reps, axis=0, ddof=1) if n_boot > 1 else np.full(len(pairs), np.nan)
    lo = max(c.coupling.min() for c in curves)
    hi = min(c.coupling.max() for c in curves)
    grid = np.linspace(lo, hi, 101)
    curve_vals = np.array([np.interp(grid, c.coupling, c.binder) for c in curves])
    curve_errs = np.array([np.interp(grid, c.coupling, c.error) for c in curves])
    return CrossingResult(pairs, estimate, error, reps, failed, grid, curve_vals, curve_errs)
