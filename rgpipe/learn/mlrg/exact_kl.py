"""Exact KL divergence between the visible marginals of the fine and coarse blocks.

For couplings J (fine) and J' (coarse)::

    KL(J, J') = sum_v P_fine(v; J) [log P_fine(v; J) - log P_coarse(v; J')]

The sum runs over all 2^(4 d) visible states (16 for A1, 4096 for A1+E, 65536 for 2A1+E).
Hidden spins are summed analytically: each hidden site j sees the field
``phi_j(v) = sum_{bonds b of j} Q_b^T v_{a(b)}`` (d components) and contributes
``sum_components log 2 cosh(phi_j)`` to ``log P(v) + log Z``.

Vectorisation: a visible state is a grid index (s_0, s_1, s_2, s_3), s_i in [0, 2^d).  The
field of a hidden site depends only on the few visible sites it is bonded to, so its
log-cosh term is computed on that sub-grid (q^2 entries for a fine-block midpoint, q^4 for the
coarse centre) and broadcast-added into the q^4 grid: no gathers, autograd-friendly, and the
leading dimensions of J (models, chains) are batched.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch

from rgpipe.learn.mlrg.blocks import (
    Block,
    bond_tensors,
    coarse_block,
    fine_block,
    site_states,
    visible_permutations,
)
from rgpipe.learn.mlrg.representation import Representation, representation


def log2cosh(x: torch.Tensor) -> torch.Tensor:
    """log(2 cosh x) = x + log(1 + exp(-2x)), overflow-free for any x (softplus is linear for
    large arguments)."""
    return x + torch.nn.functional.softplus(-2.0 * x)


class BlockMarginal:
    """Unnormalised log-marginal ``log sum_h exp(-E(v, h))`` of one block on every visible state.

    Args:
        blk: the block.
        rep: the site representation.
        dtype, device: of the precomputed tables (J passed later must match).
    """

    def __init__(
        self,
        blk: Block,
        rep: Representation,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> None:
        self.block = blk
        self.rep = rep
        self.d = rep.d
        self.q = 2**rep.d
        self.n_states = self.q**blk.n_visible
        states = site_states(rep.d)  # (q, d)
        P = bond_tensors(blk, rep)  # (nb, n, d_v, d_h), energy -v^T Q h
        # hidden field from bond b for visible state s: sum_i P[b, c, i, k] states[s, i]
        T = np.einsum("bcik,si->bcsk", P, states)  # (nb, n, q, d)
        self.tables = torch.as_tensor(T, dtype=dtype, device=device)
        self.by_hidden = [
            [(b, int(blk.bonds[b, 0])) for b in range(len(blk.bonds)) if blk.bonds[b, 1] == j]
            for j in range(blk.n_hidden)
        ]
        # dual enumeration (hidden states, visible summed analytically): worth it when small
        full = np.zeros((rep.n_couplings, blk.n_visible * rep.d, blk.n_hidden * rep.d))
        for b, (a, j, _) in enumerate(blk.bonds):
            full[:, a * rep.d : (a + 1) * rep.d, j * rep.d : (j + 1) * rep.d] += P[b]
        self.matrix_basis = torch.as_tensor(full, dtype=dtype, device=device)
        hid = site_states(rep.d)[np.indices((self.q,) * blk.n_hidden).reshape(blk.n_hidden, -1).T]
        self.hidden_states = torch.as_tensor(
            hid.reshape(len(hid), -1), dtype=dtype, device=device
        )  # (q^n_h, n_h d)

    def log_weight(self, J: torch.Tensor, half: bool = False) -> torch.Tensor:
        """Unnormalised log P(v) for all visible states.

        Args:
            J: (..., n) couplings.
            half: only the states whose first component (of visible site 0) is +1, i.e. the
                first half of the list.  The weight is even under flipping every visible spin
                (flip every hidden spin too), so the other half repeats it.

        Returns:
            (..., q^n_v) (or half of it) in the order of :func:`.blocks.all_configurations`.
        """
        nv = self.block.n_visible
        lead = J.shape[:-1]
        fields = torch.einsum("...c,bcsk->...bsk", J, self.tables)  # (..., nb, q, d)
        total = J.new_zeros((*lead, *([1] * nv)))
        for bonds in self.by_hidden:
            phi = None
            for b, a in bonds:
                t = fields[..., b, :, :]
                if half and a == 0:
                    t = t[..., : self.q // 2, :]
                shape = [1] * nv
                shape[a] = t.shape[-2]
                t = t.reshape(*lead, *shape, self.d)
                phi = t if phi is None else phi + t
            total = total + log2cosh(phi).sum(-1)
        sizes = [self.q] * nv
        if half:
            sizes[0] = self.q // 2
        return total.expand(*lead, *sizes).reshape(*lead, -1)

    def log_prob(self, J: torch.Tensor) -> torch.Tensor:
        """Normalised log P(v) for all visible states, shape (..., q^n_v)."""
        return torch.log_softmax(self.log_weight(J), dim=-1)

    def log_partition_dual(self, J: torch.Tensor) -> torch.Tensor:
        """log Z by enumerating the hidden states and summing the visible spins analytically:
        ``Z = sum_h prod_(visible components) 2 cosh((Q h)_i)``; cheap for the coarse block
        (2^d hidden states).  Shape (...)."""
        Q = torch.einsum("...c,cvh->...vh", J, self.matrix_basis)  # (..., 4d, n_h d)
        fields = torch.einsum("...vh,sh->...sv", Q, self.hidden_states)
        return torch.logsumexp(log2cosh(fields).sum(-1), dim=-1)


def symmetric_orbits(rep: Representation, n_sites: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Representatives and sizes of the visible-state orbits under the symmetries both blocks
    share: the 8 elements of C4v (acting on the visible spins with the same matrices in both
    blocks, see :mod:`.representation`) and the global spin flip.  For ``frame="none"`` only
    the rotations and the flip are shared (the mirrors then act differently on the blocks).

    Returns:
        (representatives (K, n_sites) site-state indices, orbit sizes (K,)).
    """
    return _orbits(rep.name, rep.frame, n_sites)


@cache
def _orbits(name: str, frame: str, n_sites: int) -> tuple[np.ndarray, np.ndarray]:
    """Cached worker of :func:`symmetric_orbits` (keyed by the representation name, frame)."""
    rep = representation(name, frame)
    blk = fine_block()
    if n_sites != blk.n_visible:
        raise ValueError(f"the blocks have {blk.n_visible} visible sites, got {n_sites}")
    q = 2**rep.d
    elements = rep.group_elements()  # matrices on the corners = visible spins of the fine block
    if frame == "none":
        elements = elements[:4]  # rotations only
    # times the global flip: every element also with all components negated
    perms = visible_permutations(blk, elements + [(geo, -mat) for geo, mat in elements])
    seen = np.zeros(q**n_sites, dtype=bool)
    reps, sizes = [], []
    weights = q ** np.arange(n_sites - 1, -1, -1)
    grid = np.indices((q,) * n_sites).reshape(n_sites, -1).T  # (S, n) in C order
    for idx in range(q**n_sites):
        if seen[idx]:
            continue
        members = np.unique(perms[:, idx])
        seen[members] = True
        reps.append(grid[idx])
        sizes.append(len(members))
    assert int(np.sum(sizes)) == q**n_sites and np.all(grid @ weights == np.arange(q**n_sites))
    out = (np.array(reps, dtype=np.int64), np.array(sizes, dtype=np.int64))
    for arr in out:
        arr.setflags(write=False)
    return out


class _OrbitMarginal:
    """Unnormalised log-marginal of a block on orbit representatives (gathers from site
    tables), the fast path of :class:`ExactKL`."""

    def __init__(self, marginal: BlockMarginal, reps: np.ndarray) -> None:
        self.m = marginal
        q = marginal.q
        dev = marginal.tables.device
        self.site_index = torch.tensor(np.array(reps), device=dev)  # (K, n_v)
        # per hidden site: bonds and the flat index of its visible sites' states
        self.groups = []
        for bonds in marginal.by_hidden:
            sites = [a for _, a in bonds]
            flat = np.zeros(len(reps), dtype=np.int64)
            for a in sites:
                flat = flat * q + reps[:, a]
            self.groups.append(([b for b, _ in bonds], len(sites), torch.as_tensor(flat)))

    def log_weight(self, J: torch.Tensor) -> torch.Tensor:
        """(..., n) -> (..., K)."""
        m = self.m
        lead = J.shape[:-1]
        fields = torch.einsum("...c,bcsk->...bsk", J, m.tables)  # (..., nb, q, d)
        total = None
        for bonds, k, flat in self.groups:
            if k <= 2:  # tabulate on the q^k grid of its sites, then gather
                phi = None
                for pos, b in enumerate(bonds):
                    shape = [1] * k
                    shape[pos] = m.q
                    t = fields[..., b, :, :].reshape(*lead, *shape, m.d)
                    phi = t if phi is None else phi + t
                table = log2cosh(phi).sum(-1).reshape(*lead, -1)
                term = table[..., flat]
            else:  # gather the site fields of every representative
                phi = None
                for b in bonds:
                    a = int(m.block.bonds[b, 0])
                    t = fields[..., b, :, :][..., self.site_index[:, a], :]
                    phi = t if phi is None else phi + t
                term = log2cosh(phi).sum(-1)
            total = term if total is None else total + term
        return total


class ExactKL:
    """KL(P_fine(J) || P_coarse(J')) by enumeration, batched over leading dimensions.

    ``KL = sum_v P_f log P_f - sum_v P_f L_c + log Z_c`` with ``L_c(v) = log sum_h
    exp(-E_coarse)``.  Both marginals are invariant under C4v and the global spin flip (the
    same action on the visible spins of both blocks), so the visible sums run over one
    representative per orbit, weighted by the orbit size (16 -> 4 states for A1, 4096 -> 282
    for A1+E, 65536 -> 4196 for 2A1+E in the default frame; rotations and flip only, 532 and
    8264 orbits, for ``frame="none"``); log
    Z_c is summed over the 2^d states of the hidden centre spin
    (:meth:`BlockMarginal.log_partition_dual`).

    Args:
        rep: the site representation.
        dtype, device: working precision (float64 for analysis, float32 for training).
    """

    def __init__(
        self,
        rep: Representation,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> None:
        self.rep = rep
        self.fine = BlockMarginal(fine_block(), rep, dtype, device)
        self.coarse = BlockMarginal(coarse_block(), rep, dtype, device)
        reps, sizes = symmetric_orbits(rep, fine_block().n_visible)
        self.orbit_reps = reps
        self.log_sizes = torch.as_tensor(np.log(sizes), dtype=dtype, device=device)
        self._fine = _OrbitMarginal(self.fine, reps)
        self._coarse = _OrbitMarginal(self.coarse, reps)

    def __call__(self, J: torch.Tensor, Jp: torch.Tensor) -> torch.Tensor:
        """KL divergence per coupling pair.

        Args:
            J: (..., n) fine couplings.
            Jp: (..., n) coarse couplings (broadcast against J).

        Returns:
            (...) KL >= 0 in nats.
        """
        lwf = self._fine.log_weight(J)  # (..., K) per state of the orbit
        lpf = lwf - torch.logsumexp(lwf + self.log_sizes, dim=-1, keepdim=True)
        pf = (lpf + self.log_sizes).exp()  # probability of the whole orbit
        lc = self._coarse.log_weight(Jp)
        return (pf * (lpf - lc)).sum(-1) + self.coarse.log_partition_dual(Jp)
