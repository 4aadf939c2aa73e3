"""Extrapolation of Binder-cumulant crossings of several size pairs to L -> infinity.

Near the critical point U_L(K) = U* + b t L^(1/nu) + c L^-omega + ... (t = K - K_c), so the
crossing of sizes L1 < L2 lies at

    K*(L1, L2) = K_c + A g(L1, L2),   g = (L1^-omega - L2^-omega) / (L2^(1/nu) - L1^(1/nu)),

which for pairs of a fixed ratio L2/L1 is proportional to L1^-(1/nu + omega).  The 2D Ising
class (both Ising lattices and phi^4) has nu = 1; its leading irrelevant operator gives
omega = 2, so the crossings of the (8, 16) and (16, 32) pairs approach K_c as 1/L^3.  The
analytic background of the susceptibility adds a correction L^-7/4 to U_L, i.e. an
effective omega = 7/4: the fit is repeated with that exponent and the shift of K_c is
reported as the systematic error of the exponent choice (on the default sizes it is a
fraction of the statistical error).

Method: a generalised (correlated) least-squares fit of K_c and A to the pair crossings.
Pairs share sizes, so their crossings are correlated: the covariance comes from the
bootstrap replicates of all crossings (the same resampled data give every pair's crossing
in a replicate), and the fit, a fixed linear combination of the crossings, is applied to
every replicate; the standard deviation of those refits is the error of K_c.  The exponents
are held fixed: with two to four pairs a free exponent is not determined by the data.

With one pair only (two sizes) there is nothing to extrapolate: the estimate falls back to
that crossing, flagged ``extrapolated = False``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NU = 1.0
"""Correlation-length exponent of the 2D Ising universality class."""
OMEGA = 2.0
"""Leading correction-to-scaling exponent used for the estimate."""
OMEGA_ALT = 1.75
"""Effective exponent of the analytic background (chi's L^-7/4): the systematic check."""


def scaling_variable(pairs: np.ndarray, nu: float = NU, omega: float = OMEGA) -> np.ndarray:
    """g(L1, L2) = (L1^-omega - L2^-omega)/(L2^(1/nu) - L1^(1/nu)) of every pair.

    Args:
        pairs: (P, 2) sizes L1 < L2.
        nu, omega: the exponents.

    Returns:
        (P,) the variable in which the crossings are linear (0 at L = infinity).
    """
    p = np.asarray(pairs, dtype=float).reshape(-1, 2)
    l1, l2 = p[:, 0], p[:, 1]
    return (l1**-omega - l2**-omega) / (l2 ** (1 / nu) - l1 ** (1 / nu))


@dataclass
class Extrapolation:
    """Crossings extrapolated to infinite size.

    Attributes:
        value: K_c (the intercept at g = 0); for one pair, that pair's crossing.
        error: standard deviation of the refits of the bootstrap replicates.
        slope: the amplitude A of g (NaN without extrapolation).
        chi2: chi^2 of the correlated fit (NaN without extrapolation; 0 for two pairs,
            which the line goes through).
        dof: pairs used - 2 (0 without extrapolation).
        used: (P,) which pairs entered (finite crossing and error).
        scaling: (P,) g of every pair.
        covariance: (P, P) bootstrap covariance of the crossings (NaN where not finite).
        replicates: (B,) the refit of every bootstrap replicate (NaN where one of the used
            pairs had no crossing).
        extrapolated: False for the fallback to a single crossing.
        fallback: why it fell back ('' when extrapolated).
        omega_shift: K_c(omega = OMEGA_ALT) - K_c (NaN without extrapolation).
        nu, omega: the exponents of the fit.
    """

    value: float
    error: float
    slope: float
    chi2: float
    dof: int
    used: np.ndarray
    scaling: np.ndarray
    covariance: np.ndarray
    replicates: np.ndarray
    extrapolated: bool
    fallback: str
    omega_shift: float
    nu: float = NU
    omega: float = OMEGA


def _weights(g: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """(2, P) matrix mapping crossings to (intercept, slope) in the generalised least-squares
    fit of a + b g with covariance ``cov`` (pseudo-inverse: the bootstrap covariance of
    nearly equal pairs may be close to singular)."""
    x = np.column_stack([np.ones_like(g), g])
    w = np.linalg.pinv(cov)
    return np.linalg.pinv(x.T @ w @ x) @ x.T @ w


def extrapolate(
    pairs: np.ndarray,
    estimate: np.ndarray,
    replicates: np.ndarray,
    nu: float = NU,
    omega: float = OMEGA,
) -> Extrapolation:
    """Fit K*(L1, L2) = K_c + A g(L1, L2) to the crossings with their bootstrap covariance.

    Args:
        pairs: (P, 2) size pairs.
        estimate: (P,) crossings on the original data.
        replicates: (B, P) crossings of the bootstrap replicates (NaN: no crossing).
        nu, omega: exponents of the scaling variable.

    Returns:
        The extrapolation; with fewer than two usable pairs, the crossing of the largest
        usable pair (NaN if none), flagged ``extrapolated = False``.
    """
    pairs = np.asarray(pairs).reshape(-1, 2)
    estimate = np.asarray(estimate, dtype=float)
    reps = np.asarray(replicates, dtype=float).reshape(-1, len(estimate))
    g = scaling_variable(pairs, nu, omega)
    complete = np.all(np.isfinite(reps), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.array([np.nanstd(r, ddof=1) if np.isfinite(r).sum() > 1 else np.nan
                        for r in reps.T])  # fmt: skip
    used = np.isfinite(estimate) & np.isfinite(err) & (err > 0)
    cov = np.full((len(estimate),) * 2, np.nan)
    if complete.sum() > 1:
        cov = np.cov(reps[complete], rowvar=False, ddof=1).reshape(cov.shape)
    if used.sum() < 2:
        k = np.flatnonzero(np.isfinite(estimate))
        last = k[-1] if len(k) else None
        why = (
            "one size pair only: the crossing of the two sizes, not extrapolated"
            if len(estimate) == 1
            else "fewer than two pairs with a crossing and an error: the crossing of the "
            "largest such pair, not extrapolated"
        )
        return Extrapolation(
            value=float(estimate[last]) if last is not None else float("nan"),
            error=float(err[last]) if last is not None else float("nan"),
            slope=float("nan"),
            chi2=float("nan"),
            dof=0,
            used=used,
            scaling=g,
            covariance=cov,
            replicates=reps[:, last] if last is not None else np.full(len(reps), np.nan),
            extrapolated=False,
            fallback=why,
            omega_shift=float("nan"),
            nu=nu,
            omega=omega,
        )
    sub = np.ix_(used, used)
    c = cov[sub] if np.all(np.isfinite(cov[sub])) else np.diag(err[used] ** 2)
    w = _weights(g[used], c)
    intercept, slope = w @ estimate[used]
    resid = estimate[used] - intercept - slope * g[used]
    chi2 = float(resid @ np.linalg.pinv(c) @ resid)
    refits = reps[:, used] @ w[0]
    ok = np.isfinite(refits)
    error = float(np.std(refits[ok], ddof=1)) if ok.sum() > 1 else float("nan")
    g_alt = scaling_variable(pairs[used], nu, OMEGA_ALT)
    alt = float((_weights(g_alt, c) @ estimate[used])[0])
    return Extrapolation(
        value=float(intercept),
        error=error,
        slope=float(slope),
        chi2=chi2 if used.sum() > 2 else 0.0,
        dof=int(used.sum() - 2),
        used=used,
        scaling=g,
        covariance=cov,
        replicates=refits,
        extrapolated=True,
        fallback="",
        omega_shift=alt - float(intercept),
        nu=nu,
        omega=omega,
    )
