"""Exact references for the 0+1D field (:mod:`rgpipe.physics.oscillator`).

(a) The transfer matrix of the SAME discretised action.  With the symmetric split of
    the potential term, ``exp(-S) = prod_i T(x_i, x_{i+1})`` with the kernel::

        T(x, y) = sqrt(m / (2 pi a)) exp(-m (x - y)^2 / (2 a) - a (V(x) + V(y)) / 2),

    so ``Z = Tr T^N`` and every lattice expectation value is a trace.  ``T`` is
    discretised on a uniform grid (the trapezoidal rule, spectrally accurate for these
    smooth, rapidly decaying integrands), ``K_jk = h T(x_j, x_k)``, diagonalised once:
    ``ln lambda_n`` and the lattice energies ``E_n(a) = -ln(lambda_n) / a`` (the
    normalisation makes them tend to the continuum levels as O(a^2)).  The grid
    (spacing and box) is chosen so that its error is far below Monte Carlo errors;
    :func:`lattice_exact` reports the same quantities on a refined grid when asked, and
    the tests check the convergence.

(b) Exact diagonalisation of the continuum ``H = p^2 / (2 m) + V(x)`` in the sinc
    discrete-variable representation (Colbert & Miller, J. Chem. Phys. 96 (1992) 1982):
    a uniform grid with the kinetic matrix of band-limited functions, which converges
    exponentially in the grid spacing for smooth potentials.

Units: hbar = 1; energies in the units of V, times (tau, beta, a) in 1/energy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import eigh

from rgpipe.physics.oscillator import Potential, fit_cosh_gap, fit_times, quantum_length

_TAIL = 1e-20
"""Relative density (or |psi|^2) allowed at the edges of a grid box (above the round-off
floor of eigenvectors, ~1e-24 relative for nearly degenerate doublets)."""

_MAX_GRID = 6000
"""Largest grid accepted (dense diagonalisation is O(G^3))."""


def _initial_box(potential: Potential, energy: float) -> tuple[float, float]:
    """Outermost points where V - V_min = energy (classical turning points)."""
    x0, v0 = potential.global_minimum()
    ends = []
    for sign in (-1.0, 1.0):
        step = 0.5
        while potential.value(x0 + sign * step) - v0 < energy:
            step *= 1.5
        ends.append(x0 + sign * step)
    return ends[0], ends[1]


def _grid(lo: float, hi: float, h: float) -> np.ndarray:
    """Uniform grid with spacing h covering [lo, hi]."""
    n = int(np.ceil((hi - lo) / h)) + 1
    if n > _MAX_GRID:
        raise ValueError(
            f"the grid needs {n} points (> {_MAX_GRID}); use a coarser spacing or smaller box"
        )
    return lo + h * np.arange(n)


# ------------------------------------------------------------------- (a) transfer matrix


@dataclass(frozen=True)
class TransferMatrix:
    """Spectral decomposition of the discretised lattice transfer matrix.

    Attributes:
        a: lattice spacing; mass: particle mass.
        x: grid, shape (G,); h: its spacing.
        log_eigenvalues: ln lambda_n, descending, shape (K,) (only lambda_n > 0 kept).
        vectors: orthonormal eigenvectors U[j, n] of K = h T(x_j, x_k), shape (G, K);
            psi_n(x_j) = U[j, n] / sqrt(h).
    """

    a: float
    mass: float
    x: np.ndarray
    h: float
    log_eigenvalues: np.ndarray
    vectors: np.ndarray

    @property
    def energies(self) -> np.ndarray:
        """Lattice energy levels E_n(a) = -ln(lambda_n) / a, ascending, shape (K,)."""
        return -self.log_eigenvalues / self.a

    @property
    def gap(self) -> float:
        """E_1(a) - E_0(a) = ln(lambda_0 / lambda_1) / a."""
        return float((self.log_eigenvalues[0] - self.log_eigenvalues[1]) / self.a)


def _default_spacing(potential: Potential, mass: float, a: float) -> float:
    """min(sqrt(a/m)/2, l/4): resolves the kernel width sqrt(a/m) and the well size l."""
    return float(min(0.5 * np.sqrt(a / mass), 0.25 * quantum_length(potential, mass)))


def transfer_matrix(
    potential: Potential,
    mass: float,
    a: float,
    beta: float | None = None,
    spacing: float | None = None,
    box: tuple[float, float] | None = None,
) -> TransferMatrix:
    """Discretise and diagonalise the transfer matrix of the lattice action.

    Args:
        potential, mass, a: the action's parameters.
        beta: the time extent the matrix will be used at (sets the default box: the
            thermal density at its edges must be below 1e-20 of its maximum); default
            a large beta (ground-state dominated).
        spacing: grid spacing h; default min(sqrt(a/m)/2, l/4) with l the quantum
            length of the well (the Gaussian kernel of width sqrt(a/m) alone would give
            a trapezoid error ~ exp(-2 pi^2 a / (m h^2)) < 1e-30; steep walls of V can
            need finer grids, which :func:`lattice_exact` finds by refinement).
        box: (x_lo, x_hi); default grown until the density at the edges is negligible.
    """
    if not (mass > 0 and a > 0):
        raise ValueError(f"need mass > 0 and a > 0, got {mass}, {a}")
    h = spacing or _default_spacing(potential, mass, a)
    n_tau = max(2, round((beta or 1e6 * a) / a))
    if box is None:
        lo, hi = _initial_box(potential, max(20.0, 20.0 / (beta or np.inf)))
        for _ in range(60):
            tm = _diagonalise(potential, mass, a, _grid(lo, hi, h))
            rho = _density(tm, n_tau)
            ok_lo = rho[0] <= _TAIL * rho.max()
            ok_hi = rho[-1] <= _TAIL * rho.max()
            if ok_lo and ok_hi:
                return tm
            width = hi - lo
            lo -= 0.0 if ok_lo else 0.25 * width
            hi += 0.0 if ok_hi else 0.25 * width
        raise RuntimeError("transfer matrix: the box did not converge")
    return _diagonalise(potential, mass, a, _grid(box[0], box[1], h))


def _diagonalise(potential: Potential, mass: float, a: float, x: np.ndarray) -> TransferMatrix:
    """Build K_jk = h T(x_j, x_k) on the grid x and diagonalise it."""
    h = float(x[1] - x[0])
    half_v = 0.5 * a * potential.value(x)
    d = x[:, None] - x[None, :]
    log_k = (
        np.log(h)
        + 0.5 * np.log(mass / (2.0 * np.pi * a))
        - mass * d * d / (2.0 * a)
        - half_v[:, None]
        - half_v[None, :]
    )
    shift = float(log_k.max())
    lam, vec = eigh(np.exp(log_k - shift))
    order = np.argsort(lam)[::-1]
    lam, vec = lam[order], vec[:, order]
    keep = lam > lam[0] * 1e-15 * lam.size
    return TransferMatrix(
        a=float(a),
        mass=float(mass),
        x=x,
        h=h,
        log_eigenvalues=np.log(lam[keep]) + shift,
        vectors=vec[:, keep],
    )


def _level_weights(tm: TransferMatrix, n_tau: int) -> np.ndarray:
    """(lambda_n / lambda_0)^N / sum_m (lambda_m / lambda_0)^N, shape (K,)."""
    w = np.exp(n_tau * (tm.log_eigenvalues - tm.log_eigenvalues[0]))
    return w / w.sum()


def _density(tm: TransferMatrix, n_tau: int) -> np.ndarray:
    """Probability of the grid point x_j for one time slice (sums to 1), shape (G,)."""
    return (tm.vectors**2) @ _level_weights(tm, n_tau)


def _correlator(tm: TransferMatrix, n_tau: int, x_values: np.ndarray) -> np.ndarray:
    """<x_0 x_k> for k = 0..N//2 from the spectral sum, shape (N//2 + 1,)."""
    rel = tm.log_eigenvalues - tm.log_eigenvalues[0]
    logz = np.log(np.exp(n_tau * rel).sum())
    # states n with (lambda_n/lambda_0)^(N/2) negligible never contribute at the long leg
    n_keep = max(2, int(np.sum(rel * (n_tau - n_tau // 2) > -80.0)))
    m_keep = max(2, int(np.sum(rel > -80.0)))
    xm = (tm.vectors[:, :n_keep] * x_values[:, None]).T @ tm.vectors[:, :m_keep]
    x2 = xm * xm  # (n_keep, m_keep)
    out = np.empty(n_tau // 2 + 1)
    out[0] = float((x_values**2) @ _density(tm, n_tau))
    for k in range(1, n_tau // 2 + 1):
        ln = (n_tau - k) * rel[:n_keep]
        lm = k * rel[:m_keep]
        out[k] = float(np.exp(ln - logz) @ x2 @ np.exp(lm))
    return out


@dataclass(frozen=True)
class LatticeExact:
    """Exact expectation values of the lattice action at (beta, n_tau).

    Attributes:
        beta, n_tau, a: the lattice.
        x, x2, x4: <x>, <x^2>, <x^4> at one time slice.
        energy: <V + x V'/2> (virial estimator).
        energy_thermo: -d ln Z / d beta at fixed N = 1/(2a) - m (<x^2> - C(1)) / a^2 + <V>.
        correlator: <x_0 x_k>, k = 0..N//2, shape (N//2 + 1,).
        e0, gap: lattice ground-state energy -ln(lambda_0)/a and E_1(a) - E_0(a).
        energies: lattice levels E_n(a), shape (K,).
        grid_points, spacing: the quadrature grid used.
        grid_change: largest relative change under the last grid refinement (NaN when
            the grid was given explicitly).
    """

    beta: float
    n_tau: int
    a: float
    x: float
    x2: float
    x4: float
    energy: float
    energy_thermo: float
    correlator: np.ndarray
    e0: float
    gap: float
    energies: np.ndarray
    grid_points: int
    spacing: float
    grid_change: float


def lattice_exact(
    potential: Potential,
    mass: float,
    beta: float,
    n_tau: int,
    spacing: float | None = None,
    box: tuple[float, float] | None = None,
    rtol: float = 1e-11,
) -> LatticeExact:
    """Exact lattice expectation values from the transfer matrix (see module docstring).

    Args:
        potential, mass, beta, n_tau: the lattice action (a = beta / n_tau, n_tau >= 2).
        spacing, box: grid overrides (defaults in :func:`transfer_matrix`).  With an
            explicit spacing the grid is used as given (the convergence tests do this).
        rtol: without an explicit spacing, the grid is refined (spacing x 0.7) until no
            result changes by more than rtol (relative to its scale); the change of the
            last refinement is reported as ``grid_change``.
    """
    if n_tau < 2:
        raise ValueError(f"n_tau must be >= 2, got {n_tau}")
    if spacing is not None:
        return _lattice_exact_on_grid(potential, mass, beta, n_tau, spacing, box)
    a = beta / n_tau
    h = _default_spacing(potential, mass, a)
    prev = _lattice_exact_on_grid(potential, mass, beta, n_tau, h, box)
    for _ in range(12):
        h *= 0.7
        cur = _lattice_exact_on_grid(potential, mass, beta, n_tau, h, box)
        change = _max_change(prev, cur)
        if change <= rtol:
            return replace(cur, grid_change=change)
        prev = cur
    raise RuntimeError(f"transfer matrix: no grid convergence to {rtol} (last change {change})")


def _max_change(r0: LatticeExact, r1: LatticeExact) -> float:
    """Largest change between two grids, relative to <x^2> (positions) or |E0| + gap."""
    sx = r1.x2
    se = abs(r1.e0) + abs(r1.gap) + 1e-300
    pos = [abs(r1.x - r0.x) / sx, abs(r1.x2 - r0.x2) / sx, abs(r1.x4 - r0.x4) / sx**2]
    pos.append(float(np.max(np.abs(r1.correlator - r0.correlator))) / sx)
    en = [abs(getattr(r1, k) - getattr(r0, k)) / se for k in ("energy", "e0", "gap")]
    return float(max(pos + en))


def _lattice_exact_on_grid(
    potential: Potential,
    mass: float,
    beta: float,
    n_tau: int,
    spacing: float,
    box: tuple[float, float] | None,
) -> LatticeExact:
    """All lattice expectation values on one grid."""
    a = beta / n_tau
    tm = transfer_matrix(potential, mass, a, beta=beta, spacing=spacing, box=box)
    rho = _density(tm, n_tau)
    xg = tm.x
    corr = _correlator(tm, n_tau, xg)
    x2 = float(rho @ xg**2)
    v_mean = float(rho @ potential.value(xg))
    return LatticeExact(
        beta=float(beta),
        n_tau=int(n_tau),
        a=float(a),
        x=float(rho @ xg),
        x2=x2,
        x4=float(rho @ xg**4),
        energy=float(rho @ potential.virial(xg)),
        energy_thermo=1.0 / (2.0 * a) - mass * (x2 - corr[1]) / (a * a) + v_mean,
        correlator=corr,
        e0=float(tm.energies[0]),
        gap=tm.gap,
        energies=tm.energies,
        grid_points=int(xg.size),
        spacing=tm.h,
        grid_change=float("nan"),
    )


# ------------------------------------------------------- (b) continuum exact diagonalisation


@dataclass(frozen=True)
class Spectrum:
    """Lowest eigenpairs of H = p^2/(2m) + V on a sinc-DVR grid.

    Attributes:
        mass: particle mass; x: grid (G,); h: spacing.
        energies: E_0 <= E_1 <= ..., shape (K,).
        wavefunctions: psi_n(x_j), shape (G, K), normalised as sum_j |psi_n(x_j)|^2 h = 1.
    """

    mass: float
    x: np.ndarray
    h: float
    energies: np.ndarray
    wavefunctions: np.ndarray

    def matrix_element(self, f: np.ndarray) -> np.ndarray:
        """<n| f(x) |m> for f given on the grid (G,), shape (K, K)."""
        return (self.wavefunctions * (f * self.h)[:, None]).T @ self.wavefunctions


def _sinc_dvr_kinetic(n: int, h: float, mass: float) -> np.ndarray:
    """Kinetic matrix of the sinc DVR: (-1)^(i-j)/(2 m h^2) * (pi^2/3 if i = j else 2/(i-j)^2)."""
    k = np.arange(n)
    d = k[:, None] - k[None, :]
    with np.errstate(divide="ignore"):
        t = np.where(d == 0, np.pi**2 / 3.0, 2.0 / np.where(d == 0, 1, d) ** 2)
    return (-1.0) ** np.abs(d) * t / (2.0 * mass * h * h)


def _solve(potential: Potential, mass: float, x: np.ndarray, n_states: int) -> Spectrum:
    """Diagonalise H on the grid x, keep the lowest n_states."""
    h = float(x[1] - x[0])
    ham = _sinc_dvr_kinetic(x.size, h, mass) + np.diag(potential.value(x))
    e, v = eigh(ham, subset_by_index=[0, min(n_states, x.size) - 1])
    return Spectrum(mass=float(mass), x=x, h=h, energies=e, wavefunctions=v / np.sqrt(h))


def continuum_spectrum(
    potential: Potential,
    mass: float,
    n_states: int = 12,
    spacing: float | None = None,
    box: tuple[float, float] | None = None,
    rtol: float = 1e-10,
) -> Spectrum:
    """The lowest ``n_states`` levels of H = p^2/(2m) + V (exact diagonalisation).

    Default grid: the box grows until |psi|^2 of the highest requested state is below
    1e-20 of its maximum at both edges; the spacing is pi / (3 p_max) with p_max the
    largest classical momentum of that state, sqrt(2 m (E - V_min)) (and at least
    2 / l), so the band limit pi / h exceeds the momentum support threefold; then the
    spacing is refined (x 0.7) until the levels change by less than ``rtol`` (relative
    to max |E_n| + E_top - E_0).  An explicit ``spacing`` is used as given.
    """
    if n_states < 1:
        raise ValueError(f"n_states must be >= 1, got {n_states}")
    _, vmin = potential.global_minimum()
    p_floor = 2.0 / quantum_length(potential, mass)
    if box is not None and spacing is not None:
        return _solve(potential, mass, _grid(box[0], box[1], spacing), n_states)
    lo, hi = box or _initial_box(potential, 30.0)
    h = spacing or np.pi / (3.0 * p_floor)
    for _ in range(60):
        spec = _solve(potential, mass, _grid(lo, hi, h), n_states)
        e_top = float(spec.energies[-1])
        h_new = spacing or np.pi / (3.0 * max(np.sqrt(2 * mass * max(e_top - vmin, 0)), p_floor))
        psi2 = spec.wavefunctions**2
        peak = psi2.max(axis=0)
        ok_lo = box is not None or bool(np.all(psi2[0] <= _TAIL * peak))
        ok_hi = box is not None or bool(np.all(psi2[-1] <= _TAIL * peak))
        if ok_lo and ok_hi and h_new >= h * 0.999:
            break
        width = hi - lo
        lo -= 0.0 if ok_lo else 0.25 * width
        hi += 0.0 if ok_hi else 0.25 * width
        h = min(h, h_new)
    else:
        raise RuntimeError("exact diagonalisation: the box did not converge")
    if spacing is not None:
        return spec
    for _ in range(12):  # verify (and if needed reach) convergence in the spacing
        h *= 0.7
        finer = _solve(potential, mass, _grid(lo, hi, h), n_states)
        e = finer.energies
        scale = float(np.abs(e).max() + (e[-1] - e[0])) + 1e-300
        if float(np.abs(e - spec.energies).max()) <= rtol * scale:
            return finer
        spec = finer
    raise RuntimeError("exact diagonalisation: no convergence in the grid spacing")


@dataclass(frozen=True)
class ContinuumThermal:
    """Thermal expectation values of the continuum H at inverse temperature beta.

    Attributes:
        x2, x4, energy: <x^2>, <x^4>, <H>.
        tau, correlator: <x(0) x(tau)> at the requested times.
        truncation: Boltzmann weight of the highest level kept relative to the lowest
            (the spectral sums are truncated there).
    """

    beta: float
    x2: float
    x4: float
    energy: float
    tau: np.ndarray
    correlator: np.ndarray
    truncation: float


def continuum_thermal(
    spec: Spectrum, beta: float, tau: np.ndarray | None = None
) -> ContinuumThermal:
    """Thermal averages from the spectrum; raises if the kept levels are not enough.

    C(tau) = sum_{n,m} exp(-(beta - tau) E_n - tau E_m) |<n|x|m>|^2 / Z needs
    exp(-tau (E_K - E_0)) negligible as well; C(0) is computed as <x^2> instead.
    """
    tau = np.zeros(0) if tau is None else np.asarray(tau, dtype=np.float64)
    e = spec.energies - spec.energies[0]
    w = np.exp(-beta * e)
    trunc = float(w[-1])
    if not 0 <= tau.min(initial=0.0) and tau.max(initial=0.0) <= beta:
        raise ValueError(f"times must lie in [0, beta = {beta}]")
    if trunc > 1e-14:
        raise ValueError(
            f"{e.size} levels are not enough at beta = {beta} (last Boltzmann weight {trunc:.2e})"
        )
    w /= w.sum()
    xg = spec.x
    rho = (spec.wavefunctions**2 * spec.h) @ w
    xm = spec.matrix_element(xg)
    corr = np.empty(tau.size)
    for i, t in enumerate(tau):
        if t == 0:
            corr[i] = float(rho @ xg**2)
        else:
            corr[i] = float((w * np.exp(t * e)) @ (xm * xm) @ np.exp(-t * e))
    return ContinuumThermal(
        beta=float(beta),
        x2=float(rho @ xg**2),
        x4=float(rho @ xg**4),
        energy=float(w @ spec.energies),
        tau=tau,
        correlator=corr,
        truncation=trunc,
    )


def gap_fit_bias(
    potential: Potential,
    mass: float,
    beta: float,
    n_tau: int,
    weights: np.ndarray | None = None,
    max_points: int = 48,
) -> tuple[np.ndarray, float]:
    """Systematic error of the gap fit for every first fit time k_min.

    The fit the Monte Carlo analysis makes (:func:`fit_cosh_gap` on the times
    :func:`fit_times` ``(k_min, N//2, max_points)`` with ``weights``) is applied to the exact
    continuum correlator at this beta; higher levels (and, at finite beta, transitions out of
    thermally populated levels) make it differ from E1 - E0.

    Args:
        weights: fit weights per lattice time, shape (N//2 + 1,) (default: all 1).

    Returns:
        (bias, gap): bias (N//2 + 1,) with entry k = |fitted - (E1 - E0)| in energy units
        for k_min = k, k = 1 .. N//2 - 2 (at least 3 points), inf elsewhere; gap the exact
        continuum E1 - E0.
    """
    bias_at, gap = _gap_fit_bias_function(potential, mass, beta, n_tau, weights, max_points)
    out = np.full(n_tau // 2 + 1, np.inf)
    for k in range(1, max(2, n_tau // 2 - 1)):
        out[k] = bias_at(k)
    return out, gap


def _gap_fit_bias_function(
    potential: Potential,
    mass: float,
    beta: float,
    n_tau: int,
    weights: np.ndarray | None,
    max_points: int,
) -> tuple[Callable[[int], float], float]:
    """(k -> systematic error of the fit started at k, exact E1 - E0); see :func:`gap_fit_bias`."""
    a = beta / n_tau
    kmax = n_tau // 2
    w_all = np.ones(kmax + 1) if weights is None else np.asarray(weights, dtype=np.float64)
    if w_all.shape != (kmax + 1,):
        raise ValueError(f"weights must have shape ({kmax + 1},), got {w_all.shape}")
    n_states = 8
    while True:
        spec = continuum_spectrum(potential, mass, n_states=n_states)
        if np.exp(-beta * (spec.energies[-1] - spec.energies[0])) < 1e-14 or n_states >= 256:
            break
        n_states *= 2
    th = continuum_thermal(spec, beta, np.arange(kmax + 1) * a)
    c = th.correlator - (0.0 if potential.is_even else _thermal_mean_x(spec, beta) ** 2)
    gap = float(spec.energies[1] - spec.energies[0])

    def bias_at(k: int) -> float:
        kk = fit_times(k, kmax, max_points)
        return abs(fit_cosh_gap(c[kk], kk * a, beta, w_all[kk]) - gap)

    return bias_at, gap


def gap_fit_window(
    potential: Potential,
    mass: float,
    beta: float,
    n_tau: int,
    rel: float = 1e-3,
    weights: np.ndarray | None = None,
    max_points: int = 48,
    stat_error: Callable[[int], float] | None = None,
    fraction: float = 0.1,
) -> tuple[int, int]:
    """Lattice times (k_min, N//2) for the cosh fit of the correlator (a choice of window).

    k_min is the first lattice time at which the fit's systematic error
    (:func:`gap_fit_bias`, for these ``weights``) is below ``rel`` (E1 - E0), or, when
    ``stat_error(k)`` (the statistical error of the fit started at k) is given, below
    ``fraction`` times that error if this happens earlier: a systematic far below the
    statistical error is not worth a shorter window of noisier data.  The
    weights matter: inverse-variance weights favour short times, where the contamination
    is largest.  If no start reaches the bound, the one with the smallest systematic error
    is taken; at least 3 points are kept.
    """
    kmax = n_tau // 2
    bias_at, gap = _gap_fit_bias_function(potential, mass, beta, n_tau, weights, max_points)
    bias: list[float] = [np.inf]  # bias[k] for k = 1, 2, ... as far as the scan goes
    for k in range(1, max(2, kmax - 1)):  # the fits only up to the first good start
        bias.append(bias_at(k))
        if bias[k] <= rel * gap:
            break
    k_rel = int(np.argmin(bias))  # the first good start, or the least biased one
    if stat_error is not None:
        for k in range(1, k_rel):
            err = stat_error(k)
            if np.isfinite(err) and bias[k] <= fraction * err:
                return k, kmax
    return k_rel, kmax


def _thermal_mean_x(spec: Spectrum, beta: float) -> float:
    """<x> at inverse temperature beta from the spectrum."""
    e = spec.energies - spec.energies[0]
    w = np.exp(-beta * e)
    w /= w.sum()
    return float(((spec.wavefunctions**2 * spec.h) @ w) @ spec.x)
