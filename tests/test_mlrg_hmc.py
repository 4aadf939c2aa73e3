"""Annealed HMC of the MLRG couplings: exactness on distributions with known moments."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from util import max_error, mean_of, pull

from rgpipe.learn.mlrg.hmc import adapt_step_size, beta_at, hmc_transition, reflect
from rgpipe.stats import gamma_method

torch.set_num_threads(1)

A = torch.tensor([[2.0, 1.2], [1.2, 1.5]], dtype=torch.float64)
MU = torch.tensor([0.7, -0.4], dtype=torch.float64)
SIGMA = torch.linalg.inv(A)


def gaussian(x):
    """U = (x - mu)^T A (x - mu) / 2 and its gradient."""
    d = x - MU
    g = d @ A
    return 0.5 * (g * d).sum(-1), g


def run_chains(potential, x0, n_steps, step, n_leap, seed, low=None, high=None, adjust=True):
    """Chain-averaged observables per transition: returns x history (T, chains, n) and acc."""
    g = torch.Generator().manual_seed(seed)
    x = x0.clone()
    hist, acc = [], []
    for _ in range(n_steps):
        p = torch.randn(x.shape, generator=g, dtype=torch.float64)
        u = torch.rand(x.shape[:-1], generator=g, dtype=torch.float64).log()
        if not adjust:
            u = torch.full_like(u, -math.inf)  # accept everything: unadjusted leapfrog
        x, a = hmc_transition(x, potential, p, u, step, n_leap, low, high)
        hist.append(x)
        acc.append(a.double().mean())
    return torch.stack(hist), float(torch.stack(acc).mean())


def z_score(series, exact, bounded=True):
    """Gamma-method pull of a chain-averaged series against the exact value; with
    ``bounded`` the error must not exceed the blocking bound (tests/util.py max_error)."""
    st = gamma_method(series)
    bound = max_error(mean_of, series) if bounded else float("inf")
    return pull(st.mean, st.error_of_mean, exact, bound)


def test_hmc_reproduces_a_correlated_gaussian_with_large_steps():
    """Step 0.9 with 3 leapfrog steps: large energy errors (acceptance well below 1); the
    Metropolis step keeps mean and covariance exact, while the unadjusted integrator does not."""
    x0 = MU.expand(128, 2).clone()
    hist, acc = run_chains(gaussian, x0, 700, 0.9, 3, seed=1)
    assert 0.2 < acc < 0.9
    h = hist[100:]  # (T, chains, 2)
    d = h - MU
    checks = [
        (h[..., 0].mean(1), MU[0]),
        (h[..., 1].mean(1), MU[1]),
        ((d[..., 0] ** 2).mean(1), SIGMA[0, 0]),
        ((d[..., 1] ** 2).mean(1), SIGMA[1, 1]),
        ((d[..., 0] * d[..., 1]).mean(1), SIGMA[0, 1]),
    ]
    for series, exact in checks:
        assert abs(z_score(series.numpy(), float(exact))) < 3
    # control: without the accept/reject step the variance is visibly wrong
    hist_u, _ = run_chains(gaussian, x0, 700, 0.9, 3, seed=1, adjust=False)
    var_u = (((hist_u[100:] - MU)[..., 0]) ** 2).mean(1).numpy()
    assert abs(z_score(var_u, float(SIGMA[0, 0]), bounded=False)) > 6


def test_hmc_in_a_box_with_a_linear_potential():
    """U = a x on [0, 2] (reflecting walls): a truncated exponential with known moments."""
    a = 1.5
    low = torch.tensor([0.0], dtype=torch.float64)
    high = torch.tensor([2.0], dtype=torch.float64)

    def pot(x):
        return a * x[..., 0], torch.full_like(x, a)

    x0 = torch.full((128, 1), 1.0, dtype=torch.float64)
    hist, acc = run_chains(pot, x0, 500, 0.5, 5, seed=3, low=low, high=high)
    # leapfrog is exact for a linear potential; the energy errors come from the reflections
    assert 0.5 < acc < 0.99
    assert float(hist.min()) >= 0.0 and float(hist.max()) <= 2.0
    L = 2.0
    z = 1 - math.exp(-a * L)
    mean = 1 / a - L * math.exp(-a * L) / z
    m2 = 2 / a**2 - (L**2 + 2 * L / a) * math.exp(-a * L) / z
    x = hist[50:, :, 0]
    assert abs(z_score(x.mean(1).numpy(), mean)) < 3
    assert abs(z_score((x**2).mean(1).numpy(), m2)) < 3


def test_rejected_proposals_keep_the_old_state():
    x0 = torch.randn(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    p = torch.randn(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    u = torch.zeros(64, dtype=torch.float64)  # log u = 0: accept only if H decreases
    before = x0.clone()
    x1, acc = hmc_transition(x0, gaussian, p, u, 3.0, 4)  # unstable step: H explodes
    torch.testing.assert_close(x0, before)  # the input is never modified
    assert (~acc).any()
    torch.testing.assert_close(x1[~acc], x0[~acc])
    assert not torch.allclose(x1[acc], x0[acc]) if acc.any() else True


def test_reflection_folds_any_overshoot():
    low, high = torch.tensor([0.0]), torch.tensor([1.0])
    x = torch.tensor([[1.3], [2.1], [-0.25], [0.4], [-1.2]])
    p = torch.ones_like(x)
    y, q = reflect(x, p, low, high)
    torch.testing.assert_close(y, torch.tensor([[0.7], [0.1], [0.25], [0.4], [0.8]]))
    torch.testing.assert_close(q, torch.tensor([[-1.0], [1.0], [-1.0], [1.0], [1.0]]))


@pytest.mark.parametrize("schedule", ["linear", "cosine", "logistic"])
def test_beta_schedules_ramp_from_zero(schedule):
    vals = [beta_at(e, 100, 50.0, schedule, 0.4) for e in range(100)]
    assert vals[0] == pytest.approx(0.0, abs=1e-12)
    assert vals[40] == pytest.approx(50.0) and vals[-1] == pytest.approx(50.0)
    assert np.all(np.diff(vals) >= -1e-12)
    assert beta_at(0, 100, 7.0, "constant", 0.4) == 7.0
    with pytest.raises(ValueError):
        beta_at(0, 10, 1.0, "exponential", 0.5)


def test_step_size_adaptation_direction():
    eps = torch.tensor([0.1, 0.1])
    new = adapt_step_size(eps, torch.tensor([0.95, 0.2]), 0.75)
    assert new[0] > 0.1 > new[1]
