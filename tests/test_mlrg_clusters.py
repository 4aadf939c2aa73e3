"""Cluster blocks of the MLRG scheme: geometry, exact KL against a brute-force sum, the
KL-optimal fixed points, and training on a cluster."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from util import a1_optimal_fixed_point

from rgpipe.learn.mlrg.clusters import (
    ClusterKL,
    cluster,
    cluster_histogram,
    enumerated_histogram,
    exact_loss,
    parse_block,
)
from rgpipe.learn.mlrg.exact import J_C_EXACT, OptimalMap
from rgpipe.learn.mlrg.exact_kl import ExactKL
from rgpipe.learn.mlrg.params import resolve_params
from rgpipe.learn.mlrg.representation import representation
from rgpipe.learn.mlrg.train import train_group

torch.set_num_threads(1)
J_STAR_CLOSED = a1_optimal_fixed_point()[0]  # 0.813920, tests/util.py


@pytest.mark.parametrize(("nx", "ny"), [(1, 1), (2, 1), (2, 2), (3, 2), (4, 2), (3, 3)])
def test_cluster_geometry(nx, ny):
    cl = cluster(nx, ny)
    assert cl.n_visible == 2 * nx * ny + nx + ny
    assert cl.plaquettes.shape == (nx * ny, 4)
    pos = cl.corners[cl.plaquettes]  # (P, 4, 2): unit squares, counter-clockwise
    steps = np.roll(pos, -1, axis=1) - pos
    assert np.all(np.abs(steps).sum(-1) == 1)
    a, b = steps[:, 0], steps[:, 1]
    assert np.all(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0] == 1)
    # black plaquettes only: every fine bond (edge) belongs to one plaquette, corners are
    # shared by at most two plaquettes, and neighbouring plaquettes share exactly one
    edges = {tuple(sorted(e)) for e in cl.edges.tolist()}
    assert len(edges) == 4 * nx * ny
    counts = np.bincount(cl.plaquettes.ravel(), minlength=cl.n_visible)
    assert counts.max() <= 2 and (counts == 2).sum() == (nx - 1) * ny + nx * (ny - 1)
    lower_left = pos[:, 0]
    assert np.all((lower_left.sum(-1) % 2) == 0)  # checkerboard colour of the plaquettes


def _brute_force_kl(nx, ny, J, Jp):
    """KL per plaquette summing the hidden spins explicitly (no closed forms)."""
    cl = cluster(nx, ny)
    v = np.array(list(itertools.product([1, -1], repeat=cl.n_visible)), dtype=np.float64)
    hidden4 = np.array(list(itertools.product([1, -1], repeat=4)), dtype=np.float64)
    log_f = np.zeros(len(v))
    log_c = np.zeros(len(v))
    for p in cl.plaquettes:
        pair = v[:, p] + v[:, np.roll(p, -1)]  # (states, 4): v_i + v_{i+1}, bond i
        log_f += np.log(np.exp(J * pair @ hidden4.T).sum(axis=1))  # 4 bond spins
        s = v[:, p].sum(axis=1)
        log_c += np.log(np.exp(Jp * s) + np.exp(-Jp * s))  # the coarse centre spin
    lpf = log_f - np.logaddexp.reduce(log_f)
    lpc = log_c - np.logaddexp.reduce(log_c)
    return float(np.sum(np.exp(lpf) * (lpf - lpc))) / len(cl.plaquettes)


@pytest.mark.parametrize(("nx", "ny"), [(1, 1), (2, 1), (2, 2), (3, 2)])
def test_cluster_kl_matches_a_brute_force_sum(nx, ny):
    kl = ClusterKL(nx, ny)
    for J, Jp in [(0.3, 0.5), (0.77, 0.74), (1.4, 2.1), (0.05, 0.9)]:
        got = float(
            kl(torch.tensor([J], dtype=torch.float64), torch.tensor([Jp], dtype=torch.float64))
        )
        # rel 1e-9: round-off of the brute-force sums over up to 2^17 states
        assert got == pytest.approx(_brute_force_kl(nx, ny, J, Jp), rel=1e-9, abs=1e-13)
    assert cluster_histogram(nx, ny).sum() == 2 ** cluster(nx, ny).n_visible


@pytest.mark.parametrize(("nx", "ny"), [(1, 1), (3, 1), (1, 3), (2, 2), (3, 2), (2, 3), (4, 2)])
def test_transfer_matrix_histogram_equals_enumeration(nx, ny):
    np.testing.assert_array_equal(cluster_histogram(nx, ny), enumerated_histogram(nx, ny))


def test_single_plaquette_is_the_seed_block_pair_and_trees_add_nothing():
    """1 x 1 is seed 002's square/cross pair; a tree of plaquettes (N x 1) has the same KL
    per plaquette, so loops are what carries the environment."""
    g = torch.Generator().manual_seed(0)
    J = 1.6 * torch.rand(32, 1, generator=g, dtype=torch.float64)
    Jp = 1.6 * torch.rand(32, 1, generator=g, dtype=torch.float64)
    single = ExactKL(representation("A1"))(J, Jp)
    torch.testing.assert_close(ClusterKL(1, 1)(J, Jp), single, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(ClusterKL(3, 1)(J, Jp), single, rtol=1e-10, atol=1e-14)
    assert not torch.allclose(ClusterKL(2, 2)(J, Jp), single, rtol=1e-3)


def test_cluster_fixed_points_cross_the_exact_critical_coupling():
    """Exact-KL optimal maps: the A1 bias falls from +6.5 % (one plaquette) to below 0.5 %
    on the 4 x 2 cluster, then changes sign for wider clusters (4 x 4: -1.9 %): the
    infinite-cluster limit of one coupling lies below J_c.  The slope stays near 1.37."""
    bias = {}
    for block in ("plaquette", "2x2", "3x2", "4x2", "3x3", "4x4"):
        (js,), slope = OptimalMap("A1", block=block).fixed_point(np.array([0.77]))
        bias[block] = js / J_C_EXACT - 1.0
        nu = math.log(math.sqrt(2.0)) / math.log(slope[0, 0])
        assert 1.05 < nu < 1.15, (block, nu)
    # the single plaquette against its closed form (decimated 4-ring vs one centre spin)
    assert bias["plaquette"] == pytest.approx(J_STAR_CLOSED / J_C_EXACT - 1.0, abs=1e-10)
    assert bias["plaquette"] > bias["2x2"] > bias["3x2"] > bias["4x2"] > 0.0
    assert bias["4x2"] < 0.005
    assert 0.0 > bias["3x3"] > bias["4x4"] > -0.03


def test_training_on_a_cluster_learns_its_fixed_point():
    (res,) = train_group({"block": "3x2", "epochs": 600, "batch": 32}, [1])
    j_star = OptimalMap("A1", block="3x2").fixed_point(np.array([0.78]))[0][0]
    assert abs(res["J_c"] - j_star) < 2e-3, (res["J_c"], j_star)
    assert abs(res["J_c"] - J_C_EXACT) < 0.015  # against +0.049 for the single plaquette


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"block": "5x5", "representation": "A1+E"}, "too wide"),
        ({"block": "4x2", "loss": "cd"}, "exact KL"),
        ({"block": "9x9"}, "too large"),
        ({"block": "40x1"}, "too large"),
        ({"block": "square"}, "a cluster 'NxM'"),
    ],
)
def test_invalid_blocks_are_rejected(params, needle):
    with pytest.raises(ValueError, match="'block'") as info:
        resolve_params(params)
    assert needle in str(info.value)


def test_parse_block_and_loss_factory():
    assert parse_block("plaquette") is None
    assert parse_block("4x2") == (4, 2)
    assert isinstance(exact_loss(representation("A1"), "2x2"), ClusterKL)
    assert isinstance(exact_loss(representation("A1+E"), "plaquette"), ExactKL)
    with pytest.raises(ValueError, match="too wide"):
        exact_loss(representation("A1+E"), "5x5")  # 8^6 boundary states
