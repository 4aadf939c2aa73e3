"""Batched torch energies and actions against the package's own numpy and numba code.

References: the numba bond loop of the Ising MC (``ising_local.energy_magnetisation`` over
``lattice.bonds``), the XY MC's numba ``measure`` and the numpy ``physics.xy``, the phi^4
MC's numba ``measure`` and the numpy ``physics.phi4.action``, the oscillator MC's numba
``_action`` and the numpy ``physics.oscillator.action``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from rgpipe.mc.ising import local as ising_local
from rgpipe.mc.oscillator import kernels as mc_osc
from rgpipe.mc.phi4 import kernels as mc_phi4
from rgpipe.mc.xy import kernels as mc_xy
from rgpipe.physics import oscillator as osc
from rgpipe.physics import phi4, xy
from rgpipe.physics import torch_energies as te
from rgpipe.physics.lattice import make_lattice, square

RTOL = 1e-12
B = 4


def t64(a: np.ndarray) -> torch.Tensor:
    """A float64 CPU tensor of ``a``."""
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


# ----------------------------------------------------------------------------------- Ising


ISING_SIZES = [("square", L) for L in (2, 3, 4, 7)] + [("lieb", L) for L in (2, 3, 5)]


@pytest.mark.parametrize("kind, L", ISING_SIZES)
@pytest.mark.parametrize("J, h", [(1.0, 0.0), (0.7, -0.3), (-1.3, 0.45)])
def test_ising_energy_and_magnetisation_match_bond_loop(kind, L, J, h):
    lat = make_lattice(kind, L)
    rng = np.random.default_rng(10 * L + len(kind))
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(B, *lat.shape))
    bonds = lat.bonds.astype(np.int32)
    ref = np.array([ising_local.energy_magnetisation(s.ravel(), bonds) for s in spins], float)
    e_ref = J * ref[:, 0] - h * ref[:, 1]
    m_ref = ref[:, 1] / lat.n_sites

    energy = te.ising_energy(t64(spins), kind, J=J, h=h)
    assert energy.shape == (B,) and energy.dtype == torch.float64
    np.testing.assert_allclose(energy.numpy(), e_ref, rtol=RTOL)
    np.testing.assert_allclose(te.ising_magnetisation(t64(spins)).numpy(), m_ref, rtol=RTOL)
    # the per-lattice functions are the ones dispatched to
    direct = te.ising_square_energy if kind == "square" else te.ising_lieb_energy
    np.testing.assert_array_equal(direct(t64(spins), J, h).numpy(), energy.numpy())


def test_ising_ground_states():
    """All spins up: -2 L^2 J on the square lattice, -4 L^2 J on the Lieb lattice."""
    up = torch.ones(1, 3, 3, dtype=torch.float64)
    assert te.ising_square_energy(up, J=1.5, h=0.5).item() == -2 * 9 * 1.5 - 9 * 0.5
    assert te.ising_lieb_energy(torch.ones(1, 3, 3, 3), J=1.0).item() == -4 * 9
    assert te.ising_magnetisation(-up).item() == -1.0


@pytest.mark.parametrize("dtype", [torch.int8, torch.int32, torch.int64, torch.float32])
def test_ising_integer_and_single_precision_spins(dtype):
    """Integer spins are evaluated exactly in the default float dtype; floats keep theirs."""
    rng = np.random.default_rng(3)
    spins = rng.choice([-1, 1], size=(B, 3, 4, 4))
    ref = te.ising_lieb_energy(t64(spins))
    out = te.ising_lieb_energy(torch.from_numpy(spins).to(dtype))
    expected = dtype if dtype.is_floating_point else torch.get_default_dtype()
    assert out.dtype == expected
    np.testing.assert_array_equal(out.double().numpy(), ref.numpy())
    m = te.ising_magnetisation(torch.from_numpy(spins).to(dtype))
    assert m.dtype == expected


def test_ising_rejects_wrong_layouts():
    with pytest.raises(ValueError, match="square"):
        te.ising_energy(torch.ones(2, 3, 3), "triangular")
    with pytest.raises(ValueError, match=r"\(B, L, L\)"):
        te.ising_square_energy(torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match=r"\(B, 3, L, L\)"):
        te.ising_lieb_energy(torch.ones(2, 4, 4))


# -------------------------------------------------------------------------------------- XY


def xy_reference(theta: np.ndarray, lattice: str) -> np.ndarray:
    """Raw MC columns (cos_sum_x, sin_sum_x, cos_sum_y, sin_sum_y, ...) per config, (B, 7)."""
    L = theta.shape[1]
    nbr = mc_xy.neighbor_table(L, lattice)
    rows = []
    for t in theta:
        c, s = mc_xy.spin_cache(t)
        out = np.zeros(len(mc_xy.MEASURE_COLUMNS))
        mc_xy.measure(np.ascontiguousarray(t.ravel()), c, s, nbr, out)
        rows.append(out)
    return np.array(rows)


XY_SIZES = [("square", 2), ("square", 3), ("square", 6), ("ring", 2), ("ring", 5), ("ring", 8)]


@pytest.mark.parametrize("lattice, L", XY_SIZES)
@pytest.mark.parametrize("J", [1.0, 0.6])
def test_xy_energy_matches_mc_measurement_and_numpy(lattice, L, J):
    rng = np.random.default_rng(L + int(100 * J))
    theta = rng.uniform(-3.0, 9.0, size=(B, *mc_xy.config_shape(L, lattice)))
    raw = xy_reference(theta, lattice)
    n = theta[0].size
    energy = te.xy_energy(t64(theta), J=J)
    assert energy.shape == (B,) and energy.dtype == torch.float64
    np.testing.assert_allclose(energy.numpy(), -J * (raw[:, 0] + raw[:, 2]), rtol=RTOL)
    numpy_ref = [J * n * xy.energy_per_site(t) for t in theta]
    np.testing.assert_allclose(energy.numpy(), numpy_ref, rtol=RTOL)


@pytest.mark.parametrize("lattice, L", XY_SIZES)
def test_xy_twist_sums_and_helicity_pieces(lattice, L):
    rng = np.random.default_rng(7 * L)
    theta = rng.uniform(0.0, 2 * np.pi, size=(B, *mc_xy.config_shape(L, lattice)))
    raw = xy_reference(theta, lattice)
    n = theta[0].size
    d = 2 if lattice == "square" else 1
    cos_sums, sin_sums = te.xy_twist_sums(t64(theta))
    assert cos_sums.shape == sin_sums.shape == (B, d)
    np.testing.assert_allclose(cos_sums.numpy(), raw[:, [0, 2][:d]], rtol=RTOL)
    # for L = 2 the two bonds of a pair cancel in the sin sum: zero in torch, ~1e-16 in
    # the MC's c_j s_i - s_j c_i form, hence an absolute tolerance on the scale of a term
    np.testing.assert_allclose(sin_sums.numpy(), raw[:, [1, 3][:d]], rtol=RTOL, atol=1e-14 * n)

    cos_mu, sin2_mu = te.xy_helicity_pieces(t64(theta))
    for b in range(B):
        obs = xy.observables(theta[b], coupling=1.0)
        for k, mu in enumerate("xy"[:d]):
            assert cos_mu[b, k].item() == pytest.approx(obs[f"cos_{mu}"], rel=RTOL)
            assert sin2_mu[b, k].item() == pytest.approx(obs[f"sin2_{mu}"], rel=RTOL, abs=1e-28)


def test_xy_rejects_wrong_shapes():
    for shape in [(2, 3, 4), (2, 1), (2, 2, 2, 2), (3,)]:
        with pytest.raises(ValueError, match="XY angles"):
            te.xy_energy(torch.zeros(shape))


# ----------------------------------------------------------------------------------- phi^4


@pytest.mark.parametrize("L", [2, 3, 5, 8])
@pytest.mark.parametrize("beta, lam", [(0.3, 0.02), (0.68, 1.1), (-0.2, 0.0), (1.5, 20.0)])
def test_phi4_action_matches_numpy_and_mc_measurement(L, beta, lam):
    rng = np.random.default_rng(L)
    phi = rng.normal(0.2, 1.2, size=(B, L, L))
    action = te.phi4_action(t64(phi), beta, lam)
    assert action.shape == (B,) and action.dtype == torch.float64
    np.testing.assert_allclose(action.numpy(), [phi4.action(p, beta, lam) for p in phi], rtol=RTOL)
    nbr = square(L).neighbors
    dens = []
    for p in phi:
        out = np.zeros(4)
        mc_phi4.measure(np.ascontiguousarray(p.ravel()), nbr, out)
        dens.append(phi4.action_density(dict(zip(phi4.SERIES, out, strict=True)), beta, lam))
    np.testing.assert_allclose(action.numpy(), L * L * np.array(dens), rtol=RTOL)


# ------------------------------------------------------------------------------ 0+1D field

POTENTIALS = {
    "double_well": osc.double_well(1.3, 1.1),
    "harmonic": osc.harmonic(0.7, 0.8),
    "quartic_odd": osc.polynomial([0.2, -0.5, 1.0, 0.3, 0.7]),
    "sextic": osc.polynomial([0.0, 0.0, 0.5, 0.0, -0.2, 0.0, 0.05]),
}


@pytest.mark.parametrize("name", sorted(POTENTIALS))
@pytest.mark.parametrize("n_tau, beta, mass", [(4, 2.0, 1.0), (7, 5.0, 0.7), (16, 3.0, 2.5)])
def test_oscillator_action_and_parts_match_numpy_and_mc(name, n_tau, beta, mass):
    pot = POTENTIALS[name]
    a = osc.lattice_spacing(beta, n_tau)
    rng = np.random.default_rng(n_tau)
    x = rng.normal(0.3, 1.0, size=(B, n_tau))
    c = np.ascontiguousarray(pot.coeffs)
    ka = mass / a

    kin = te.oscillator_kinetic(t64(x), mass, a)
    potential = te.oscillator_potential(t64(x), pot, a)
    action = te.oscillator_action(t64(x), pot, mass, a)
    for out in (kin, potential, action):
        assert out.shape == (B,) and out.dtype == torch.float64
    np.testing.assert_allclose(action.numpy(), osc.action(x, pot, mass, a), rtol=RTOL)
    np.testing.assert_allclose(action.numpy(), [mc_osc._action(p, c, ka, a) for p in x], rtol=RTOL)
    zero = np.zeros(1)
    np.testing.assert_allclose(kin.numpy(), [mc_osc._action(p, zero, ka, a) for p in x], rtol=RTOL)
    np.testing.assert_allclose(
        potential.numpy(), [mc_osc._action(p, c, 0.0, a) for p in x], rtol=RTOL
    )
    # the beta-free pieces of S = K / beta + beta Vbar
    k_free = 0.5 * mass * n_tau * ((np.roll(x, -1, axis=1) - x) ** 2).sum(1)
    np.testing.assert_allclose(kin.numpy() * beta, k_free, rtol=RTOL)
    np.testing.assert_allclose(potential.numpy() / beta, pot.value(x).mean(1), rtol=RTOL)


def test_potential_coefficients_as_floats_or_tensor():
    """A Potential, its coefficient list and a coefficient tensor give the same V; the
    tensor's gradient is dS/dc_k = a sum_i x_i^k."""
    pot = POTENTIALS["quartic_odd"]
    x = t64(np.random.default_rng(1).normal(size=(B, 6)))
    ref = pot.value(x.numpy())
    np.testing.assert_allclose(te.potential_values(x, pot).numpy(), ref, rtol=RTOL)
    np.testing.assert_allclose(te.potential_values(x, list(pot.coeffs)).numpy(), ref, rtol=RTOL)
    coeffs = torch.tensor(pot.coeffs, requires_grad=True)
    a = 0.25
    te.oscillator_potential(x, coeffs, a).sum().backward()
    powers = x.unsqueeze(-1) ** torch.arange(coeffs.numel(), dtype=torch.float64)
    np.testing.assert_allclose(coeffs.grad.numpy(), a * powers.sum((0, 1)).numpy(), rtol=RTOL)


def test_paths_must_be_batched():
    with pytest.raises(ValueError, match=r"\(B, n_tau\)"):
        te.oscillator_action(torch.zeros(8), POTENTIALS["harmonic"], 1.0, 0.1)


# -------------------------------------------------------------------- gradients (autograd)


def fd_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6):
    """Central finite-difference gradient of ``f(x).sum()`` with respect to every entry."""
    grad = torch.empty_like(x)
    for i in range(x.numel()):
        step = torch.zeros_like(x)
        step.view(-1)[i] = eps
        grad.view(-1)[i] = (f(x + step).sum() - f(x - step).sum()) / (2 * eps)
    return grad


GRADIENT_CASES = {
    "xy_square": (lambda t: te.xy_energy(t, J=0.9), (2, 3, 3)),
    "xy_ring": (lambda t: te.xy_energy(t, J=1.4), (2, 5)),
    "xy_twist_sin": (lambda t: te.xy_twist_sums(t)[1].sum(1), (2, 3, 3)),
    "phi4_L2": (lambda p: te.phi4_action(p, 0.4, 0.8), (2, 2, 2)),
    "phi4_L3": (lambda p: te.phi4_action(p, -0.3, 2.0), (2, 3, 3)),
    **{
        f"oscillator_{name}": (
            lambda x, pot=pot: te.oscillator_action(x, pot, 0.8, 0.3),
            (2, 5),
        )
        for name, pot in POTENTIALS.items()
    },
}


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_autograd_matches_central_differences(name):
    f, shape = GRADIENT_CASES[name]
    x = torch.from_numpy(np.random.default_rng(5).normal(0.0, 1.3, size=shape))
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x).sum(), x)
    expected = fd_gradient(f, x.detach())
    assert grad.abs().max() > 0.1
    np.testing.assert_allclose(grad.numpy(), expected.numpy(), rtol=1e-7, atol=1e-7)


# ------------------------------------------------------ batches, dtypes and devices (all)


def _spins(shape):
    return lambda rng, b: rng.choice([-1.0, 1.0], size=(b, *shape))


def _normal(shape, scale=1.0):
    return lambda rng, b: rng.normal(0.0, scale, size=(b, *shape))


ALL_CASES = {
    "ising_square": (lambda s: te.ising_energy(s, "square", J=0.8, h=0.1), _spins((5, 5))),
    "ising_lieb": (lambda s: te.ising_energy(s, "lieb", J=1.2, h=-0.2), _spins((3, 4, 4))),
    "ising_magnetisation": (te.ising_magnetisation, _spins((3, 4, 4))),
    "xy_square": (te.xy_energy, _normal((5, 5), 3.0)),
    "xy_ring": (te.xy_energy, _normal((7,), 3.0)),
    "xy_twist_sums": (lambda t: torch.cat(te.xy_twist_sums(t), 1), _normal((5, 5), 3.0)),
    "xy_helicity": (lambda t: torch.cat(te.xy_helicity_pieces(t), 1), _normal((7,), 3.0)),
    "phi4": (lambda p: te.phi4_action(p, 0.6, 0.9), _normal((5, 5))),
    "oscillator_kinetic": (lambda x: te.oscillator_kinetic(x, 1.1, 0.2), _normal((12,))),
    "oscillator_potential": (
        lambda x: te.oscillator_potential(x, POTENTIALS["sextic"], 0.2),
        _normal((12,)),
    ),
    "oscillator_action": (
        lambda x: te.oscillator_action(x, POTENTIALS["double_well"], 1.1, 0.2),
        _normal((12,)),
    ),
}


def _case_input(name: str, b: int = 5) -> torch.Tensor:
    return t64(ALL_CASES[name][1](np.random.default_rng(len(name)), b))


@pytest.mark.parametrize("name", sorted(ALL_CASES))
def test_batch_equals_items_one_by_one(name):
    f = ALL_CASES[name][0]
    x = _case_input(name)
    batched = f(x)
    assert batched.shape[0] == x.shape[0]
    single = torch.cat([f(x[i : i + 1]) for i in range(x.shape[0])])
    np.testing.assert_allclose(batched.numpy(), single.numpy(), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("name", sorted(ALL_CASES))
def test_float32_input_stays_float32_on_cpu(name):
    f = ALL_CASES[name][0]
    x = _case_input(name)
    out = f(x.float())
    assert out.dtype == torch.float32 and out.device.type == "cpu"
    np.testing.assert_allclose(out.double().numpy(), f(x).numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", sorted(ALL_CASES))
def test_cuda_matches_cpu(name):
    f = ALL_CASES[name][0]
    x = _case_input(name)
    for dtype in (torch.float64, torch.float32):
        out = f(x.to("cuda", dtype))
        assert out.device.type == "cuda" and out.dtype == dtype
        tol = 1e-12 if dtype == torch.float64 else 1e-5
        np.testing.assert_allclose(out.cpu().double().numpy(), f(x).numpy(), rtol=tol, atol=tol)
    xg = x.to("cuda").requires_grad_(True)
    (grad,) = torch.autograd.grad(f(xg).sum(), xg)
    assert grad.device.type == "cuda"
