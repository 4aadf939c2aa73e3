"""MLRG representation ladder: the Ising sub-model, and the exact-KL optimal maps' critical points.

Reference values (derived here, seed-independent: the optimal map is the infinite-capacity
limit of exact-KL training, :class:`rgpipe.learn.mlrg.exact.OptimalMap`):

* A1: fixed point 0.81392, slope 1.3568 (``test_mlrg_blocks``);
* A1+E, symmetric construction (default frame): Ising-axis crossing J_c = 0.86297 (+12.9 %),
  critical fixed point J* = (1.3106, 0.3460, -0.5787, -0.2902, -0.0279) with one relevant
  eigenvalue 1.5024 (nu = 0.851);
* A1+E with one representation on both sublattices (``frame="none"``, the construction that
  reported J_c = 0.40): J_c = 0.4015, J* = (0.5628, -0.4748, 0.2793, -0.2920, 0.1295) up to
  gauge, lambda = 1.2072 (nu = 1.84);
* 2A1 (no E at all): J_c = 0.6446 (-15.7 %), the flow ends on a rank-one coupling
  0.2464 (e1 - e2)(e1 - e2)^T between the composite spins (a - a') / 2 in {-1, 0, 0, 1}.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq

from rgpipe.learn.mlrg.exact import SCALE_FACTOR, OptimalMap
from rgpipe.learn.mlrg.exact_kl import ExactKL
from rgpipe.learn.mlrg.representation import representation

torch.set_num_threads(1)


def nearest_gauge_copy(rep, J: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The gauge copy A_g J closest to ``ref``."""
    copies = np.einsum("gab,b->ga", rep.gauge_matrices(), J)
    return copies[np.argmin(np.linalg.norm(copies - ref, axis=1))]


def check_fixed_point_independently(opt, star, jac):
    """Checks of a critical fixed point that do not go through OptimalMap's Newton iteration
    or its implicit-function Jacobian: J' = J* is a stationary point of the exact KL at
    J = J* (autograd gradient of the block KL, itself checked against brute-force sums in
    test_mlrg_blocks), and the relevant eigenpair (lambda, r) of the Jacobian is what a
    central difference of the minimiser along r gives, (J'(J* + e r) - J'(J* - e r)) / 2e.
    Returns lambda."""
    Jt = torch.as_tensor(star, dtype=torch.float64)
    Jp = Jt.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(opt.kl(Jt, Jp), Jp)
    assert float(grad.abs().max()) < 1e-9, grad
    lam, vecs = np.linalg.eig(jac)
    i = int(np.argmax(np.abs(lam)))
    r = np.real(vecs[:, i])
    eps = 1e-4  # truncation O(eps^2) ~1e-8, far below the 5e-4 of the pinned lambdas
    fd = (opt(star + eps * r) - opt(star - eps * r)) / (2 * eps)
    np.testing.assert_allclose(fd, np.real(lam[i]) * r, atol=1e-6)
    return float(np.real(lam[i]))


def assert_bracket_straddles_the_critical_surface(opt, star, jac, below, above, steps=4):
    """An independent view of the Ising-axis crossing: iterate the optimal map from (J0, 0, ...)
    for J0 = below and above; both trajectories pass the critical fixed point J* and leave it
    along the relevant direction, on opposite sides of the critical surface: the projections
    l.(J_t - J*) on the relevant left eigenvector l (J_t taken as the gauge copy nearest J*)
    have opposite signs and grow over the last steps.  (axis_phase decides the phase from the
    mutual information of the fine block deep inside the phases instead.)"""
    lam, vecs = np.linalg.eig(jac.T)
    left = np.real(vecs[:, int(np.argmax(np.abs(lam)))])
    proj = []
    for J0 in (below, above):
        J = np.zeros(opt.n)
        J[0] = J0
        p = []
        for _ in range(steps):
            J = opt(J)
            p.append(float(left @ (nearest_gauge_copy(opt.rep, J, star) - star)))
        proj.append(p)
    (b1, b2), (a1, a2) = proj[0][-2:], proj[1][-2:]
    assert b1 * a1 < 0 and b2 * a2 < 0, proj  # opposite sides
    assert abs(b2) > abs(b1) and abs(a2) > abs(a1), proj  # departing along the relevant mode


def diluted_ising_optimal_coupling(c: float) -> float:
    """2A1 on the rank-one line W = c (e1 - e2)(e1 - e2)^T, in closed form: the bond energy is
    -4 c s_v s_h with s = (a - a') / 2 in {-1, 0, 0, 1} (a diluted Ising spin, 0 twice), the
    fine weight of a visible s-configuration prod_i (2 + 2 cosh(4 c (s_i + s_{i+1}))), the
    coarse one 2 + 2 cosh(4 c' S), S = sum s_i; dKL/dc' = 0 reads
    E_c[S tanh(2 c' S)] = E_f[S tanh(2 c' S)] (81 classes, multiplicity 2^(number of zeros)).
    Independent of ExactKL and OptimalMap."""
    s = np.array(list(itertools.product([-1, 0, 1], repeat=4)))
    mult = 2.0 ** (s == 0).sum(axis=1)
    pf = mult * np.prod(2 + 2 * np.cosh(4 * c * (s + np.roll(s, -1, axis=1))), axis=1)
    pf /= pf.sum()
    S = s.sum(axis=1)

    def grad(cp):
        phi = S * np.tanh(2 * cp * S)
        pc = mult * (2 + 2 * np.cosh(4 * cp * S))
        return pc @ phi / pc.sum() - pf @ phi

    return float(brentq(grad, 1e-6, 5.0, xtol=1e-15, rtol=1e-15))


@pytest.mark.parametrize("spec", ["A1+E", "2A1+E"])
@pytest.mark.parametrize("frame", ["midpoint", "corner"])
def test_ising_axis_is_the_a1_model(spec, frame):
    """On J = (J0, 0, ..., 0) both blocks are the A1 blocks for the A1 components, with every
    other component free (uniform and independent): log P = log P_A1(A1 parts) - 4 (d-1) ln 2."""
    rep = representation(spec, frame)
    kl, kl1 = ExactKL(rep), ExactKL(representation("A1"))
    d = rep.d
    q = 2**d
    states = np.arange(q**4)
    a1 = np.zeros_like(states)
    for site in range(4):  # A1 = component 0 = most significant bit of the site state
        s = (states // q ** (3 - site)) % q
        a1 = 2 * a1 + (s >> (d - 1))
    for J0 in (0.4, 1.1):
        J = torch.zeros(rep.n_couplings, dtype=torch.float64)
        J[0] = J0
        J1 = torch.tensor([J0], dtype=torch.float64)
        for bm, bm1 in ((kl.fine, kl1.fine), (kl.coarse, kl1.coarse)):
            got = bm.log_prob(J).numpy()
            ref = bm1.log_prob(J1).numpy()[a1] - 4 * (d - 1) * math.log(2.0)
            np.testing.assert_allclose(got, ref, atol=1e-12)


def test_axis_optimum_is_never_worse_than_a1():
    """The A1 subspace is contained: on the Ising axis the A1+E optimum has KL <= the A1
    optimum, and the embedded A1 optimum (J0', 0, ...) reproduces the A1 KL exactly.  The
    hidden E coupling (J2: midpoint A1 - corner E) lowers it strictly."""
    opt1, opt = OptimalMap("A1"), OptimalMap("A1+E")
    for J0 in (0.5, 0.81392, 1.0):
        J = np.r_[J0, np.zeros(4)]
        Jp1 = opt1(np.array([J0]))
        kl1 = float(opt1.kl(torch.tensor([J0], dtype=torch.float64), torch.tensor(Jp1)))
        embedded = float(opt.kl(torch.tensor(J), torch.tensor(np.r_[Jp1, np.zeros(4)])))
        assert embedded == pytest.approx(kl1, abs=1e-12)
        Jp = opt(J)
        klE = float(opt.kl(torch.tensor(J), torch.tensor(Jp)))
        assert klE < kl1 - 1e-3
        assert abs(Jp[1]) > 0.1 and np.allclose(Jp[2:], 0.0, atol=1e-6)


def test_a1e_optimal_map_critical_point_and_axis_crossing():
    """Symmetric A1+E (default frame): one critical fixed point with one relevant direction,
    and the Ising axis crossing its critical surface at J_c = 0.86297 (+12.9 %, worse than A1's
    +6.5 %)."""
    opt = OptimalMap("A1+E")
    # regression pin: J*, lambda and the crossing as OptimalMap("A1+E") computed them when
    # they were tabulated (rgpipe/learn/mlrg/exact.py, module docstring; docs)
    ref = np.array([1.3106, 0.34601, -0.57872, -0.29016, -0.02787])
    star, jac = opt.fixed_point(np.array([1.3, 0.35, -0.58, -0.29, -0.03]))
    np.testing.assert_allclose(nearest_gauge_copy(opt.rep, star, ref), ref, atol=2e-4)
    lam = np.sort(np.abs(np.linalg.eigvals(jac)))[::-1]
    assert lam[0] == pytest.approx(1.5024, abs=5e-4)
    assert lam[1] < 1.0  # exactly one relevant direction
    assert math.log(SCALE_FACTOR) / math.log(lam[0]) == pytest.approx(0.851, abs=2e-3)
    assert opt.axis_phase(0.858)[0] == -1
    assert opt.axis_phase(0.868)[0] == 1
    # independent checks of the same quantities
    assert check_fixed_point_independently(opt, star, jac) == pytest.approx(lam[0], abs=1e-6)
    assert_bracket_straddles_the_critical_surface(opt, star, jac, 0.858, 0.868)


def test_one_representation_on_both_sublattices_gives_the_reported_anomaly():
    """The first construction (same matrices on midpoints and corners, as EverettYou/MLRG)
    is what produced J_c = 0.40 (-47 %): its critical fixed point has lambda = 1.2072 and the
    axis crosses its critical surface at 0.4015."""
    opt = OptimalMap("A1+E", "none")
    # regression pin: OptimalMap("A1+E", "none") as tabulated in rgpipe/learn/mlrg/exact.py
    ref = np.array([0.56284, -0.47477, 0.27928, -0.29204, 0.1295])
    star, jac = opt.fixed_point(ref + 0.01)
    np.testing.assert_allclose(nearest_gauge_copy(opt.rep, star, ref), ref, atol=2e-4)
    lam = np.max(np.abs(np.linalg.eigvals(jac)))
    assert lam == pytest.approx(1.2072, abs=5e-4)
    assert opt.axis_phase(0.396)[0] == -1
    assert opt.axis_phase(0.407)[0] == 1
    # independent checks of the same quantities
    assert check_fixed_point_independently(opt, star, jac) == pytest.approx(lam, abs=1e-6)
    assert_bracket_straddles_the_critical_surface(opt, star, jac, 0.396, 0.407)


def test_two_a1_copies_flow_to_a_diluted_fixed_point():
    """2A1 (no E, so no frame question): the second copy makes the critical flow end on a
    rank-one coupling between the composite spins (a - a') / 2 in {-1, 0, 0, 1} (a diluted,
    Blume-Capel-like Ising model), and the Ising axis crosses at 0.6446 (-15.7 %): extra Ising
    components do not reduce the bias of this block pair."""
    opt = OptimalMap("2A1")
    # the fixed point and its eigenvalue from the closed-form diluted-Ising reduction (the
    # relevant direction lies on the rank-one line): c* = 0.24643, dc'/dc = 1.1871
    f = diluted_ising_optimal_coupling
    c_star = brentq(lambda c: f(c) - c, 0.1, 0.4, xtol=1e-14)
    h = 1e-5
    slope = (f(c_star + h) - f(c_star - h)) / (2 * h)
    assert c_star == pytest.approx(0.24643, abs=1e-5) and slope == pytest.approx(1.1871, abs=1e-4)
    ref = c_star * np.array([1.0, -1.0, -1.0, 1.0])
    star, jac = opt.fixed_point(np.array([0.25, -0.24, -0.25, 0.24]))
    np.testing.assert_allclose(nearest_gauge_copy(opt.rep, star, ref), ref, atol=1e-9)
    lam = np.sort(np.abs(np.linalg.eigvals(jac)))[::-1]
    assert lam[0] == pytest.approx(slope, abs=1e-7) and lam[1] < 1e-6
    # regression pin: the crossing 0.6446 from OptimalMap("2A1").axis_crossing, tabulated in
    # rgpipe/learn/mlrg/exact.py; beside it the independent view from the fixed point
    assert opt.axis_phase(0.639)[0] == -1
    assert opt.axis_phase(0.650)[0] == 1
    assert_bracket_straddles_the_critical_surface(opt, star, jac, 0.639, 0.650)
