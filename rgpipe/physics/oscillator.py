"""0+1D field theory: the Euclidean path integral of a particle in a potential.

Lattice action (periodic, ``N = n_tau`` time slices, spacing ``a = beta / N``, hbar = 1)::

    S[x] = sum_i [ m (x_{i+1} - x_i)^2 / (2 a) + a V(x_i) ],   x_N = x_0,

with the measure ``prod_i dx_i sqrt(m / (2 pi a))``, so that ``Z = Tr T^N`` with the
transfer operator ``T = exp(-a V / 2) exp(-a p^2 / (2 m)) exp(-a V / 2)`` and
``Z -> Tr exp(-beta H)``, ``H = p^2 / (2 m) + V(x)``, as ``a -> 0`` (errors O(a^2)).

Potentials are polynomials ``V(x) = sum_k c_k x^k`` (coefficients in increasing
powers, even degree, positive leading coefficient so the path integral exists):

* double well ``V = lam / 4 (x^2 - eta^2)^2`` (minima at +-eta, V_min = 0),
* harmonic ``V = m omega^2 x^2 / 2``,
* any other confining polynomial, e.g. ``x^2 + x^4`` = ``polynomial([0, 0, 1, 0, 1])``.

Observables (per configuration, shape (n_conf,) unless stated; time in units of 1/energy):

* ``x``: (1/N) sum_i x_i; ``x2``, ``x4``: (1/N) sum_i x_i^2, x_i^4;
* ``energy``: the virial estimator (1/N) sum_i [V(x_i) + x_i V'(x_i) / 2].  In the
  continuum <[H, x p]> = 0 in any stationary state gives 2 <T> = <x V'>, so its mean is
  the thermal energy <H>; its variance stays finite as a -> 0.  On the lattice its mean
  differs from <H> by O(a^2) (compared with the exact lattice expectation in tests);
* ``energy_thermo``: the thermodynamic (primitive) estimator -d ln Z / d beta at fixed N,
  1/(2a) - m/(2 a^2 N) sum_i (x_{i+1} - x_i)^2 + (1/N) sum_i V(x_i): exact for the lattice
  -d ln Z/d beta, but its variance grows like 1/(2 a beta) as a -> 0;
* ``correlator``: C(tau_k) = (1/N) sum_i x_i x_{i+k} averaged over time origins, shape
  (n_conf, N // 2 + 1) for k = 0..N//2 (C(N - k) = C(k) configuration by configuration);
* the gap E1 - E0 from a cosh fit A cosh(dE (tau - beta/2)) of C(tau) (the connected one,
  C - <x>^2, for potentials that are not even), with Gamma-method errors
  (:func:`gap_stats`); the effective mass arccosh((C(k-1) + C(k+1)) / (2 C(k))) / a.

The continuum limit of E0 and E1 - E0 is taken with :func:`extrapolate_continuum`
(weighted least squares in powers of a, by default c0 + c2 a^2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import brentq

from rgpipe.stats import Stats, derived, gamma_method

# --------------------------------------------------------------------------- potentials


@dataclass(frozen=True)
class Potential:
    """A confining polynomial potential V(x) = sum_k coeffs[k] x^k.

    Attributes:
        coeffs: float64 (degree + 1,), increasing powers; trailing zeros are removed.
        name: ``double_well``, ``harmonic`` or ``polynomial``.
        params: the parameters the potential was built from (for provenance).
    """

    coeffs: np.ndarray
    name: str = "polynomial"
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = np.array(self.coeffs, dtype=np.float64).ravel()
        if not np.all(np.isfinite(c)):
            raise ValueError(f"potential coefficients must be finite, got {c.tolist()}")
        nz = np.flatnonzero(c)
        if nz.size == 0:
            raise ValueError("the potential is identically zero: not confining")
        c = c[: nz[-1] + 1]
        degree = c.size - 1
        if degree < 2 or degree % 2 or c[-1] <= 0:
            raise ValueError(
                f"the potential {c.tolist()} is not confining: need an even degree >= 2 "
                "with a positive leading coefficient"
            )
        c.setflags(write=False)
        object.__setattr__(self, "coeffs", c)

    @property
    def degree(self) -> int:
        """Degree of the polynomial."""
        return int(self.coeffs.size - 1)

    @property
    def is_even(self) -> bool:
        """True when V(-x) = V(x) (all odd coefficients vanish): x -> -x is a symmetry."""
        return bool(np.all(self.coeffs[1::2] == 0.0))

    def value(self, x: np.ndarray | float) -> np.ndarray:
        """V(x), elementwise."""
        return np.polynomial.polynomial.polyval(x, self.coeffs)

    def derivative(self, x: np.ndarray | float, order: int = 1) -> np.ndarray:
        """d^order V / dx^order at x, elementwise."""
        return np.polynomial.polynomial.polyval(
            x, np.polynomial.polynomial.polyder(self.coeffs, order)
        )

    def virial(self, x: np.ndarray | float) -> np.ndarray:
        """V(x) + x V'(x) / 2: the virial energy estimator at one time slice."""
        return self.value(x) + 0.5 * np.asarray(x) * self.derivative(x)

    def critical_points(self) -> np.ndarray:
        """Real roots of V' (sorted)."""
        roots = np.polynomial.polynomial.polyroots(np.polynomial.polynomial.polyder(self.coeffs))
        real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots.real))].real
        return np.sort(real)

    def minima(self) -> np.ndarray:
        """Local minima (sorted); a flat minimum such as x = 0 of x^4 counts."""
        cp = self.critical_points()
        out = []
        for x0 in cp:
            h = 1e-4 * max(1.0, abs(x0))
            v0 = self.value(x0)
            if self.value(x0 - h) >= v0 and self.value(x0 + h) >= v0:
                out.append(x0)
        out = np.sort(np.array(out))
        keep = np.concatenate([[True], np.diff(out) > 1e-9]) if out.size else out.astype(bool)
        return out[keep]

    def global_minimum(self) -> tuple[float, float]:
        """(x, V) of the global minimum (the largest x among degenerate minima)."""
        mins = self.minima()
        vals = self.value(mins)
        vmin = vals.min()
        pick = mins[vals <= vmin + 1e-12 * max(1.0, abs(vmin))]
        x0 = float(pick.max())
        return x0, float(self.value(x0))

    def spec(self) -> dict[str, Any]:
        """JSON-able description: name, parameters and coefficients."""
        return {"name": self.name, **dict(self.params), "coeffs": self.coeffs.tolist()}


def double_well(lam: float, eta: float) -> Potential:
    """V = lam/4 (x^2 - eta^2)^2 = lam eta^4/4 - lam eta^2 x^2/2 + lam x^4/4 (lam > 0)."""
    if not lam > 0:
        raise ValueError(f"double well: lam must be > 0, got {lam}")
    c = [lam * eta**4 / 4.0, 0.0, -lam * eta**2 / 2.0, 0.0, lam / 4.0]
    return Potential(np.array(c), "double_well", {"lam": float(lam), "eta": float(eta)})


def harmonic(mass: float, omega: float) -> Potential:
    """V = m omega^2 x^2 / 2 (omega > 0)."""
    if not (mass > 0 and omega > 0):
        raise ValueError(f"harmonic: need mass > 0 and omega > 0, got {mass}, {omega}")
    c = [0.0, 0.0, 0.5 * mass * omega**2]
    return Potential(np.array(c), "harmonic", {"omega": float(omega), "mass": float(mass)})


def polynomial(coeffs: Sequence[float]) -> Potential:
    """V = sum_k coeffs[k] x^k (increasing powers), e.g. [0, 0, 1, 0, 1] for x^2 + x^4."""
    return Potential(np.asarray(coeffs, dtype=np.float64), "polynomial", {})


def potential_from_spec(spec: Mapping[str, Any], mass: float = 1.0) -> Potential:
    """Build a potential from ``{"potential": name, ...parameters}``.

    Names and parameters: ``double_well`` (lam, eta), ``harmonic`` (omega; uses ``mass``),
    ``polynomial`` (coeffs, increasing powers).
    """
    name = spec.get("potential", "double_well")
    if name == "double_well":
        return double_well(float(spec["lam"]), float(spec["eta"]))
    if name == "harmonic":
        return harmonic(mass, float(spec["omega"]))
    if name == "polynomial":
        return polynomial(spec["coeffs"])
    raise ValueError(
        f"unknown potential {name!r} (expected 'double_well', 'harmonic' or 'polynomial')"
    )


def quantum_length(potential: Potential, mass: float) -> float:
    """Length l with V(x_min + l) - V_min = 1 / (m l^2), on the steeper side of the minimum.

    The size of the ground-state wave function in its well (2^{1/4} / sqrt(m omega) for a
    harmonic well); it sets grid spacings and default step sizes.
    """
    x0, v0 = potential.global_minimum()
    ls = []
    for sign in (1.0, -1.0):
        lo, hi = 1e-12, 1.0
        while potential.value(x0 + sign * hi) - v0 < 1.0 / (mass * hi * hi):
            hi *= 2.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if potential.value(x0 + sign * mid) - v0 < 1.0 / (mass * mid * mid):
                lo = mid
            else:
                hi = mid
        ls.append(hi)
    return float(min(ls))


def well_frequency(potential: Potential, mass: float) -> float:
    """Frequency scale of the global minimum: max(sqrt(V''(x_min) / m), sqrt(2) / (m l^2)).

    l is :func:`quantum_length`; both expressions equal omega for a harmonic well, and
    the second keeps the scale positive for a flat minimum (V'' = 0, e.g. x^4).
    """
    x0, _ = potential.global_minimum()
    curv = float(potential.derivative(x0, 2))
    length = quantum_length(potential, mass)
    return float(max(np.sqrt(max(curv, 0.0) / mass), np.sqrt(2.0) / (mass * length * length)))


# ---------------------------------------------------------------------------- the action


def lattice_spacing(beta: float, n_tau: int) -> float:
    """a = beta / n_tau."""
    return float(beta) / int(n_tau)


def action(x: np.ndarray, potential: Potential, mass: float, a: float) -> np.ndarray:
    """S[x] for configurations x of shape (..., N) (periodic in the last axis); shape (...)."""
    x = np.asarray(x, dtype=np.float64)
    dx = np.roll(x, -1, axis=-1) - x
    return mass * (dx * dx).sum(-1) / (2.0 * a) + a * potential.value(x).sum(-1)


# --------------------------------------------------------------------------- observables


def scalar_observables(
    x: np.ndarray, potential: Potential, mass: float, a: float
) -> dict[str, np.ndarray]:
    """Per-configuration observables x, x2, x4, energy (virial), energy_thermo.

    Args:
        x: configurations, shape (n_conf, N) (or (N,)).

    Returns:
        dict of float64 arrays of shape (n_conf,) (or scalars for one configuration).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    dx = np.roll(x, -1, axis=-1) - x
    pot = potential.value(x)
    x2 = x * x
    return {
        "x": x.mean(-1),
        "x2": x2.mean(-1),
        "x4": (x2 * x2).mean(-1),
        "energy": potential.virial(x).mean(-1),
        "energy_thermo": 1.0 / (2.0 * a)
        - mass * (dx * dx).sum(-1) / (2.0 * a * a * n)
        + pot.mean(-1),
    }


def correlator(x: np.ndarray) -> np.ndarray:
    """C(k) = (1/N) sum_i x_i x_{i+k}, k = 0..N//2, per configuration (FFT).

    Args:
        x: shape (n_conf, N) or (N,).

    Returns:
        shape (n_conf, N // 2 + 1) (or (N // 2 + 1,)).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    f = np.fft.rfft(x, axis=-1)
    c = np.fft.irfft(f * np.conj(f), n, axis=-1) / n
    return c[..., : n // 2 + 1]


def effective_mass(c: np.ndarray, a: float) -> np.ndarray:
    """arccosh((C(k-1) + C(k+1)) / (2 C(k))) / a for k = 1..len(c)-1 (NaN where undefined).

    ``c`` holds C(0..N//2) of a periodic correlator of even N; the point beyond the end
    is taken by the symmetry C(N/2 + 1) = C(N/2 - 1).  For C = A cosh(dE (tau - beta/2))
    every entry equals dE exactly.
    """
    c = np.asarray(c, dtype=np.float64)
    ext = np.concatenate([c, c[-2:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (ext[:-2] + ext[2:]) / (2.0 * ext[1:-1])
        return np.where(r >= 1.0, np.arccosh(np.maximum(r, 1.0)), np.nan) / a


def _cosh_basis(gap: np.ndarray, u: np.ndarray, u0: float) -> tuple[np.ndarray, np.ndarray]:
    """f = cosh(gap u) scaled by exp(-gap u0), and its derivative in gap (same scaling).

    Shapes: gap (G, 1), u (T,) -> (G, T).  u = tau - beta/2, |u| <= u0; the common
    factor leaves the fitted gap unchanged and keeps large arguments finite.
    """
    ep = np.exp(gap * (u - u0))
    em = np.exp(-gap * (u + u0))
    return 0.5 * (ep + em), 0.5 * ((u - u0) * ep - (u + u0) * em)


def fit_cosh_gap(
    c: np.ndarray, tau: np.ndarray, beta: float, weights: np.ndarray | None = None
) -> float:
    """Least-squares gap dE of C(tau) ~ A cosh(dE (tau - beta/2)) (A eliminated exactly).

    Maximises R(dE) = (sum w C f)^2 / sum w f^2, f = cosh(dE (tau - beta/2)), on a grid,
    then solves dR/dE = 0 to machine precision (brentq), so the result is a smooth
    function of ``c`` (as :func:`rgpipe.stats.derived` needs).

    Args:
        c: correlator values at the times ``tau`` (same shape (T,), T >= 2).
        tau: times in [0, beta/2] (physical units).
        beta: the time extent.
        weights: fixed weights (T,), default 1.

    Returns:
        dE >= 0 (0 when the data prefer a constant).
    """
    c = np.asarray(c, dtype=np.float64)
    tau = np.asarray(tau, dtype=np.float64)
    w = np.ones_like(c) if weights is None else np.asarray(weights, dtype=np.float64)
    u = tau - 0.5 * beta
    u0 = float(np.abs(u).max())
    if u0 <= 0:
        raise ValueError("the fit window must contain a time other than beta/2")
    # grid up to a gap at which the window has decayed by exp(-300)
    top = 300.0 / max(u0 - float(np.abs(u).min()), 1e-300)
    grid = np.concatenate([[0.0], np.geomspace(1e-6 * top, top, 600)])

    def parts(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f, fp = _cosh_basis(np.atleast_1d(g)[:, None], u, u0)
        scf, sff = (w * c * f).sum(-1), (w * f * f).sum(-1)
        scfp, sffp = (w * c * fp).sum(-1), (w * f * fp).sum(-1)
        return scf * scf / sff, scf * (scfp * sff - scf * sffp)

    r, _ = parts(grid)
    j = int(np.argmax(r))
    if j == 0:
        return 0.0
    lo, hi = grid[j - 1], grid[min(j + 1, grid.size - 1)]

    def slope(g: float) -> float:
        return float(parts(np.array([g]))[1][0])

    s_lo, s_hi = slope(lo), slope(hi)
    if not (s_lo > 0 > s_hi):
        return float(grid[j])
    return float(brentq(slope, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500))


def fit_times(kmin: int, kmax: int, max_points: int = 48) -> np.ndarray:
    """Lattice times of the cosh fit: at most ``max_points`` equally spaced k in [kmin, kmax]."""
    stride = max(1, int(np.ceil((kmax - kmin + 1) / max_points)))
    return np.arange(kmin, kmax + 1, stride)


def correlator_weights(corr: np.ndarray) -> np.ndarray:
    """Fit weights 1/Var(row) per lattice time, shape (N//2 + 1,), from the rows of ``corr``.

    Args:
        corr: correlator series (n_rows, N//2 + 1).

    The weights depend on the data, so the fit window must be chosen for these weights
    (:func:`rgpipe.physics.oscillator_exact.gap_fit_window`): they favour the short times,
    where the variance is small and the higher levels contaminate C(tau) most.
    """
    var = np.asarray(corr, dtype=np.float64).var(axis=0)
    return 1.0 / np.where(var > 0, var, max(float(var.max()), 1e-300))


def gap_stats(
    corr: np.ndarray,
    a: float,
    beta: float,
    window: tuple[int, int],
    x_mean: np.ndarray | None = None,
    max_points: int = 48,
    weights: np.ndarray | None = None,
) -> Stats:
    """E1 - E0 from a cosh fit of the correlator, with Gamma-method errors.

    Args:
        corr: correlator series, shape (n_meas, N//2 + 1) (rows may be bin averages).
        a: lattice spacing; beta: N a.
        window: (k_min, k_max) lattice times of the fit (k_max <= N//2).
        x_mean: series of (1/N) sum_i x_i (same rows as ``corr``); when given, the
            connected correlator C(k) - <x>^2 is fitted (potentials that are not even).
        max_points: at most this many equally spaced times in the window are fitted
            (:func:`fit_times`).
        weights: fit weights per lattice time, shape (N//2 + 1,); default
            :func:`correlator_weights` of ``corr``.  They are held fixed in the error
            analysis (any fixed weights give a consistent estimator).

    Returns:
        Stats of the gap (energy units); error NaN when the fit prefers no curvature
        (gap 0: beta or the window too short to resolve it).
    """
    corr = np.asarray(corr, dtype=np.float64)
    ks = fit_times(window[0], window[1], max_points)
    rows = corr[:, ks].T
    tau = ks * a
    w = (correlator_weights(corr) if weights is None else np.asarray(weights))[ks]
    if x_mean is None:
        series = rows

        def func(m: np.ndarray) -> float:
            return fit_cosh_gap(m, tau, beta, w)
    else:
        series = np.vstack([rows, np.asarray(x_mean, dtype=np.float64)[None, :]])

        def func(m: np.ndarray) -> float:
            return fit_cosh_gap(m[:-1] - m[-1] ** 2, tau, beta, w)

    st = derived(func, series)
    if st.mean == 0.0:  # no curvature resolved: the gap is not determined by these data
        return Stats(0.0, float("nan"), float("nan"), float("nan"))
    return st


GAP_STATUS = (
    "ok",
    "error not estimable: the cosh fit prefers no curvature (gap 0), so beta or the fit "
    "window is too short to resolve the gap",
    "error not estimable: the fit is undefined next to the mean correlator (non-finite data)",
)
"""Meaning of each status code of :func:`gap_status` (0: mean and error estimated)."""


def gap_status(gap: Stats) -> int:
    """Status code of a :func:`gap_stats` result (:data:`GAP_STATUS`): 0 with a finite
    error, 1 for the fit that resolved no curvature (gap 0), 2 for any other NaN error."""
    if np.isfinite(gap.error_of_mean):
        return 0
    return 1 if gap.mean == 0.0 else 2


EFFECTIVE_MASS_STATUS = (
    "ok",
    "mean and error undefined: C(k) <= 0 (the correlator is lost in its noise there)",
    "mean and error undefined: (C(k-1) + C(k+1)) / (2 C(k)) < 1 (C(tau) is not convex there "
    "within its noise; arccosh needs a ratio >= 1)",
    "error not estimable: (C(k-1) + C(k+1)) / (2 C(k)) lies within one standard error of 1, "
    "where arccosh is not differentiable (linear error propagation fails; the relative "
    "error would exceed 1/2)",
)
"""Meaning of each status code of :func:`effective_mass_stats` (0: mean and error estimated)."""


def effective_mass_stats(corr: np.ndarray, a: float) -> tuple[Stats, np.ndarray]:
    """Effective mass arccosh(r_k) / a, r_k = (C(k-1) + C(k+1)) / (2 C(k)), per lattice time
    k = 1..N//2, with Gamma-method errors.

    The ratio r_k is a smooth function of the mean correlator; its error comes from
    :func:`~rgpipe.stats.derived`, and the effective mass's from the chain rule,
    d arccosh(r)/dr = 1 / sqrt(r^2 - 1) (a finite-difference step in C would be as large
    as the error of r_k, whose components are strongly correlated across k, and cross
    r = 1).  Where r_k is not above 1 by more than its error, the error is NaN, and where
    C(k) <= 0 or r_k < 1 the mean as well; ``status`` says which
    (:data:`EFFECTIVE_MASS_STATUS`).  Where r_k - 1 is a few of its errors the error is
    still right as a spread (it matches a jackknife), but the distribution is skewed by the
    curvature of arccosh: an upward fluctuation of r_k shows up to twice as many errors in
    the effective mass as in r_k.

    Args:
        corr: correlator series, shape (n_meas, N//2 + 1) (rows may be bin averages).
        a: lattice spacing.

    Returns:
        (Stats of float64 arrays (N//2,) in energy units, status int8 (N//2,)).
    """
    corr = np.asarray(corr, dtype=np.float64)
    nk = corr.shape[1]
    out = {f: np.full(nk - 1, np.nan) for f in ("mean", "error_of_mean", "variance", "tau_int")}
    status = np.zeros(nk - 1, dtype=np.int8)
    for k in range(1, nk):
        rows = corr[:, [k - 1, k, k + 1 if k + 1 < nk else k - 1]].T
        if not rows[1].mean() > 0.0:
            status[k - 1] = 1
            continue
        r = derived(lambda m: (m[0] + m[2]) / (2.0 * m[1]), rows)
        if not r.mean >= 1.0:
            status[k - 1] = 2
            continue
        out["mean"][k - 1] = float(np.arccosh(r.mean) / a)
        if not r.mean - 1.0 > r.error_of_mean:
            status[k - 1] = 3
            continue
        slope = 1.0 / (a * np.sqrt(r.mean * r.mean - 1.0))
        out["error_of_mean"][k - 1] = slope * r.error_of_mean
        out["variance"][k - 1] = slope * slope * r.variance
        out["tau_int"][k - 1] = r.tau_int
    return Stats(out["mean"], out["error_of_mean"], out["variance"], out["tau_int"]), status


def series_stats(series: np.ndarray) -> Stats:
    """Gamma-method Stats column by column for a series of shape (n_meas, K) (array Stats)."""
    series = np.asarray(series, dtype=np.float64)
    sts = [gamma_method(series[:, k]) for k in range(series.shape[1])]
    return Stats(
        np.array([s.mean for s in sts]),
        np.array([s.error_of_mean for s in sts]),
        np.array([s.variance for s in sts]),
        np.array([s.tau_int for s in sts]),
    )


# ---------------------------------------------------------------- continuum extrapolation


@dataclass(frozen=True)
class ContinuumExtrapolation:
    """Weighted least-squares fit value(a) = sum_p coeffs[p] a^p.

    Attributes:
        value, error: the a -> 0 limit (coefficient of a^0) and its one-sigma error
            (from the input errors, not rescaled by chi2).
        chi2, dof: goodness of fit (dof = points - parameters).
        powers: the powers of a fitted; coeffs, covariance: all fit parameters.
    """

    value: float
    error: float
    chi2: float
    dof: int
    powers: tuple[int, ...]
    coeffs: np.ndarray
    covariance: np.ndarray

    def as_stats(self) -> Stats:
        """The limit as a Stats (variance and tau_int NaN: not a series estimate)."""
        return Stats(self.value, self.error, float("nan"), float("nan"))


def extrapolate_continuum(
    points: Sequence[tuple[float, float, float]], powers: Sequence[int] = (0, 2)
) -> ContinuumExtrapolation:
    """Extrapolate (a, value, error) points (independent runs) to a = 0.

    The symmetric (Trotter) splitting of the lattice action has O(a^2) leading errors,
    hence the default ansatz c0 + c2 a^2; add 4 for c0 + c2 a^2 + c4 a^4 when there are
    enough points.

    Args:
        points: at least len(powers) triples (a > 0, value, error > 0).
        powers: distinct non-negative powers of a; must contain 0.
    """
    pts = np.asarray(points, dtype=np.float64)
    powers = tuple(int(p) for p in powers)
    if 0 not in powers or len(set(powers)) != len(powers):
        raise ValueError(f"powers must be distinct and contain 0, got {powers}")
    if pts.ndim != 2 or pts.shape[1] != 3 or pts.shape[0] < len(powers):
        raise ValueError(f"need at least {len(powers)} (a, value, error) triples")
    a, y, e = pts.T
    if np.any(a <= 0) or np.any(e <= 0):
        raise ValueError("lattice spacings and errors must be positive")
    design = a[:, None] ** np.array(powers)[None, :]
    wd = design / e[:, None]
    cov = np.linalg.inv(wd.T @ wd)
    coeffs = cov @ (wd.T @ (y / e))
    resid = (y - design @ coeffs) / e
    i0 = powers.index(0)
    return ContinuumExtrapolation(
        value=float(coeffs[i0]),
        error=float(np.sqrt(cov[i0, i0])),
        chi2=float(resid @ resid),
        dof=int(len(y) - len(powers)),
        powers=powers,
        coeffs=coeffs,
        covariance=cov,
    )
