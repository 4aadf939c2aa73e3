"""MLRG blocks: symmetry-derived couplings, group invariance, exact KL vs brute force, anchors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from util import a1_optimal_coupling
from util import a1_optimal_fixed_point as closed_form_a1_fixed_point

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


@pytest.mark.parametrize("frame", ["midpoint", "corner", "none"])
@pytest.mark.parametrize(
    ("spec", "d", "n"),
    [("A1", 1, 1), ("A2", 1, 1), ("E", 2, 2), ("A1+E", 3, 5), ("2A1+E", 4, 10)],
)
def test_number_of_couplings_from_the_mirror(spec, d, n, frame):
    rep = representation(spec, frame)
    assert (rep.d, rep.n_couplings) == (d, n)
    for w in rep.basis:  # every basis matrix is invariant under the bond's mirror
        np.testing.assert_allclose(rep.mid_mirror @ w @ rep.mirror.T, w, atol=1e-12)
    # and the basis spans the whole invariant space: dimension = number of +1 eigenvalues
    sig = np.kron(rep.mid_mirror, rep.mirror)
    assert n == int(np.sum(np.isclose(np.linalg.eigvals(sig), 1.0)))


def test_rotated_frame_irreps():
    """Seen from axes rotated by 45 degrees the rotation is unchanged, the axial mirror becomes a
    diagonal one: A1, A2 stay, B1 <-> B2, E's mirror diag(1, -1) becomes the swap."""
    from rgpipe.learn.mlrg.representation import COARSE_FRAME, IRREPS, frame_rotated

    for name, partner in (("A1", "A1"), ("A2", "A2"), ("B1", "B2"), ("B2", "B1")):
        rot, mir = frame_rotated(*IRREPS[name], COARSE_FRAME)
        np.testing.assert_array_equal(rot, IRREPS[partner][0])
        np.testing.assert_array_equal(mir, IRREPS[partner][1])
    rot, mir = frame_rotated(*IRREPS["E"], COARSE_FRAME)
    np.testing.assert_array_equal(rot, IRREPS["E"][0])
    np.testing.assert_array_equal(mir, [[0.0, 1.0], [1.0, 0.0]])
    # no signed permutation intertwines the two versions of E (the 45-degree rotation of the
    # doublet is not one), so one sublattice cannot carry both
    for perm in ([[1, 0], [0, 1]], [[0, 1], [1, 0]]):
        for signs in ([1, 1], [1, -1], [-1, 1], [-1, -1]):
            S = np.diag(signs) @ np.array(perm, dtype=float)
            same_rot = np.allclose(S @ IRREPS["E"][0], rot @ S)
            same_mir = np.allclose(S @ IRREPS["E"][1], mir @ S)
            assert not (same_rot and same_mir)
    # B1 alone: a B1 corner meets a B2-like midpoint, odd under the bond's mirror
    with pytest.raises(ValueError, match="no bond coupling"):
        representation("B1")
    assert representation("B1", "none").n_couplings == 1
    assert representation("A1+B1+E").n_couplings == 8
    with pytest.raises(ValueError, match="frame"):
        representation("A1", "diagonal")


def test_a1e_bond_matrices_per_direction():
    """J = (1..5), derived by hand: the +x bond invariant under the bond mirror (midpoint
    diag(1, 1, -1), corner A1 + anti-swapped E), rotated by C4 to the other directions."""
    W = representation("A1+E").coupling_matrices(np.arange(1.0, 6.0))
    expected = [
        [[1, 2, -2], [3, 4, -4], [0, 5, 5]],
        [[1, 2, 2], [0, 5, -5], [3, 4, 4]],
        [[1, -2, 2], [-3, 4, -4], [0, 5, 5]],
        [[1, -2, -2], [0, 5, -5], [-3, 4, 4]],
    ]
    np.testing.assert_allclose(W, np.array(expected, dtype=float), atol=1e-12)
    W = representation("A1+E", "corner").coupling_matrices(np.arange(1.0, 6.0))
    expected = [
        [[1, 2, 0], [3, 4, 5], [3, 4, -5]],
        [[1, 0, 2], [-3, -5, -4], [3, -5, 4]],
        [[1, -2, 0], [-3, 4, 5], [-3, 4, -5]],
        [[1, 0, -2], [3, -5, -4], [-3, -5, 4]],
    ]
    np.testing.assert_allclose(W, np.array(expected, dtype=float), atol=1e-12)
    # the old construction (one representation on both sublattices), as in the notes
    W = representation("A1+E", "none").coupling_matrices(np.arange(1.0, 6.0))
    np.testing.assert_allclose(W[0], [[1, 2, 0], [3, 4, 0], [0, 0, 5]], atol=1e-12)


def test_parse_representation():
    assert parse_representation("2A1+E") == ("A1", "A1", "E")
    assert parse_representation(" A1 + B2 ") == ("A1", "B2")
    for bad in ("", "A3", "2", "A1++E", "0A1"):
        with pytest.raises(ValueError):
            parse_representation(bad)


def test_invariant_basis_of_a_non_diagonal_mirror():
    """The null-space construction works for any orthogonal mirror, e.g. E in a diagonal basis
    (mirror = swap): 2 invariant matrices, I and the swap; with different mirrors on the two
    sides (swap on rows, diag(1, -1) on columns) the basis is [[1, 0], [1, 0]], [[0, 1],
    [0, -1]]."""
    basis = invariant_bond_basis(np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert basis.shape == (2, 2, 2)
    span = basis.reshape(2, 4).T
    for w in (np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]])):
        coef, *_ = np.linalg.lstsq(span, w.ravel(), rcond=None)
        np.testing.assert_allclose(span @ coef, w.ravel(), atol=1e-12)
    mixed = invariant_bond_basis(np.array([[0.0, 1.0], [1.0, 0.0]]), np.diag([1.0, -1.0]))
    np.testing.assert_array_equal(mixed, [[[1, 0], [1, 0]], [[0, 1], [0, -1]]])


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
    # visible site i of the coarse block is visible site i of the fine block: coarse-frame
    # positions map onto fine-frame ones by sqrt(2) R (R = COARSE_FRAME, +45 degrees), the
    # rotation the representation's midpoint frame is built with
    from rgpipe.learn.mlrg.representation import COARSE_FRAME

    np.testing.assert_allclose(
        np.sqrt(2.0) * cb.visible_pos @ COARSE_FRAME.T, fb.visible_pos, atol=1e-12
    )
    np.testing.assert_allclose(cb.hidden_pos, [[0.0, 0.0]])  # centre of the black plaquette


@pytest.mark.parametrize(
    ("spec", "frame"),
    [("A1", "midpoint"), ("A1+E", "midpoint"), ("A1+E", "corner"), ("2A1+E", "midpoint")]
    + [("A1+A2+B1+B2+E", f) for f in ("midpoint", "corner", "none")],
)
def test_block_energies_invariant_under_c4v(spec, frame):
    """Every element of C4v (corner spins with the corner matrices, midpoint spins with the
    midpoint ones, hidden and visible alike) leaves both block energies unchanged."""
    rep = representation(spec, frame)
    rng = np.random.default_rng(7)
    J = rng.normal(size=rep.n_couplings)
    for blk in (fine_block(), coarse_block()):
        v = rng.choice([-1.0, 1.0], size=(32, blk.n_visible, rep.d))
        h = rng.choice([-1.0, 1.0], size=(32, blk.n_hidden, rep.d))
        e0 = energy(blk, rep, J, v, h)
        assert np.ptp(e0) > 0  # the test configurations are not degenerate
        for geo, mat, mid in rep.site_group_elements():
            v2, h2 = transform(blk, geo, mat, v, h, mid)
            np.testing.assert_allclose(energy(blk, rep, J, v2, h2), e0, atol=1e-10)


@pytest.mark.parametrize(
    ("spec", "frame"),
    [
        ("A1", "midpoint"),
        ("A1+E", "midpoint"),
        ("A1+E", "corner"),
        ("2A1+E", "midpoint"),
        ("A1+B1+E", "corner"),
        ("A1+B2+E", "midpoint"),
    ],
)
def test_both_visible_marginals_share_the_full_symmetry(spec, frame):
    """The decisive check: an element of C4v acts on the visible spins (positions and
    components) with the same matrices in both blocks, and both marginals are invariant under
    all 8 elements and the global flip.  Only then can the coarse block represent the fine one
    without a symmetry mismatch."""
    rep = representation(spec, frame)
    fb, cb = fine_block(), coarse_block()
    # the visible action seen from each block's own frame: corners of the fine lattice,
    # midpoints of the coarse one (coarse-frame geometry, midpoint matrices)
    from rgpipe.learn.mlrg.blocks import visible_permutations

    fine_perm = visible_permutations(fb, [(g, m) for g, m, _ in rep.site_group_elements()])
    coarse_perm = visible_permutations(cb, [(g, mid) for g, _, mid in rep.site_group_elements()])
    # the same geometric element, in the coarse frame: R^-1 g R
    from rgpipe.learn.mlrg.representation import COARSE_FRAME

    R = COARSE_FRAME
    for (geo, _, _), fp in zip(rep.site_group_elements(), fine_perm, strict=True):
        geo_c = R.T @ geo @ R
        k = [i for i, (g, _, _) in enumerate(rep.site_group_elements()) if np.allclose(g, geo_c)]
        np.testing.assert_array_equal(coarse_perm[k[0]], fp)
    rng = np.random.default_rng(2)
    J = torch.tensor(rng.normal(scale=0.7, size=rep.n_couplings))
    kl = ExactKL(rep)
    q4 = (2**rep.d) ** 4
    flip = (q4 - 1) - np.arange(q4)  # every component flipped
    for bm in (kl.fine, kl.coarse):
        lp = bm.log_prob(J).numpy()
        for perm in [*fine_perm, flip]:
            np.testing.assert_allclose(lp[perm], lp, atol=1e-11)


def test_one_representation_on_both_sublattices_breaks_the_shared_symmetry():
    """Negative control: with the same matrices on both sublattices (EverettYou/MLRG and the
    first rgpipe version) each block is symmetric in its own frame, but the coarse marginal is
    not invariant under the fine block's mirrors: the two blocks model different symmetry
    classes, so the test above can fail."""
    rep = representation("A1+E", "none")
    J = torch.tensor(np.random.default_rng(1).normal(size=5))
    from rgpipe.learn.mlrg.blocks import visible_permutations

    perms = visible_permutations(fine_block(), rep.group_elements())
    kl = ExactKL(rep)
    lp_f, lp_c = kl.fine.log_prob(J).numpy(), kl.coarse.log_prob(J).numpy()
    for k, perm in enumerate(perms):
        np.testing.assert_allclose(lp_f[perm], lp_f, atol=1e-11)
        dev = np.max(np.abs(lp_c[perm] - lp_c))
        assert (dev < 1e-11) if k < 4 else (dev > 1.0)  # rotations shared, mirrors not


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
        rep.mid_rot,
        rep.mid_mirror,
        rep.frame,
    )
    rng = np.random.default_rng(3)
    J = rng.normal(size=5)
    blk = fine_block()
    v = rng.choice([-1.0, 1.0], size=(64, 4, 3))
    h = rng.choice([-1.0, 1.0], size=(64, 4, 3))
    e0 = energy(blk, shortcut, J, v, h)
    geo, mat, mid = rep.site_group_elements()[1]  # rotation by 90 degrees
    v2, h2 = transform(blk, geo, mat, v, h, mid)
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
        pytest.approx(0.0, abs=1e-13)
    )


@pytest.mark.parametrize(
    ("spec", "frame"),
    [("A1+E", "midpoint"), ("A1+E", "corner"), ("A1+E", "none"), ("A1+B2+E", "midpoint")],
)
def test_orbit_sums_equal_full_enumeration(spec, frame):
    """The KL summed over C4v/flip orbit representatives (rotation/flip for frame "none")
    equals the plain sum over all visible states of the enumerated marginals."""
    rep = representation(spec, frame)
    from rgpipe.learn.mlrg.exact_kl import symmetric_orbits

    reps, sizes = symmetric_orbits(rep)
    assert int(sizes.sum()) == 2 ** (4 * rep.d) and np.all(16 % sizes == 0)  # sizes divide |G|
    if spec == "A1+E":  # full C4v x flip for the symmetric frames, rotations x flip for "none"
        assert len(reps) == {"midpoint": 282, "corner": 298, "none": 532}[frame]
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
    assert len(rep.gauge_matrices()) == 8  # (a J1, b J2, c J3, abc J4, abc J5)
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
    """Exact-KL optimal A1 map: J'(0.5), J'(0.7), J'(0.9); fixed point 0.81392, slope 1.3568,
    against the closed form (decimated 4-ring vs one centre spin, tests/util.py), which uses
    neither ExactKL nor OptimalMap."""
    opt = OptimalMap("A1")
    for J, ref in ((0.5, 0.4439), (0.7, 0.6672), (0.9, 0.9353)):
        closed = a1_optimal_coupling(J)
        assert closed == pytest.approx(ref, abs=5e-5)  # the documented 4-digit values
        assert opt(np.array([J]))[0] == pytest.approx(closed, abs=1e-10)
    js, slope = a1_optimal_fixed_point()
    js_closed, slope_closed = closed_form_a1_fixed_point()
    assert js_closed == pytest.approx(0.81392, abs=5e-6)
    assert slope_closed == pytest.approx(1.3568, abs=5e-5)
    assert js == pytest.approx(js_closed, abs=1e-11)
    assert slope == pytest.approx(slope_closed, abs=1e-8)  # the difference quotient's error
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
