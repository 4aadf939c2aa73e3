"""Autocorrelation-aware Monte Carlo error analysis: U. Wolff's Gamma method.

Reference: U. Wolff, "Monte Carlo errors with less errors", Comput. Phys. Commun. 156
(2004) 143.  For a primary observable the autocorrelation function Gamma(t) of the
series is summed up to an automatically chosen window W; for a derived quantity
F(<a_1>, ..., <a_n>) (Binder cumulant, specific heat, ...) the same is done for the
series projected on the gradient of F, which gives the linear-order error of F.

Conventions: ``tau_int = 1/2 + sum_{t>=1} rho(t)`` (an uncorrelated series has 0.5),
``error_of_mean**2 = 2 tau_int variance / N``, times in units of stored measurements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Stats:
    """Monte Carlo estimate of one quantity (arrays broadcast over e.g. couplings).

    Attributes:
        mean: the estimate.
        error_of_mean: one standard error, autocorrelation-corrected.
        variance: variance of the underlying series (or of the projected series for a
            derived quantity); NaN where not defined.
        tau_int: integrated autocorrelation time in units of stored measurements.
    """

    mean: Any
    error_of_mean: Any
    variance: Any
    tau_int: Any


DEFAULT_S = 1.5
"""Wolff's S parameter: the window is chosen assuming tau_exp ~ S tau_int."""


def autocovariance(x: np.ndarray) -> np.ndarray:
    """Gamma(t) = 1/(N-t) sum_i d_i d_{i+t}, d = x - mean(x), for t = 0..N-1 (FFT)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    d = x - x.mean()
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(d, size)
    acf = np.fft.irfft(f * np.conj(f), size)[:n]
    return acf / np.arange(n, 0, -1)


def _window(gamma: np.ndarray, n: int, s: float) -> int:
    """Wolff's automatic window: the first W with g(W) < 0 (or the largest allowed W)."""
    if gamma[0] <= 0:
        return 0
    rho = gamma / gamma[0]
    tau_w = 0.5 + np.cumsum(rho[1:])  # tau_int(W) for W = 1, 2, ...
    wmax = len(tau_w)
    for w in range(1, wmax + 1):
        t = tau_w[w - 1]
        tau = s / np.log((2 * t + 1) / (2 * t - 1)) if t > 0.5 else 1e-300
        g = np.exp(-w / tau) - tau / np.sqrt(w * n)
        if g < 0:
            return w
    return wmax


def _gamma_core(x: np.ndarray, s: float) -> tuple[float, float, float]:
    """(error, variance, tau_int) of the mean of one series by Wolff's windowing.

    A constant series has error and variance 0 (tau_int 0.5); a series with a non-finite
    value has none of them (NaN): its error cannot be estimated.
    """
    n = x.size
    if not np.all(np.isfinite(x)):
        return float("nan"), float("nan"), float("nan")
    # Wolff's windowing needs Gamma up to W; W < N/2 keeps the estimate meaningful.
    gamma = autocovariance(x)[: max(2, n // 2)]
    if gamma[0] <= 0:
        return 0.0, 0.0, 0.5
    w = _window(gamma, n, s)
    c = gamma[0] + 2 * gamma[1 : w + 1].sum()
    gamma = gamma + c / n  # bias correction of Gamma (Wolff eq. 31)
    c = gamma[0] + 2 * gamma[1 : w + 1].sum()
    c = max(c, gamma[0] / n)  # a non-positive sum would mean no error at all
    return float(np.sqrt(c / n)), float(gamma[0]), float(c / (2 * gamma[0]))


def gamma_method(series: np.ndarray, s: float = DEFAULT_S) -> Stats:
    """Mean, autocorrelation-corrected error, variance and tau_int of one series.

    Wolff's window assumes a monotonically decaying autocorrelation.  A chain whose
    successive measurements are strongly anticorrelated (rho(1) < -0.1, e.g. an
    over-relaxation step that flips a stiff mode every sweep) can hide a slow mode
    behind the alternation and stop the window at W = 1; for such series the error is
    also computed on the series averaged in pairs, which removes the period-2 part, and
    the larger of the two is reported (tau_int is then the effective one,
    N error^2 / (2 variance)).

    A series holding NaN or inf has a NaN mean and NaN error, variance and tau_int (an
    error of 0 would claim an exact value); a constant series has error 0.

    Args:
        series: shape (N,), successive measurements of one Markov chain.
        s: Wolff's S parameter.
    """
    x = np.asarray(series, dtype=np.float64)
    n = x.size
    if n < 2:
        raise ValueError(f"need at least 2 measurements, got {n}")
    mean = float(x.mean())
    err, var, tau = _gamma_core(x, s)
    if var > 0 and n >= 16:
        d = x - mean
        rho1 = float(np.dot(d[:-1], d[1:]) / (n - 1) / var)
        if rho1 < -0.1:
            pairs = x[: n - n % 2].reshape(-1, 2).mean(axis=1)
            err_pairs = _gamma_core(pairs, s)[0]
            if err_pairs > err:
                err, tau = err_pairs, n * err_pairs**2 / (2 * var)
    return Stats(mean, err, var, tau)


def derived(func: Callable[[np.ndarray], float], series: np.ndarray, s: float = DEFAULT_S) -> Stats:
    """Estimate F(<a_1>, ..., <a_n>) with the Gamma method's linear error propagation.

    Args:
        func: maps the vector of means, shape (n,), to a float.
        series: shape (n, N), the primary observables measured on the same chain.
        s: Wolff's S parameter.

    Returns:
        Stats of F: ``mean`` is F at the sample means (bias O(1/N) not removed),
        ``variance`` and ``tau_int`` refer to the gradient-projected series.  Where F is
        NaN at the means or at a finite-difference step next to them (the step left F's
        domain), the gradient is unknown and the error, variance and tau_int are NaN.
    """
    a = np.atleast_2d(np.asarray(series, dtype=np.float64))
    means = a.mean(axis=1)
    value = float(func(means))
    sd = a.std(axis=1)
    grad = np.empty(len(means))
    for k in range(len(means)):
        h = 1e-4 * sd[k] if sd[k] > 0 else 1e-8 * max(abs(means[k]), 1.0)
        up, dn = means.copy(), means.copy()
        up[k] += h
        dn[k] -= h
        grad[k] = (func(up) - func(dn)) / (2 * h)
    projected = grad @ (a - means[:, None])
    st = gamma_method(projected + value, s)
    return Stats(value, st.error_of_mean, st.variance, st.tau_int)
