"""Extrapolation of Binder crossings to L -> infinity: the scaling variable, the correlated
fit against independent linear algebra, and synthetic Binder curves of known K_c."""

import numpy as np
import pytest

from rgpipe.analysis.binder import BinderCurve, interpolated_crossings
from rgpipe.analysis.crossing_fit import OMEGA_ALT, extrapolate, scaling_variable

K_C = 0.44068679350977147


def test_scaling_variable_of_doubling_pairs_falls_as_l_to_the_minus_3():
    g = scaling_variable(np.array([[8, 16], [16, 32], [32, 64]]))
    assert g[0] / g[1] == pytest.approx(8.0, rel=1e-12)
    assert g[1] / g[2] == pytest.approx(8.0, rel=1e-12)
    assert g[0] == pytest.approx((8.0**-2 - 16.0**-2) / 8.0, rel=1e-12)
    g = scaling_variable(np.array([[8, 16]]), omega=OMEGA_ALT)
    assert g[0] == pytest.approx((8.0**-1.75 - 16.0**-1.75) / 8.0, rel=1e-12)


def test_correlated_fit_and_its_bootstrap_error():
    """Three pairs with strongly correlated crossings: the estimate equals the generalised
    least-squares intercept computed by whitening, and the bootstrap error of the refits
    the error propagated through the true covariance (to 10%, 4000 replicates)."""
    pairs = np.array([[8, 16], [16, 32], [32, 64]])
    g = scaling_variable(pairs)
    sd = np.array([4e-4, 2e-4, 1.5e-4])
    corr = np.array([[1.0, -0.8, 0.3], [-0.8, 1.0, -0.7], [0.3, -0.7, 1.0]])
    cov = corr * np.outer(sd, sd)
    truth = K_C + 3.0 * g
    estimate = truth + np.array([1e-4, -1e-4, 5e-5])
    rng = np.random.default_rng(7)
    reps = rng.multivariate_normal(estimate, cov, size=4000)
    ext = extrapolate(pairs, estimate, reps)
    # independent GLS on the covariance of the same replicates: whiten, then least squares
    c = np.cov(reps, rowvar=False)
    chol = np.linalg.cholesky(np.linalg.inv(c))
    x = np.column_stack([np.ones(3), g])
    coef, *_ = np.linalg.lstsq(chol.T @ x, chol.T @ estimate, rcond=None)
    assert ext.value == pytest.approx(coef[0], abs=1e-12)
    assert ext.slope == pytest.approx(coef[1], rel=1e-9)
    resid = estimate - x @ coef
    assert ext.chi2 == pytest.approx(resid @ np.linalg.inv(c) @ resid, rel=1e-9)
    assert ext.dof == 1 and ext.extrapolated and ext.fallback == ""
    # the error the true covariance propagates to the intercept
    w = np.linalg.inv(x.T @ np.linalg.inv(cov) @ x) @ x.T @ np.linalg.inv(cov)
    expected = float(np.sqrt(w[0] @ cov @ w[0]))
    assert 0.9 * expected < ext.error < 1.1 * expected
    # ignoring the correlations would give a visibly different error
    naive = float(np.sqrt(np.sum(w[0] ** 2 * sd**2)))
    assert abs(naive / expected - 1) > 0.25


def synthetic_curves(sizes, k_c, noise, seed, u_star=0.61, b=0.8, c=-2.0):
    """U_L(K) = U* + b (K - K_c) L + c L^-2 at 9 couplings, plus Gaussian noise: crossings
    at K_c + (c/b) g(L1, L2) exactly (nu = 1, omega = 2)."""
    rng = np.random.default_rng(seed)
    k = np.linspace(k_c - 0.02, k_c + 0.02, 9)
    out = []
    for L in sizes:
        u = u_star + b * (k - k_c) * L + c * float(L) ** -2
        err = np.full(k.shape, max(noise, 1e-9))
        out.append(BinderCurve(L, k, u + noise * rng.normal(size=k.shape), err))
    return out


def test_exact_curves_extrapolate_to_k_c_for_any_size_ratios():
    sizes = [6, 8, 12, 16, 24, 32]
    res = interpolated_crossings(synthetic_curves(sizes, K_C, 0.0, 0), n_boot=20, seed=1)
    ext = extrapolate(res.pairs, res.estimate, res.replicates)
    assert ext.extrapolated and ext.dof == 3 and ext.used.all()
    assert ext.value == pytest.approx(K_C, abs=1e-9)
    assert ext.slope == pytest.approx(-2.0 / 0.8, rel=1e-6)
    assert abs(res.estimate[-1] - K_C) > 1e-4  # the largest pair alone is far off
    assert ext.omega_shift != 0.0


def test_two_sizes_fall_back_to_their_crossing():
    res = interpolated_crossings(synthetic_curves([8, 16], K_C, 1e-3, 0), n_boot=30, seed=1)
    ext = extrapolate(res.pairs, res.estimate, res.replicates)
    assert not ext.extrapolated and "not extrapolated" in ext.fallback
    assert ext.value == res.estimate[0] and ext.error == pytest.approx(res.error[0])
    assert ext.dof == 0 and np.isnan(ext.chi2) and np.isnan(ext.slope)


def test_noisy_curves_error_matches_the_spread_of_independent_data_sets():
    """Sixteen independent noisy data sets (sizes 8 to 64, three pairs): every estimate within
    4 of its bootstrap errors of K_c, the sum of squared pulls within its chi^2(16) 0.1% to
    99.9% range, and the mean bootstrap error within 35% of the spread of the estimates."""
    values, errors = [], []
    for s in range(16):
        curves = synthetic_curves([8, 16, 32, 64], K_C, 2e-3, seed=100 + s)
        res = interpolated_crossings(curves, n_boot=40, seed=s)
        ext = extrapolate(res.pairs, res.estimate, res.replicates)
        values.append(ext.value)
        errors.append(ext.error)
    values, errors = np.array(values), np.array(errors)
    assert np.all(np.abs(values - K_C) < 4 * errors)
    chi2 = float(np.sum(((values - K_C) / errors) ** 2))
    assert 5.0 < chi2 < 39.3, chi2
    spread = float(np.std(values, ddof=1))
    assert 0.65 < np.mean(errors) / spread < 1.35, (np.mean(errors), spread)
