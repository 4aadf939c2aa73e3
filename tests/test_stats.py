"""The Gamma-method error analysis against processes with known autocorrelation."""

import numpy as np
import pytest
from scipy.signal import lfilter

from rgpipe.stats import autocovariance, derived, gamma_method


def ar1(rng: np.random.Generator, rho: float, n: int, size: int = 1) -> np.ndarray:
    """Stationary AR(1) series with unit variance: shape (size, n)."""
    noise = rng.normal(size=(size, n)) * np.sqrt(1 - rho**2)
    x0 = rng.normal(size=size)
    return lfilter([1.0], [1.0, -rho], noise, axis=1, zi=(rho * x0)[:, None])[0]


def test_autocovariance_matches_direct_sum():
    x = np.random.default_rng(0).normal(size=257)
    d = x - x.mean()
    direct = [np.dot(d[: len(d) - t], d[t:]) / (len(d) - t) for t in range(20)]
    np.testing.assert_allclose(autocovariance(x)[:20], direct, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_error_and_tau_of_ar1(rho):
    """Over 300 independent chains, the estimated error must match the true spread of
    the means (to 10 %, the sampling error of the spread being 4 %), and tau_int the
    exact (1 + rho) / (2 (1 - rho))."""
    rng = np.random.default_rng(12345)
    series = ar1(rng, rho, 20000, size=300)
    stats = [gamma_method(s) for s in series]
    spread = np.std([s.mean for s in stats], ddof=1)
    err = np.mean([s.error_of_mean for s in stats])
    tau = np.mean([s.tau_int for s in stats])
    exact_tau = (1 + rho) / (2 * (1 - rho))
    assert abs(err / spread - 1) < 0.10
    assert abs(tau / exact_tau - 1) < 0.05
    # the exact error of the mean of a long AR(1) chain
    exact_err = np.sqrt(2 * exact_tau / 20000)
    assert abs(err / exact_err - 1) < 0.05


def test_derived_quantity_error():
    """Error of a ratio of correlated means, against the spread over chains."""
    rng = np.random.default_rng(7)
    a = ar1(rng, 0.8, 20000, size=300) + 3.0
    b = 0.5 * a + ar1(rng, 0.3, 20000, size=300) + 2.0
    ests = [derived(lambda m: m[0] / m[1], np.stack([a[i], b[i]])) for i in range(300)]
    spread = np.std([e.mean for e in ests], ddof=1)
    err = np.mean([e.error_of_mean for e in ests])
    assert abs(err / spread - 1) < 0.10


def test_constant_series():
    s = gamma_method(np.full(100, 2.5))
    assert s.mean == 2.5 and s.error_of_mean == 0.0 and s.tau_int == 0.5


def test_too_short_series_rejected():
    with pytest.raises(ValueError, match="at least 2"):
        gamma_method(np.array([1.0]))


def test_alternating_series_does_not_hide_a_slow_mode():
    """x_t = slow_t + (-1)^t u_t: a large period-2 alternation on top of a slow AR(1)
    mode (as over-relaxation of a stiff mode produces).  The error must follow the slow
    mode, i.e. match the spread of the means over independent chains."""
    rng = np.random.default_rng(3)
    n, chains = 20000, 200
    slow = ar1(rng, 0.98, n, size=chains)
    sign = (-1.0) ** np.arange(n)
    alternating = sign * (5.0 + 0.5 * rng.normal(size=(chains, n)))
    x = 0.3 * slow + alternating
    stats = [gamma_method(s) for s in x]
    spread = np.std([s.mean for s in stats], ddof=1)
    err = np.mean([s.error_of_mean for s in stats])
    assert abs(err / spread - 1) < 0.15


def test_series_with_nan_has_no_error():
    """An error that cannot be estimated is NaN, never 0 (which would claim an exact value)."""
    x = np.random.default_rng(1).normal(size=200)
    x[17] = np.nan
    s = gamma_method(x)
    assert np.isnan(s.mean) and np.isnan(s.error_of_mean)
    assert np.isnan(s.variance) and np.isnan(s.tau_int)


def test_derived_outside_its_domain_has_no_error():
    """sqrt(<a>) with <a> = 1e-12: the finite-difference step leaves the domain, so the
    gradient, and with it the error, is unknown (NaN), while the value itself is defined."""
    a = np.random.default_rng(2).normal(size=400)
    a += 1e-12 - a.mean()
    st = derived(lambda m: float(np.sqrt(m[0])) if m[0] >= 0 else float("nan"), a[None, :])
    assert st.mean == pytest.approx(1e-6, rel=1e-3)
    assert np.isnan(st.error_of_mean) and np.isnan(st.tau_int)
    ok = derived(lambda m: m[0] ** 2, (a + 3.0)[None, :])
    assert np.isfinite(ok.error_of_mean) and ok.error_of_mean > 0
