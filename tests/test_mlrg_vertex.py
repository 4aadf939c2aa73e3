"""Clusters for every representation (rgpipe.learn.mlrg.vertex): the node-by-node
contraction against brute-force sums, the A1 sufficient-statistic KL and the plaquette KL."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from rgpipe.learn.mlrg.clusters import ClusterKL, cluster, exact_loss
from rgpipe.learn.mlrg.exact_kl import ExactKL
from rgpipe.learn.mlrg.params import resolve_params
from rgpipe.learn.mlrg.representation import representation
from rgpipe.learn.mlrg.vertex import VertexClusterKL, log_partition

torch.set_num_threads(1)


def brute_log_partition(log_phi: np.ndarray, nx: int, ny: int) -> float:
    """log sum over every site state of prod_p phi(v_p), the plaquettes' sites taken from
    the cluster geometry of :mod:`.clusters` (independent of the vertex bookkeeping)."""
    q = log_phi.shape[0]
    plaq = cluster(nx, ny).plaquettes  # (P, 4) site indices, counter-clockwise
    n = cluster(nx, ny).n_visible
    states = np.array(list(itertools.product(range(q), repeat=n)))  # (q^n, n)
    total = np.zeros(len(states))
    for p in plaq:
        total += log_phi[states[:, p[0]], states[:, p[1]], states[:, p[2]], states[:, p[3]]]
    top = total.max()
    return float(top + np.log(np.exp(total - top).sum()))


@pytest.mark.parametrize(
    "q, nx, ny", [(3, 2, 2), (2, 3, 2), (2, 2, 3), (2, 4, 1), (2, 1, 3), (3, 1, 1), (3, 3, 1)]
)
def test_contraction_matches_brute_force_for_asymmetric_weights(q, nx, ny):
    """Random node weights without any symmetry: every edge must be wired to the right
    neighbour in both directions (and for clusters contracted along either side)."""
    rng = np.random.default_rng(q * 100 + nx * 10 + ny)
    log_phi = rng.normal(size=(q, q, q, q))
    got = float(log_partition(torch.as_tensor(log_phi), nx, ny))
    assert got == pytest.approx(brute_log_partition(log_phi, nx, ny), abs=1e-10)


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 2), (2, 4), (4, 4)])
def test_a1_equals_the_sufficient_statistic_kl(shape):
    rep = representation("A1")
    J = torch.tensor([[0.4], [0.76], [1.1]], dtype=torch.float64)
    Jp = torch.tensor([[0.5], [0.7], [1.3]], dtype=torch.float64)
    np.testing.assert_allclose(
        VertexClusterKL(rep, *shape)(J, Jp).numpy(), ClusterKL(*shape)(J, Jp).numpy(), atol=1e-12
    )


def test_single_plaquette_equals_the_block_kl_for_a1_e():
    rep = representation("A1+E")
    rng = np.random.default_rng(5)
    J = torch.as_tensor(rng.normal(0.3, 0.3, size=(4, 5)))
    Jp = torch.as_tensor(rng.normal(0.3, 0.3, size=(4, 5)))
    np.testing.assert_allclose(
        VertexClusterKL(rep, 1, 1)(J, Jp).numpy(), ExactKL(rep)(J, Jp).numpy(), atol=1e-12
    )


@pytest.mark.parametrize("shape", [(2, 1), (1, 2)])
def test_a1_e_two_plaquette_cluster_against_enumeration(shape):
    """A1+E (3 spin components, direction-dependent couplings) on two plaquettes sharing a
    corner, along either axis: the KL against the sum over all 8^7 visible states of the
    products of the blocks' own plaquette weights."""
    rep = representation("A1+E")
    J = torch.tensor([0.8, 0.3, -0.2, 0.25, 0.1], dtype=torch.float64)
    Jp = torch.tensor([0.7, 0.2, -0.1, 0.2, 0.3], dtype=torch.float64)
    kl = VertexClusterKL(rep, *shape)
    q = kl.q
    lf = kl.fine.log_weight(J).reshape(q, q, q, q).numpy()
    lc = kl.coarse.log_weight(Jp).reshape(q, q, q, q).numpy()
    plaq = cluster(*shape).plaquettes
    states = np.array(list(itertools.product(range(q), repeat=cluster(*shape).n_visible)))
    log_p = sum(lf[tuple(states[:, p].T)] for p in plaq)
    log_q = sum(lc[tuple(states[:, p].T)] for p in plaq)
    log_p = log_p - np.logaddexp.reduce(log_p)
    log_q = log_q - np.logaddexp.reduce(log_q)
    brute = float(np.sum(np.exp(log_p) * (log_p - log_q))) / len(plaq)
    assert float(kl(J, Jp)) == pytest.approx(brute, abs=1e-11)


def test_gradients_and_hessians_through_the_contraction():
    """Float64 autograd through the contraction, as the optimal map and training use it."""
    rep = representation("A1+E")
    kl = VertexClusterKL(rep, 2, 2)
    J = torch.tensor([0.8, 0.3, -0.2, 0.25, 0.1], dtype=torch.float64, requires_grad=True)
    Jp = torch.tensor([0.7, 0.2, -0.1, 0.2, 0.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: kl(a, b), (J, Jp))
    H = torch.autograd.functional.hessian(lambda z: kl(z[:5], z[5:]), torch.cat([J, Jp]).detach())
    np.testing.assert_allclose(H.numpy(), H.numpy().T, atol=1e-9)
    assert np.all(np.linalg.eigvalsh(H[5:, 5:].numpy()) > 0)  # KL convex in J' here


def test_cluster_blocks_for_richer_representations_are_validated():
    assert isinstance(exact_loss(representation("A1+E"), "3x2"), VertexClusterKL)
    assert isinstance(exact_loss(representation("A1"), "3x2"), ClusterKL)
    resolve_params({"representation": "A1+E", "block": "4x4"})  # 8^5 boundary states
    with pytest.raises(ValueError, match="too wide"):
        resolve_params({"representation": "A1+E", "block": "5x5"})
    with pytest.raises(ValueError, match="too wide"):
        resolve_params({"representation": "2A1+E", "block": "3x3"})
    with pytest.raises(ValueError, match="exact KL"):
        resolve_params({"representation": "A1+E", "block": "2x2", "loss": "cd"})
