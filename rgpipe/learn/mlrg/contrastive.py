"""Contrastive-divergence (CD) approximation of the KL loss, with block Gibbs samplers.

Seed 002 eq. 11:  ``D_C = F_coarse(v_fine) - F_coarse(v_coarse)`` with

* ``v_fine``: visible samples of the fine block at J, from ``k_fine`` block-Gibbs sweeps
  (h | v, then v | h) started from uniform random spins;
* ``v_coarse``: ``k_coarse`` Gibbs sweeps of the coarse block at J' started *from the data*
  ``v_fine`` (standard CD-k; the dlrg reference started it from a fresh draw);
* ``F_coarse(v) = -log sum_h exp(-E_coarse(v, h)) = -sum_(hidden components) log 2cosh(phi(v))``,
  computed overflow-free (:func:`.exact_kl.log2cosh`).

Samples are detached; the gradient reaches theta through J' in F_coarse only, which is the CD
estimate of dKL/dJ'.  The coarse block has a single hidden site whose marginal is uniform by
symmetry (A1, A1+E) for the data and the model alike, so one Gibbs step from the data already
samples the coarse marginal exactly: CD-1 is then an unbiased estimate of the exact-KL gradient
(tested against the enumerated Gibbs kernel); with 2A1+E the hidden components are correlated
and k_coarse matters.  Conditionals of an RBM without biases: given v, the hidden components are
independent with ``P(h = +1) = sigmoid(2 phi)``, ``phi = Q^T v``; given h, ``P(v = +1) =
sigmoid(2 Q h)``, with Q the (4 d) x (n_h d) coupling matrix of the block (energy -v^T Q h).

Uniform random numbers are passed in (one tensor per call), so the caller owns the streams.
"""

from __future__ import annotations

import numpy as np
import torch

from rgpipe.learn.mlrg.blocks import Block, bond_tensors, coarse_block, fine_block
from rgpipe.learn.mlrg.exact_kl import log2cosh
from rgpipe.learn.mlrg.representation import Representation


class GibbsBlock:
    """One block as an RBM: couplings J -> matrix Q, conditionals, free energy.

    Args:
        blk: the block.
        rep: the site representation.
        dtype, device: of the precomputed basis.
    """

    def __init__(
        self,
        blk: Block,
        rep: Representation,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        d = rep.d
        P = bond_tensors(blk, rep)  # (nb, n, d, d)
        full = np.zeros((rep.n_couplings, blk.n_visible * d, blk.n_hidden * d))
        for b, (a, j, _) in enumerate(blk.bonds):
            full[:, a * d : (a + 1) * d, j * d : (j + 1) * d] += P[b]
        self.basis = torch.as_tensor(full, dtype=dtype, device=device)
        self.n_vis = blk.n_visible * d
        self.n_hid = blk.n_hidden * d

    def matrix(self, J: torch.Tensor) -> torch.Tensor:
        """Q(J): (..., n) -> (..., 4 d, n_h d), energy ``-v^T Q h`` (v, h flattened)."""
        return torch.einsum("...c,cvh->...vh", J, self.basis)

    @staticmethod
    def _sample(field: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        """+-1 spins with P(+1) = sigmoid(2 field) (in place on the comparison: 2-4x faster
        than ``torch.where`` with scalar branches, same spins)."""
        return (uniform < torch.sigmoid(2.0 * field)).to(field.dtype).mul_(2.0).sub_(1.0)

    def sample_hidden(self, v: torch.Tensor, Q: torch.Tensor, uniform: torch.Tensor):
        """h | v for v (..., N, 4 d) and Q (..., 4 d, n_h d); uniform (..., N, n_h d)."""
        return self._sample(v @ Q, uniform)

    def sample_visible(self, h: torch.Tensor, Q: torch.Tensor, uniform: torch.Tensor):
        """v | h for h (..., N, n_h d); uniform (..., N, 4 d)."""
        return self._sample(h @ Q.transpose(-1, -2), uniform)

    def free_energy(self, v: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
        """F(v) = -log sum_h exp(v^T Q h), shape (..., N)."""
        return -log2cosh(v @ Q).sum(-1)


class ContrastiveLoss:
    """CD loss for a batch of coupling pairs.

    Args:
        rep: the site representation.
        n_samples: visible samples per coupling J (the CD batch).
        k_fine: Gibbs sweeps of the fine block (>= 1).
        k_coarse: Gibbs sweeps of the coarse block started from the fine samples (>= 1).
        dtype, device: working precision.
    """

    def __init__(
        self,
        rep: Representation,
        n_samples: int,
        k_fine: int,
        k_coarse: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        if min(n_samples, k_fine, k_coarse) < 1:
            raise ValueError("n_samples, k_fine and k_coarse must be >= 1")
        self.fine = GibbsBlock(fine_block(), rep, dtype, device)
        self.coarse = GibbsBlock(coarse_block(), rep, dtype, device)
        self.n_samples = n_samples
        self.k_fine = k_fine
        self.k_coarse = k_coarse

    def uniforms_per_chain(self) -> int:
        """How many uniform numbers one coupling J consumes per call."""
        nv, hf, hc = self.fine.n_vis, self.fine.n_hid, self.coarse.n_hid
        return self.n_samples * (nv + self.k_fine * (hf + nv) + self.k_coarse * (hc + nv))

    def sample_fine(self, J: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        """Visible fine-block samples (..., N, 4 d) after k_fine sweeps from random spins.

        Args:
            J: (..., n) couplings.
            uniform: (..., uniforms_per_chain()) uniform(0, 1) numbers; only the first part is
                used (the layout is the one of :meth:`__call__`).
        """
        return self._chains(J, None, uniform)[0]

    def _chains(self, J, Jp, uniform):
        lead = J.shape[:-1]
        N, nv, hf, hc = self.n_samples, self.fine.n_vis, self.fine.n_hid, self.coarse.n_hid
        pos = 0

        def take(width: int) -> torch.Tensor:
            nonlocal pos
            out = uniform[..., pos : pos + N * width].reshape(*lead, N, width)
            pos += N * width
            return out

        with torch.no_grad():
            Qf = self.fine.matrix(J.detach())
            v = torch.where(take(nv) < 0.5, 1.0, -1.0).to(Qf.dtype)
            for _ in range(self.k_fine):
                h = self.fine.sample_hidden(v, Qf, take(hf))
                v = self.fine.sample_visible(h, Qf, take(nv))
            if Jp is None:
                return v, None
            Qc = self.coarse.matrix(Jp.detach())
            vc = v
            for _ in range(self.k_coarse):
                h = self.coarse.sample_hidden(vc, Qc, take(hc))
                vc = self.coarse.sample_visible(h, Qc, take(nv))
        return v, vc

    def __call__(self, J: torch.Tensor, Jp: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        """CD loss per coupling pair.

        Args:
            J: (..., n) fine couplings (no gradient needed).
            Jp: (..., n) coarse couplings (gradient flows through them).
            uniform: (..., uniforms_per_chain()) uniform(0, 1) numbers.

        Returns:
            (...) mean over the samples of F_coarse(v_fine) - F_coarse(v_coarse).
        """
        v, vc = self._chains(J, Jp, uniform)
        Qc = self.coarse.matrix(Jp)
        return (self.coarse.free_energy(v, Qc) - self.coarse.free_energy(vc, Qc)).mean(-1)
