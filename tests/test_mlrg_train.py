"""MLRG networks, CD loss, fixed-point analysis, training and the ensemble file."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import expit
from util import a1_optimal_fixed_point, assert_z

from rgpipe.learn.mlrg.blocks import all_configurations, site_states
from rgpipe.learn.mlrg.contrastive import ContrastiveLoss
from rgpipe.learn.mlrg.critical import (
    classify,
    find_fixed_points,
    ising_axis_crossing,
    select_critical,
)
from rgpipe.learn.mlrg.ensemble import (
    ensemble_statistics,
    merge_results,
    train_ensemble,
    write_result,
)
from rgpipe.learn.mlrg.exact import SCALE_FACTOR
from rgpipe.learn.mlrg.exact_kl import ExactKL
from rgpipe.learn.mlrg.networks import RGModel
from rgpipe.learn.mlrg.params import default_params, resolve_params
from rgpipe.learn.mlrg.representation import representation
from rgpipe.learn.mlrg.spec import SPEC
from rgpipe.learn.mlrg.train import model_from_weights, seed_streams, train_group
from rgpipe.stats import gamma_method
from rgpipe.store import open_result, read_stats

torch.set_num_threads(1)


def gens(*seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


# ---------------------------------------------------------------- networks


def test_monotone_gradient_gradcheck():
    """J' = J - grad C: the double-backward Jacobian (Hessian of C) and the parameter
    gradient of J' agree with finite differences."""
    model = RGModel("monotone", 3, [8, 8], "tanh", gens(0, 1), torch.float64)
    J = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: model.flow(x), (J,))
    assert torch.autograd.gradgradcheck(lambda x: model.flow(x), (J,))
    w0 = model.net.weights[0].detach().clone().requires_grad_(True)
    params = dict(model.named_parameters())

    def jp_of_weight(w):
        p = {**params, "net.weights.0": w}
        return torch.func.functional_call(model, p, (J.detach(),))

    assert torch.autograd.gradcheck(jp_of_weight, (w0,))
    # sign convention: f = -grad C (C decreases along the flow)
    x = J.detach()
    h = 1e-6
    e = torch.zeros(3, dtype=torch.float64)
    e[1] = h
    fd = -(model.monotone(x + e) - model.monotone(x - e)) / (2 * h)
    torch.testing.assert_close(model.flow(x)[..., 1], fd, atol=1e-8, rtol=1e-6)


def test_models_depend_only_on_their_own_seed():
    alone = RGModel("flow", 5, [16], "silu", [seed_streams(3)["init"]])
    batch = RGModel("flow", 5, [16], "silu", [seed_streams(s)["init"] for s in (1, 3, 5)])
    for wa, wb in zip(alone.parameters(), batch.parameters(), strict=True):
        torch.testing.assert_close(wa[0], wb[1])
    J = torch.randn(1, 7, 5)
    torch.testing.assert_close(alone.flow(J)[0], batch.flow(J.expand(3, -1, -1))[1])
    with pytest.raises(ValueError):
        RGModel("monotone", 2, [4], "relu", gens(0))


# ---------------------------------------------------------------- contrastive loss


def _site_factors(field: np.ndarray, d: int) -> list[np.ndarray]:
    """Block-Gibbs conditional of each site given the other side: field (X, 4 d) of every
    configuration x of the other side -> per site (X, 2^d), prod_c sigmoid(2 s_c field_c)."""
    S = site_states(d)
    f = field.reshape(len(field), -1, d)
    return [np.prod(expit(2.0 * S[None] * f[:, j, None, :]), axis=-1) for j in range(f.shape[1])]


def _half_sweep(p: np.ndarray, factors: list[np.ndarray]) -> np.ndarray:
    """sum_x p(x) prod_j K_j(x, s_j): the distribution of the sites drawn given x ~ p,
    flattened site 0 most significant (the order of all_configurations)."""
    t = p[:, None] * factors[0]
    for K in factors[1:-1]:
        t = t[..., None] * K.reshape(len(K), *([1] * (t.ndim - 1)), -1)
    return np.einsum("x...,xd->...d", t, factors[-1]).ravel()


def fine_chain_distribution(rep, J: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact law of the fine sampler's visible spins after k block-Gibbs sweeps from uniform
    random spins (ContrastiveLoss.sample_fine), by propagating the distribution through the
    enumerated conditionals; and one sweep applied to the ExactKL marginal (stationarity)."""
    d = rep.d
    Q = ContrastiveLoss(rep, 1, 1, 1, dtype=torch.float64).fine.matrix(J.double()).numpy()
    X = all_configurations(4, d).reshape(-1, 4 * d)
    to_hidden, to_visible = _site_factors(X @ Q, d), _site_factors(X @ Q.T, d)
    p = np.full(len(X), 1.0 / len(X))
    for _ in range(k):
        p = _half_sweep(_half_sweep(p, to_hidden), to_visible)
    exact = ExactKL(rep).fine.log_prob(J.double()).exp().numpy()
    return p, _half_sweep(_half_sweep(exact, to_hidden), to_visible)


def test_fine_gibbs_sampler_reproduces_the_exact_marginal():
    """20000 independent chains of k_fine = 12 sweeps from random spins.  The law after 12
    sweeps, propagated exactly through the enumerated Gibbs kernel, differs from the exact
    marginal by a bias of up to 9e-4 here (a third of the statistical error): that bias is the
    tolerance of the comparison with the exact marginal.  Against the 12-sweep law itself the
    check is a plain z-score, with the error bounded by the exact one, sqrt(Var_12(f) / N)
    (independent chains)."""
    rep = representation("A1+E")
    J = torch.tensor([0.8, 0.3, -0.2, 0.25, 0.1])
    n = 20000
    cd = ContrastiveLoss(rep, n_samples=n, k_fine=12, k_coarse=1)
    g = torch.Generator().manual_seed(4)
    u = torch.rand(cd.uniforms_per_chain(), generator=g)
    v = cd.sample_fine(J, u).double()  # (N, 12)
    lp = ExactKL(rep).fine.log_prob(J.double()).exp().numpy()
    p12, lp_swept = fine_chain_distribution(rep, J, 12)
    np.testing.assert_allclose(lp_swept, lp, rtol=0, atol=1e-14)  # the kernel keeps it exactly
    V = all_configurations(4, 3).reshape(-1, 12)
    for f in (
        lambda x: x[..., 0] * x[..., 3],  # A1 nearest neighbours
        lambda x: x[..., 0] * x[..., 6],  # A1 diagonal
        lambda x: x[..., 1] * x[..., 4],  # E component, nearest neighbours
        lambda x: x[..., 0] * x[..., 1],  # A1 and E on one site
    ):
        exact = float(lp @ f(V))
        after_12 = float(p12 @ f(V))
        bias = after_12 - exact
        exact_error = math.sqrt((p12 @ f(V) ** 2 - after_12**2) / n)
        assert abs(bias) < exact_error  # a small but real correction: 2e-4 to 9e-4
        st = gamma_method(f(v).numpy())
        assert_z(st.mean, st.error_of_mean, after_12, max_err=1.1 * exact_error)
        assert abs(st.mean - exact) < 3 * st.error_of_mean + abs(bias)


@pytest.mark.parametrize("spec", ["A1", "A1+E"])
def test_cd_gradient_is_the_kl_gradient_for_long_chains(spec):
    """With long fine and coarse chains, E[dD_C/dJ'] = dKL/dJ' (the CD-infinity limit)."""
    rep = representation(spec)
    n = rep.n_couplings
    rng = np.random.default_rng(1)
    J = torch.tensor(np.r_[0.7, rng.normal(scale=0.2, size=n - 1)], dtype=torch.float32)
    Jp0 = torch.tensor(np.r_[0.5, rng.normal(scale=0.2, size=n - 1)], dtype=torch.float32)
    Jd = J.double()
    Jpd = Jp0.double().requires_grad_(True)
    (exact,) = torch.autograd.grad(ExactKL(rep)(Jd, Jpd), Jpd)
    batches = 24
    cd = ContrastiveLoss(rep, n_samples=1500, k_fine=10, k_coarse=10)
    g = torch.Generator().manual_seed(9)
    u = torch.rand(batches, cd.uniforms_per_chain(), generator=g)
    Jp = Jp0.expand(batches, n).clone().requires_grad_(True)
    cd(J.expand(batches, n), Jp, u).sum().backward()
    per_batch = Jp.grad.double().numpy()  # (batches, n), independent estimates
    _, sd = cd_gradient_moments(rep, J, Jp0, 10)
    for c in range(n):
        mean, err = standard_error(per_batch[:, c])
        max_err = BATCH_ERROR_FACTOR * sd[c] / math.sqrt(batches * cd.n_samples)
        assert_z(mean, err, float(exact[c]), max_err, z=3.5, what=str(c))


def coarse_kernel(rep, Jp):
    """Coarse block's Gibbs kernel v -> h -> v' by enumeration: (P(h | v) (V, H), P(v' | h)
    (H, V)), products of sigmoids, with the free energy F(v) (V,) differentiable in J'."""
    d = rep.d
    gb = ContrastiveLoss(rep, 1, 1, 1, dtype=torch.float64).coarse
    V = torch.as_tensor(all_configurations(4, d).reshape(-1, 4 * d), dtype=torch.float64)
    H = torch.as_tensor(all_configurations(1, d).reshape(-1, d), dtype=torch.float64)
    Q = gb.matrix(Jp)
    with torch.no_grad():
        p_h = torch.sigmoid(2.0 * H[None, :, :] * (V @ Q)[:, None, :]).prod(-1)
        p_v = torch.sigmoid(2.0 * V[None, :, :] * (H @ Q.T)[:, None, :]).prod(-1)
    return p_h, p_v, gb.free_energy(V, Q)


@pytest.mark.parametrize("spec, k", [("A1", 1), ("A1", 3), ("A1+E", 1)])
def test_cd_k_gradient_matches_its_exact_expectation(spec, k):
    """Short coarse chains started from the data (the default k_coarse = 1): the sampled CD
    gradient against its exact expectation sum_v P_fine(v) [dF(v) - sum_v' T^k(v, v') dF(v')]
    over the enumerated Gibbs kernel T, within 3.5 sigma."""
    rep = representation(spec)
    n = rep.n_couplings
    rng = np.random.default_rng(2)
    J = torch.tensor(np.r_[0.75, rng.normal(scale=0.2, size=n - 1)], dtype=torch.float64)
    Jp0 = torch.tensor(np.r_[0.55, rng.normal(scale=0.2, size=n - 1)], dtype=torch.float64)
    Jpx = Jp0.clone().requires_grad_(True)
    p_h, p_v, F = coarse_kernel(rep, Jpx)
    pf = ExactKL(rep, dtype=torch.float64).fine.log_prob(J).exp()
    pk = pf @ torch.linalg.matrix_power(p_h @ p_v, k)
    (exact,) = torch.autograd.grad(pf @ F - pk @ F, Jpx)
    batches = 24
    cd = ContrastiveLoss(rep, n_samples=2000, k_fine=10, k_coarse=k, dtype=torch.float64)
    u = torch.rand(
        batches, cd.uniforms_per_chain(), generator=torch.Generator().manual_seed(11),
        dtype=torch.float64,
    )  # fmt: skip
    Jp = Jp0.expand(batches, n).clone().requires_grad_(True)
    cd(J.expand(batches, n), Jp, u).sum().backward()
    per_batch = Jp.grad.numpy()  # (batches, n), independent estimates
    mean_k, sd = cd_gradient_moments(rep, J, Jp0, k)
    np.testing.assert_allclose(mean_k, exact.numpy(), rtol=1e-10, atol=1e-12)
    for c in range(n):
        mean, err = standard_error(per_batch[:, c])
        max_err = BATCH_ERROR_FACTOR * sd[c] / math.sqrt(batches * cd.n_samples)
        assert_z(mean, err, float(exact[c]), max_err, z=3.5, what=str(c))
        assert err < 0.2 * abs(float(exact[0]))  # decisive: the signal is resolved


def cd_gradient_moments(rep, J, Jp, k):
    """Mean and standard deviation of the one-sample CD gradient dF(v)/dJ' - dF(v')/dJ' with
    v ~ P_fine(J) (exact marginal) and v' after k Gibbs sweeps of the coarse block from v, by
    enumeration: dF(v)/dJ'_i = -sum_(a, c) v_a tanh((v Q)_c) B_i[a, c] in closed form, and
    E[g(v) g(v')] = sum_v P_fine(v) g(v) (T^k g)(v) with the coarse kernel T = P(h|v) P(v|h)."""
    d = rep.d
    Jp = torch.as_tensor(Jp, dtype=torch.float64)
    gb = ContrastiveLoss(rep, 1, 1, 1, dtype=torch.float64).coarse
    V = torch.as_tensor(all_configurations(4, d).reshape(-1, 4 * d), dtype=torch.float64)
    G = -torch.einsum("va,vc,iac->vi", V, torch.tanh(V @ gb.matrix(Jp)), gb.basis)
    p_h, p_v, _ = coarse_kernel(rep, Jp)
    pf = ExactKL(rep, dtype=torch.float64).fine.log_prob(torch.as_tensor(J).double()).exp()
    M = torch.linalg.matrix_power(p_v @ p_h, k - 1)  # T^k = P(h|v) (P(v|h) P(h|v))^(k-1) P(v|h)
    pk = pf @ p_h @ M @ p_v
    mean = pf @ G - pk @ G
    second = pf @ G**2 + pk @ G**2 - 2 * pf @ (G * (p_h @ (M @ (p_v @ G))))
    return mean.numpy(), torch.sqrt(second - mean**2).numpy()


def standard_error(x: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of independent estimates (not a time series: the Gamma
    method's window, meant for Markov chains, misjudges 24 independent values by up to 2x)."""
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


BATCH_ERROR_FACTOR = 1.6
"""Upper bound on the standard error of 24 independent batch means relative to the exact one
(its relative spread is 1 / sqrt(2 * 23) = 15 %: 1.6 is four of those)."""


@pytest.mark.parametrize("spec", ["A1", "A1+E"])
def test_one_coarse_gibbs_step_gives_the_exact_coarse_marginal(spec):
    """The coarse block has one hidden site whose marginal is uniform by symmetry, for the
    data and for the model alike; so one Gibbs step from the data samples the coarse marginal
    exactly and CD-1 is an unbiased estimate of the exact-KL gradient (for A1 and A1+E, not
    for 2A1+E, where the hidden components are correlated)."""
    rep = representation(spec)
    n = rep.n_couplings
    rng = np.random.default_rng(3)
    J = torch.tensor(np.r_[0.75, rng.normal(scale=0.3, size=n - 1)], dtype=torch.float64)
    Jp = torch.tensor(np.r_[0.55, rng.normal(scale=0.3, size=n - 1)], dtype=torch.float64)
    p_h, p_v, _ = coarse_kernel(rep, Jp)
    kl = ExactKL(rep, dtype=torch.float64)
    pf, pc = kl.fine.log_prob(J).exp(), kl.coarse.log_prob(Jp).exp()
    np.testing.assert_allclose((pf @ p_h).numpy(), 0.5**rep.d, atol=1e-14)
    np.testing.assert_allclose((pf @ p_h @ p_v).numpy(), pc.numpy(), atol=1e-14)


# ---------------------------------------------------------------- fixed points


class LinearFlow:
    """J' = J* + A (J - J*) for every model: exact fixed point, eigenvalues, critical line."""

    def __init__(self, stars: np.ndarray, A: np.ndarray) -> None:
        self.star = torch.as_tensor(stars, dtype=torch.float64)  # (M, n)
        self.A = torch.as_tensor(A, dtype=torch.float64)
        self.n_models, self.n = self.star.shape

    def flow(self, J, create_graph=True):
        d = J - self.star[:, None, :]
        return d @ (self.A - torch.eye(self.n, dtype=torch.float64)).T


def test_fixed_point_classification_and_axis_crossing_of_a_linear_map():
    P = np.array([[1.0, 0.6], [0.3, 1.0]])  # columns: relevant and irrelevant directions
    A = P @ np.diag([1.5, 0.4]) @ np.linalg.inv(P)
    stars = np.array([[0.7, 0.2], [0.9, -0.1]])
    model = LinearFlow(stars, A)
    low, high = np.array([0.0, -1.0]), np.array([1.6, 1.0])
    u = torch.rand(2, 8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fps = find_fixed_points(
        model, low, high, torch.as_tensor(low) + torch.as_tensor(high - low) * u
    )
    for m in range(2):
        assert len(fps[m]) == 1
        fp = fps[m][0]
        np.testing.assert_allclose(fp.J, stars[m], atol=1e-10)
        assert fp.kind == "critical" and fp.n_relevant == 1
        assert fp.nu == pytest.approx(math.log(SCALE_FACTOR) / math.log(1.5), rel=1e-10)
    # the critical surface is the line J* + t (irrelevant direction); it meets J1 = 0 at
    crossing = stars[:, 0] - stars[:, 1] * P[0, 1] / P[1, 1]
    jc, dist = ising_axis_crossing(
        model, [select_critical(f) for f in fps], 0.0, 1.6, n_grid=17, n_steps=40
    )
    np.testing.assert_allclose(jc, crossing, atol=1e-9)
    assert np.all(dist < 1e-6)


class CubicFlow:
    """One coupling: f(J) = c J (J - a): fixed points 0 (slope 1 - c a) and a (1 + c a)."""

    n_models, n = 1, 1

    def __init__(self, a: float, c: float) -> None:
        self.a, self.c = a, c

    def flow(self, J, create_graph=True):
        return self.c * J * (J - self.a)


def test_one_coupling_fixed_points():
    model = CubicFlow(0.8, 0.45)
    starts = torch.linspace(-0.2, 1.5, 12, dtype=torch.float64).reshape(1, 12, 1)
    fps = find_fixed_points(model, np.array([-0.5]), np.array([1.6]), starts)[0]
    found = sorted(fps, key=lambda p: p.J[0])
    assert [round(float(p.J[0]), 10) for p in found] == [0.0, 0.8]
    assert [p.kind for p in found] == ["stable", "critical"]
    assert found[1].eigenvalues[0].real == pytest.approx(1 + 0.45 * 0.8, abs=1e-12)
    assert select_critical(fps).J[0] == pytest.approx(0.8, abs=1e-12)
    # the left eigenvector is oriented towards larger couplings
    fp = classify(np.array([0.5, 0.1]), np.array([[1.2, 0.1], [0.0, 0.5]]), 0.0)
    assert fp.left_relevant[0] > 0 and fp.kind == "critical"


# ---------------------------------------------------------------- training


def flow_slope_at(res, J: float) -> tuple[float, float]:
    """(f(J), f'(J)) of a trained model's stored flow f = J' - J on its grid, by linear
    interpolation of the values and of their central differences (spacing 0.01): independent
    of the autograd Jacobian the fixed-point analysis uses."""
    grid, f = np.asarray(res["flow_grid"]), np.asarray(res["flow"])[:, 0]
    return float(np.interp(J, grid, f)), float(np.interp(J, grid, np.gradient(f, grid)))


def test_tiny_a1_training_lands_near_the_optimal_fixed_point():
    """300 epochs of exact-KL training at a fixed seed: a network of unlimited capacity would
    learn the KL-optimal map, whose fixed point J* = 0.813920 (closed form, tests/util.py; the
    A1 scheme's structural bias, +6.5 % from the exact J_c = 0.764) it must find to 3e-3: over
    seeds 0-7 at these settings J_c - J* spreads by 1.3e-3 (all within 2.3e-3), while missing
    the optimum by the A1 bias or by a wrong sign of the flow is 0.05.  The slope converges
    more slowly (nu 0.58-0.85 over those seeds, exact 1.136 reached after ~1500 epochs):
    it is pinned, beside a check that it is the slope of the learned flow."""
    (res,) = train_group({"epochs": 300, "batch": 32}, [0])
    j_star, _ = a1_optimal_fixed_point()
    assert abs(res["J_c"] - j_star) < 3e-3, (res["J_c"], j_star)
    # regression pin: nu of seed 0 after 300 epochs (measured with this code, 0.673583)
    assert res["nu"] == pytest.approx(0.673583, abs=1e-4)
    # independent: the learned flow vanishes at J_c and its finite-difference slope there
    # gives the same nu = ln sqrt 2 / ln(1 + f')
    f, slope = flow_slope_at(res, res["J_c"])
    assert abs(f) < 1e-4
    assert math.log(SCALE_FACTOR) / math.log(1 + slope) == pytest.approx(res["nu"], abs=1e-3)
    assert res["loss"][-20:].mean() < res["loss"][:20].mean()
    assert 0.4 < res["hmc_acceptance"][-50:].mean() < 0.95


def test_ensemble_results_and_file(tmp_path):
    params = {"epochs": 40, "batch": 8, "hidden": [8], "models_per_batch": 2, "root_starts": 8}
    res = train_ensemble(params, [4, 5, 6])
    assert [m["seed"] for m in res["models"]] == [4, 5, 6]
    # seed 5 trained alone gives the same model as inside the batch
    (alone,) = train_group(params, [5])
    np.testing.assert_allclose(alone["loss"], res["models"][1]["loss"], rtol=1e-12)
    np.testing.assert_allclose(alone["flow"], res["models"][1]["flow"], rtol=1e-10, atol=1e-12)
    # MPI-style: disjoint parts merge into the same ensemble
    merged = merge_results([train_ensemble(params, [6]), train_ensemble(params, [4, 5])])
    assert merged["seeds"] == [4, 5, 6]
    np.testing.assert_allclose(merged["models"][2]["loss"], res["models"][2]["loss"], rtol=1e-12)

    path = write_result(tmp_path / "mlrg.h5", params, res)
    stats = ensemble_statistics(res)
    with open_result(path, stage="train_mlrg") as fh:
        assert set(stats) == {"J_c", "nu", "J_c_minus_optimum", "nu_minus_optimum"}
        for name in stats:
            st = read_stats(fh[f"estimates/{name}"])
            assert st.mean == pytest.approx(stats[name]["mean"], nan_ok=True)
            assert float(fh[f"estimates/{name}/std"][()]) == pytest.approx(
                stats[name]["std"], nan_ok=True
            )
        np.testing.assert_array_equal(fh["models/seed"][()], [4, 5, 6])
        assert fh["models/J_star"].shape == (3, 1)
        assert fh["flow/f"].shape == (3, len(fh["flow/J0"]), 1)
        assert fh["loss/value"].shape == (3, 40)
        assert "fixed_points/5" in fh["models"]
        stored = [
            [fh[f"models/weights/{k}"][m] for k in sorted(fh["models/weights"])] for m in range(3)
        ]
    # the stored weights rebuild the trained models: same flow on the grid
    model = model_from_weights(params, stored)
    grid = torch.zeros(3, len(res["models"][0]["flow_grid"]), 1, dtype=torch.float64)
    grid[..., 0] = torch.as_tensor(res["models"][0]["flow_grid"])
    flow = model.flow(grid).detach().numpy()
    np.testing.assert_allclose(flow, np.stack([m["flow"] for m in res["models"]]), atol=1e-12)


def test_ensemble_statistics_across_seeds():
    models = [{"J_c": x, "nu": 1.0 + x, "J_star0": x} for x in (0.80, 0.82, np.nan, 0.84)]
    st = ensemble_statistics({"models": models})
    assert st["J_c"]["mean"] == pytest.approx(0.82)
    assert st["J_c"]["std"] == pytest.approx(0.02)
    assert st["J_c"]["error_of_mean"] == pytest.approx(0.02 / math.sqrt(3))
    assert st["J_c"]["n_valid"] == 3 and st["J_c"]["n_models"] == 4


def test_params_are_validated():
    p = resolve_params({})
    assert p == default_params()
    assert set(SPEC.names) == set(p)
    assert resolve_params({"representation": "2A1+E"})["representation"] == "2A1+E"
    assert resolve_params({"learning_rate": 1})["learning_rate"] == 1.0  # one spelling
    for bad in (
        {"representation": " 2A1+E "},
        {"representation": "1A1"},  # one spelling per representation: "A1"
        {"representation": "A1+A1+E"},  # "2A1+E"
        {"epochs": 10.0},
        {"nonsense": 1},
        {"loss": "mse"},
        {"epochs": 0},
        {"hidden": []},
        {"representation": "A1+F"},
        {"j_range_ising": [1.0, 0.5]},
        {"target": "monotone", "activation": "relu"},
        {"learning_rate": float("nan")},
    ):
        with pytest.raises(ValueError):
            resolve_params(bad)


def test_tiny_cd_monotone_training_runs_end_to_end():
    """The contrastive loss with the monotone target.  CD-1 is an unbiased estimate of the
    exact-KL gradient for A1 (test above), so the run aims at the same KL-optimal J* =
    0.813920 (closed form), but with 16 samples per coupling its J_c scatters over seeds
    1-8 with a standard deviation of 0.029 (0.777-0.871): J_c must lie within 3 of those,
    0.09, of J*; the value itself is pinned."""
    params = {
        "loss": "cd",
        "target": "monotone",
        "epochs": 200,
        "batch": 16,
        "cd_samples": 16,
        "k_fine": 8,
    }
    (res,) = train_group(params, [1])
    assert np.all(np.isfinite(res["loss"]))
    j_star, _ = a1_optimal_fixed_point()
    assert abs(res["J_c"] - j_star) < 0.09, (res["J_c"], j_star)
    # regression pin: J_c and nu of seed 1 (measured with this code: 0.783712, 1.13238)
    assert res["J_c"] == pytest.approx(0.783712, abs=1e-4)
    assert res["nu"] == pytest.approx(1.13238, abs=1e-3)
    f, slope = flow_slope_at(res, res["J_c"])
    assert abs(f) < 1e-4
    assert math.log(SCALE_FACTOR) / math.log(1 + slope) == pytest.approx(res["nu"], abs=1e-2)
