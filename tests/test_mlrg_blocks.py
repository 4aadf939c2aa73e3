"""MLRG blocks: symmetry-derived couplings, group invariance, exact KL vs brute force, anchors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from rgpipe.learn.mlrg.blocks import (
    all_configurations,
    coarse_block,
    energy,
    fine_block,
    site_states,
    transform,
)
from rgpipe.learn.mlrg.exact import (
    J_C_EXACT,
    OptimalMap,
    a1_optimal_fixed_point,
    decimated_coupling,
)
from rgpipe.learn.mlrg.exact_kl import ExactKL, log2cosh
from rgpipe.learn.mlrg.representation import (
    Representation,
    invariant_bond_basis,
    parse_representation,
    representation,
)

torch.set_num_threads(1)


def brute_log_marginal(blk, rep, J) -> np.ndarray:
    """Normalised log P(v) by summing exp(-E) over every (v, h) with the reference energy."""
    V = all_configurations(blk.n_visible, rep.d)
    H = all_configurations(blk.n_hidden, rep.d)
    E = energy(blk, rep, J, V[:, None], H[None])  # (n_v states, n_h states)
    lw = logsumexp(-E, axis=1)
    return lw - logsumexp(lw)


def brute_kl(rep, J, Jp) -> float:
    """KL(P_fine || P_coarse) from the brute-force marginals."""
    lf = brute_log_marginal(fine_block(), rep, J)
    lc = brute_log_marginal(coarse_block(), rep, Jp)
    return float(np.sum(np.exp(lf) * (lf - lc)))


@pytest.mark.parametrize(
    ("spec", "d", "n"),
    [("A1", 1, 1), ("A2", 1, 1), ("B1", 1, 1), ("E", 2, 2), ("A1+E", 3, 5), ("2A1+E", 4, 10)],
)
def test_number_of_couplings_from_the_mirror(spec, d, n):
    rep = representation(spec)
    assert (rep.d, rep.n_couplings) == (d, n)
    for w in rep.basis:  # every basis matrix is mirror invariant
        np.testing.assert_allclose(rep.mirror @ w @ rep.mirror.T, w, atol=1e-12)
    # and the basis spans the whole invariant space: dimension = number of +1 eigenvalues
    sig = np.kron(rep.mirror, rep.mirror)
    assert n == int(np.sum(np.isclose(np.linalg.eigvalsh(sig), 1.0)))


def test_a1e_bond_matrices_per_direction():
    """J = (1..5): the four directions as listed in the notes (C4 rotation of the +x bond)."""
    W = representation("A1+E").coupling_matrices(np.arange(1.0, 6.0))
    expected = [
        [[1, 2, 0], [3, 4, 0], [0, 0, 5]],
        [[1, 0, 2], [0, 5, 0], [3, 0, 4]],
        [[1, -2, 0], [-3, 4, 0], [0, 0, 5]],
        [[1, 0, -2], [0, 5, 0], [-3, 0, 4]],
    ]
    np.testing.assert_allclose(W, np.array(expected, dtype=float), atol=1e-12)


def test_parse_representation():
    assert parse_representation("2A1+E") == ("A1", "A1", "E")
    assert parse_representation(" A1 + B2 ") == ("A1", "B2")
    for bad in ("", "A3", "2", "A1++E", "0A1"):
        with pytest.raises(ValueError):
            parse_representation(bad)


def test_invariant_basis_of_a_non_diagonal_mirror():
    """The null-space construction works for any orthogonal mirror, e.g. E in a diagonal basis
    (mirror = swap): 2 invariant matrices, I and the swap."""
    basis = invariant_bond_basis(np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert basis.shape == (2, 2, 2)
    span = basis.reshape(2, 4).T
    for w in (np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]])):
        coef, *_ = np.linalg.lstsq(span, w.ravel(), rcond=None)
        np.testing.assert_allclose(span @ coef, w.ravel(), atol=1e-12)


def test_block_geometry():
    fb, cb = fine_block(), coarse_block()
    assert fb.bonds.shape == (8, 3) and cb.bonds.shape == (4, 3)
    # fine: h_i bonded to v_i and v_{i+1}; coarse: every visible to the single hidden site
    assert sorted(map(tuple, fb.bonds[:, :2].tolist())) == sorted(
        [(i, i) for i in range(4)] + [((i + 1) % 4, i) for i in range(4)]
    )
    assert cb.bonds[:, 2].tolist() == [0, 1, 2, 3]
    # every corner of the fine block has two perpendicular bonds, every midpoint two opposite
    for j in range(4):
        ks = sorted(fb.bonds[fb.bonds[:, 1] == j, 2].tolist())
        assert (ks[1] - ks[0]) % 4 == 2


@pytest.mark.parametrize("spec", ["A1", "A1+E", "2A1+E", "A1+A2+B1+B2+E"])
def test_block_energies_invariant_under_c4v(spec):
    rep = representation(spec)
    rng = np.random.default_rng(7)
    J = rng.normal(size=rep.n_couplings)
    for blk in (fine_block(), coarse_block()):
        v = rng.choice([-1.0, 1.0], size=(32, blk.n_visible, rep.d))
        h = rng.choice([-1.0, 1.0], size=(32, blk.n_hidden, rep.d))
        e0 = energy(blk, rep, J, v, h)
        assert np.ptp(e0) > 0  # the test configurations are not degenerate
        for geo, mat in rep.group_elements():
            v2, h2 = transform(blk, geo, mat, v, h)
            np.testing.assert_allclose(energy(blk, rep, J, v2, h2), e0, atol=1e-10)


def test_same_matrix_on_every_bond_breaks_the_symmetry():
    """Negative control: the dlrg shortcut (W_0 on every bond direction) is not invariant, so
    the invariance test above can fail."""
    rep = representation("A1+E")
    shortcut = Representation(
        rep.name,
        rep.irreps,
        rep.rot,
        rep.mirror,
        rep.basis,
        np.broadcast_to(rep.basis, rep.directions.shape).copy(),
    )
    rng = np.random.default_rng(3)
    J = rng.normal(size=5)
    blk = fine_block()
    v = rng.choice([-1.0, 1.0], size=(64, 4, 3))
    h = rng.choice([-1.0, 1.0], size=(64, 4, 3))
    e0 = energy(blk, shortcut, J, v, h)
    geo, mat = rep.group_elements()[1]  # rotation by 90 degrees
    v2, h2 = transform(blk, geo, mat, v, h)
    assert np.max(np.abs(energy(blk, shortcut, J, v2, h2) - e0)) > 1e-3


@pytest.mark.parametrize("spec", ["A1", "A1+B1", "A2+B2"])
def test_exact_kl_matches_brute_force(spec):
    rep = representation(spec)
    kl = ExactKL(rep)
    rng = np.random.default_rng(11)
    for _ in range(3):
        J = rng.normal(scale=0.8, size=rep.n_couplings)
        Jp = rng.normal(scale=0.8, size=rep.n_couplings)
        for blk, bm, c in ((fine_block(), kl.fine, J), (coarse_block(), kl.coarse, J)):
            np.testing.assert_allclose(
                bm.log_prob(torch.tensor(c)).numpy(), brute_log_marginal(blk, rep, c), atol=1e-12
            )
        got = float(kl(torch.tensor(J), torch.tensor(Jp)))
        assert got == pytest.approx(brute_kl(rep, J, Jp), abs=1e-12)
        assert got > 0


def test_a1e_marginals_match_brute_force():
    """A1+E: 4096 visible states.  The coarse block is summed over all (v, h); the fine block
    (2^24 configurations) on 48 random visible states, each summed over its 4096 hidden
    states, compared up to the normalisation."""
    rep = representation("A1+E")
    kl = ExactKL(rep)
    rng = np.random.default_rng(5)
    J = rng.normal(scale=0.6, size=5)
    np.testing.assert_allclose(
        kl.coarse.log_prob(torch.tensor(J)).numpy(),
        brute_log_marginal(coarse_block(), rep, J),
        atol=1e-12,
    )
    V = all_configurations(4, 3)
    H = all_configurations(4, 3)
    rows = rng.choice(len(V), size=48, replace=False)
    ref = logsumexp(-energy(fine_block(), rep, J, V[rows][:, None], H[None]), axis=1)
    got = kl.fine.log_weight(torch.tensor(J)).numpy()[rows]
    np.testing.assert_allclose(got - got[0], ref - ref[0], atol=1e-11)
    # the coarse partition function summed over the hidden centre agrees with the visible sum
    lz = float(kl.coarse.log_partition_dual(torch.tensor(J)))
    assert lz == pytest.approx(float(torch.logsumexp(kl.coarse.log_weight(torch.tensor(J)), -1)))


def test_exact_kl_batched_and_zero_at_zero_coupling():
    rep = representation("A1+E")
    kl = ExactKL(rep)
    J = torch.randn(3, 2, 5, dtype=torch.float64)
    Jp = torch.randn(3, 2, 5, dtype=torch.float64)
    batched = kl(J, Jp)
    assert batched.shape == (3, 2)
    assert float(batched[1, 0]) == pytest.approx(float(kl(J[1, 0], Jp[1, 0])), abs=1e-13)
    assert float(kl(torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64))) == (
        pytest.approx(0.0, abs=1e-14)
    )


@pytest.mark.parametrize("spec", ["A1+E", "A1+B2+E"])
def test_orbit_sums_equal_full_enumeration(spec):
    """The KL summed over rotation/flip orbit representatives equals the plain sum over all
    visible states of the enumerated marginals."""
    rep = representation(spec)
    kl = ExactKL(rep)
    g = torch.Generator().manual_seed(8)
    J = 0.5 * torch.randn(2, rep.n_couplings, generator=g, dtype=torch.float64)
    Jp = 0.5 * torch.randn(2, rep.n_couplings, generator=g, dtype=torch.float64)
    lpf = kl.fine.log_prob(J)
    full = (lpf.exp() * (lpf - kl.coarse.log_prob(Jp))).sum(-1)
    torch.testing.assert_close(kl(J, Jp), full, atol=1e-12, rtol=1e-10)


def test_log2cosh_is_overflow_free():
    x = torch.tensor([-1e4, -30.0, 0.0, 0.3, 30.0, 1e4], dtype=torch.float64)
    ref = np.logaddexp(x.numpy(), -x.numpy())
    np.testing.assert_allclose(log2cosh(x).numpy(), ref, rtol=1e-15)
    assert torch.isfinite(log2cosh(x.float())).all()


def test_gauge_copies_leave_the_kl_unchanged():
    """Fine-side hidden relabelling, coarse-side hidden relabelling and a common relabelling of
    the visible components leave KL(J, J') invariant (gauge_matrices)."""
    rep = representation("A1+E")
    kl = ExactKL(rep)
    rng = np.random.default_rng(2)
    J = torch.tensor(rng.normal(scale=0.5, size=5))
    Jp = torch.tensor(rng.normal(scale=0.5, size=5))
    base = float(kl(J, Jp))
    from rgpipe.learn.mlrg.representation import _commuting_signed_permutations

    side = _commuting_signed_permutations(rep)
    d = rep.d
    flat = rep.basis.reshape(5, d * d)

    def act(sm, sc, x):
        W = np.einsum("a,aij->ij", x.numpy(), rep.basis)
        return torch.tensor(np.linalg.lstsq(flat.T, (sm @ W @ sc.T).ravel(), rcond=None)[0])

    for s_hid_f in side:
        for s_vis in side:
            for s_hid_c in side:
                # fine: rows = hidden midpoints, cols = visible corners
                # coarse: rows = visible midpoints, cols = hidden corner
                val = float(kl(act(s_hid_f, s_vis, J), act(s_vis, s_hid_c, Jp)))
                assert val == pytest.approx(base, abs=1e-12)


def test_decimation_of_the_fine_block():
    """Tracing the midpoints of the A1 fine block gives the 4-cycle Ising model with
    tanh K = tanh^2 J; on the Ising axis of A1+E the same, with free E components."""
    for J in (0.3, 0.7642854597, 1.2):
        K = decimated_coupling(J)
        assert math.tanh(K) == pytest.approx(math.tanh(J) ** 2, rel=1e-14)
        V = all_configurations(4, 1)[..., 0]
        ring = K * np.sum(V * np.roll(V, -1, axis=1), axis=1)
        lp = ExactKL(representation("A1")).fine.log_prob(torch.tensor([J], dtype=torch.float64))
        lp = lp.numpy()
        np.testing.assert_allclose(lp - ring, (lp - ring)[0], atol=1e-12)
        rep = representation("A1+E")
        J5 = torch.tensor([J, 0.0, 0.0, 0.0, 0.0], dtype=torch.float64)
        lp3 = ExactKL(rep).fine.log_prob(J5).numpy()
        V3 = all_configurations(4, 3)
        ring3 = K * np.sum(V3[..., 0] * np.roll(V3[..., 0], -1, axis=1), axis=1)
        np.testing.assert_allclose(lp3 - ring3, (lp3 - ring3)[0], atol=1e-12)
    # the exact critical point maps onto the square-lattice one, K_c = ln(1 + sqrt 2) / 2
    assert decimated_coupling(J_C_EXACT) == pytest.approx(math.log(1 + math.sqrt(2)) / 2, 1e-14)


def test_site_state_encoding():
    s = site_states(3)
    assert s.shape == (8, 3)
    np.testing.assert_array_equal(s[0], [1, 1, 1])
    np.testing.assert_array_equal(s[4], [-1, 1, 1])  # component 0 is the most significant bit
    assert all_configurations(4, 1).shape == (16, 4, 1)


def test_a1_optimal_map_anchor():
    """Exact-KL optimal A1 map: J'(0.5), J'(0.7), J'(0.9); fixed point 0.81392, slope 1.3568."""
    opt = OptimalMap("A1")
    for J, ref in ((0.5, 0.4439), (0.7, 0.6672), (0.9, 0.9353)):
        assert opt(np.array([J]))[0] == pytest.approx(ref, abs=1e-4)
    js, slope = a1_optimal_fixed_point()
    assert js == pytest.approx(0.81392, abs=1e-4)
    assert slope == pytest.approx(1.3568, abs=1e-4)
    # the implicit-function slope agrees with a finite difference of the minimiser
    h = 1e-4
    fd = (opt(np.array([js + h]))[0] - opt(np.array([js - h]))[0]) / (2 * h)
    assert fd == pytest.approx(slope, abs=1e-6)
    # and Newton's fixed-point iteration agrees with the bracketing
    js2, jac = opt.fixed_point(np.array([0.7]))
    assert js2[0] == pytest.approx(js, abs=1e-9)
    assert jac[0, 0] == pytest.approx(slope, abs=1e-9)
    # nu of the A1 scheme: ln sqrt 2 / ln 1.3568 = 1.136
    assert math.log(math.sqrt(2)) / math.log(slope) == pytest.approx(1.136, abs=1e-3)
