"""Clusters for every representation: the exact cluster KL by contracting a vertex model.

:mod:`.clusters` compares the fine and coarse marginals on an N x M cluster of black
plaquettes through three sufficient statistics, which exist for the one-coupling A1 model
only.  Here the same cluster is read as a *vertex model*: every black plaquette is a node,
every visible spin (q = 2^d states for a representation of dimension d) an edge, shared by
the two plaquettes it touches or dangling at the border.  With the plaquette (a, b) at
fine-lattice corner (a - b, a + b) (as in :mod:`.clusters`), its corners counter-clockwise
from the lower left are the edges to the west (a - 1), south (b - 1), east (a + 1) and north
(b + 1) neighbours, which is also the site order of the blocks (:mod:`.blocks`), so the
node weight is the block's own unnormalised marginal phi(v_0, v_1, v_2, v_3).

The partition function ``Z = sum_v prod_p phi(v_p)`` is contracted column by column: a
column of m nodes is a q^m x q^m transfer matrix (the nodes chained through their
south-north edges, the two ends free), applied N times to the free west border.  The
plaquette marginals summed over the cluster are the gradient of log Z with respect to the
shared node table, so

    KL_total = <S_f, log phi_f - log phi_c> - log Z_f + log Z_c,   S_f = d log Z_f / d log phi_f

is exact, differentiable in both couplings (Hessians by autograd), and costs about
N q^(2m + 2) per evaluation: A1+E (q = 8) on 2-wide clusters in about a millisecond, 3-wide in
tens of milliseconds; A1 reproduces the sufficient-statistic histograms of :mod:`.clusters`.

Exact-KL optimal maps of A1+E on clusters (``benchmarks/bench_mlrg.py --reps A1+E --blocks
... --reference-only``; J_c the Ising-axis crossing, nu from the critical fixed point's
relevant eigenvalue), against A1 on the same clusters:

=========  ===================  ======  ===================  =====
cluster    A1+E J_c             nu      A1 J_c               nu
=========  ===================  ======  ===================  =====
plaquette  0.86297 (+12.9 %)    0.851   0.81392 (+6.49 %)    1.136
2x2        0.7851 (+2.72 %)     1.033   0.77877 (+1.90 %)    1.115
3x2        0.7767 (+1.63 %)     1.004   0.77045 (+0.81 %)    1.114
4x2        0.7747 (+1.36 %)     0.997   0.76719 (+0.38 %)    1.118
5x2        0.7739 (+1.26 %)     0.994   0.76541 (+0.15 %)    1.121
3x3        (not computed)       0.962   0.75912 (-0.68 %)    1.104
=========  ===================  ======  ===================  =====

Once the block has loops, A1+E gives nu within a few per cent of 1, where one coupling stays
near 1.1 on every cluster; its J_c approaches the exact value from above, more slowly than
A1's, which crosses it.
"""

from __future__ import annotations

import torch

from rgpipe.learn.mlrg.blocks import coarse_block, fine_block
from rgpipe.learn.mlrg.exact_kl import BlockMarginal
from rgpipe.learn.mlrg.representation import Representation

MAX_TRANSFER_STATES = 512
"""Largest column state space q^m: A1+E up to 3 plaquettes wide, 2A1+E 2 (A1 uses
:mod:`.clusters`).  A column costs q^(2m+1) floats per coupling pair, 2 M for a 3-wide A1+E
cluster: train those with few chains and models per batch."""


def check_width(q: int, nx: int, ny: int) -> None:
    """Raise ValueError if an nx x ny cluster with q states per spin needs more than
    :data:`MAX_TRANSFER_STATES` column states (q^min(nx, ny))."""
    m = min(nx, ny)
    if q**m > MAX_TRANSFER_STATES:
        raise ValueError(
            f"cluster {nx}x{ny} is too wide for {q} states per spin: {q}^{m} transfer states, "
            f"at most {MAX_TRANSFER_STATES}"
        )


def column_transfer(phi: torch.Tensor, m: int) -> torch.Tensor:
    """Transfer matrix of one column of m nodes.

    Args:
        phi: (..., q, q, q, q) node weights phi[west, south, east, north] (non-negative).
        m: nodes per column; node b's north edge is node b + 1's south edge, the south edge
            of node 0 and the north edge of node m - 1 are free (summed).

    Returns:
        (..., q^m, q^m): T[(w_0 .. w_{m-1}), (e_0 .. e_{m-1})], w_0 most significant.
    """
    q = phi.shape[-1]
    lead = phi.shape[:-4]
    carry = phi.new_ones((*lead, 1, 1, q))  # (..., W, E, s): the free south edge of node 0
    for _ in range(m):
        carry = torch.einsum("...ijs,...wsen->...iwjen", carry, phi)
        carry = carry.reshape(*lead, carry.shape[-5] * q, carry.shape[-3] * q, q)
    return carry.sum(-1)


def log_partition(log_phi: torch.Tensor, nx: int, ny: int) -> torch.Tensor:
    """log of ``sum_v prod_p phi(v_p)`` over an nx x ny cluster.

    Args:
        log_phi: (..., q, q, q, q) log node weights [west, south, east, north].
        nx, ny: the cluster (nx columns along a, ny nodes along b).

    Returns:
        (...) log Z, computed with per-column rescaling (no overflow for any cluster).
    """
    if ny > nx:  # contract along the long side: swap a <-> b (W <-> S, E <-> N)
        log_phi = log_phi.permute(*range(log_phi.dim() - 4), -3, -4, -1, -2)
        nx, ny = ny, nx
    check_width(log_phi.shape[-1], nx, ny)
    lead = log_phi.shape[:-4]
    shift = log_phi.detach().reshape(*lead, -1).amax(-1)  # (...)
    T = column_transfer((log_phi - shift[..., None, None, None, None]).exp(), ny)
    vec = T.sum(-2)  # the first column's west edges free: (..., q^m)
    log_z = nx * ny * shift
    for _ in range(nx - 1):
        norm = vec.sum(-1, keepdim=True)
        log_z = log_z + norm[..., 0].log()
        vec = torch.einsum("...i,...ij->...j", vec / norm, T)
    return log_z + vec.sum(-1).log()


class VertexClusterKL:
    """KL(P_fine(J) || P_coarse(J')) per plaquette on an N x M cluster, any representation.

    Same interface as :class:`.exact_kl.ExactKL` and :class:`.clusters.ClusterKL`.

    Args:
        rep: the site representation.
        nx, ny: the cluster.
        dtype, device: working precision.

    Raises:
        ValueError: when the column transfer matrix would exceed
            :data:`MAX_TRANSFER_STATES` states.
    """

    def __init__(
        self,
        rep: Representation,
        nx: int,
        ny: int,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> None:
        q = 2**rep.d
        check_width(q, nx, ny)
        self.rep, self.nx, self.ny, self.q = rep, nx, ny, q
        self.n_plaquettes = nx * ny
        self.fine = BlockMarginal(fine_block(), rep, dtype, device)
        self.coarse = BlockMarginal(coarse_block(), rep, dtype, device)

    def _grid(self, marginal: BlockMarginal, J: torch.Tensor) -> torch.Tensor:
        q = self.q
        return marginal.log_weight(J).reshape(*J.shape[:-1], q, q, q, q)

    def __call__(self, J: torch.Tensor, Jp: torch.Tensor) -> torch.Tensor:
        """KL divergence per plaquette and coupling pair.

        Args:
            J: (..., n) fine couplings.
            Jp: (..., n) coarse couplings (broadcast against J).

        Returns:
            (...) KL >= 0 in nats per black plaquette.
        """
        J, Jp = torch.broadcast_tensors(J, Jp)
        lf, lc = self._grid(self.fine, J), self._grid(self.coarse, Jp)
        with torch.enable_grad():
            x = lf if lf.requires_grad else lf.detach().requires_grad_(True)
            log_zf = log_partition(x, self.nx, self.ny)
            (marg,) = torch.autograd.grad(log_zf.sum(), x, create_graph=lf.requires_grad)
        if not lf.requires_grad:
            log_zf = log_zf.detach()
        dims = (-4, -3, -2, -1)
        total = (marg * (lf - lc)).sum(dims) - log_zf + log_partition(lc, self.nx, self.ny)
        return total / self.n_plaquettes
