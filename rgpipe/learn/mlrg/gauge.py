"""Gauge fixing: one representative per gauge orbit of coupling vectors.

Relabelling the hidden spin components of a block (:meth:`.representation.Representation.
gauge_matrices`, signed permutations ``A_g`` acting linearly on J) leaves every visible
marginal unchanged, so J and ``A_g J`` are the same model and the KL cannot tell the copies of
the coarse couplings J' apart.  A network trained on couplings from several copies may switch
copies between regions and blend them; its learned map then has spurious directions at the
fixed point (measured on A1+E clusters: a second eigenvalue of -1.0 to -1.4 besides the
relevant 1.35).

:func:`canonicalise` picks the lexicographically largest member of the orbit
``{A_g J}``: for a group of sign flips (A1+E: the signs of J0, J1, J2 are independent, the
rest follow) its domain is the orthant J0, J1, J2 >= 0, and the folding is continuous
(reflections fix their mirrors).  :class:`GaugeFixedMap` composes a trained map with it,
``F(J) = canon(J + f(canon J))``: a map of the domain into itself whose fixed points are the
gauge-fixed copies of the learned ones, whatever copy the network outputs.
"""

from __future__ import annotations

import numpy as np
import torch

TIE = 1e-9
"""Components closer than this count as equal in the lexicographic comparison."""


def canonicalise(J: torch.Tensor, mats: torch.Tensor) -> torch.Tensor:
    """The lexicographically largest gauge copy of every coupling vector.

    Args:
        J: (..., n) couplings.
        mats: (G, n, n) gauge matrices (the group, identity included).

    Returns:
        (..., n) ``A_g J`` with g chosen per vector (the choice carries no gradient; the
        result is differentiable in J through the chosen linear map).
    """
    mats = mats.to(J.dtype)
    orbit = torch.einsum("gij,...j->g...i", mats, J)  # (G, ..., n)
    with torch.no_grad():
        keep = torch.ones(orbit.shape[:-1], dtype=torch.bool)
        floor = torch.full(orbit.shape[:-1], -np.inf, dtype=J.dtype)
        for i in range(J.shape[-1]):
            vals = torch.where(keep, orbit[..., i].detach(), floor)
            best = vals.max(dim=0, keepdim=True).values
            keep = keep & (vals >= best - TIE)
        choice = keep.to(torch.int8).argmax(dim=0)  # first surviving copy, shape (...)
    index = choice[None, ..., None].expand(1, *J.shape)
    return torch.gather(orbit, 0, index.long())[0]


class GaugeFixedMap:
    """A batch of learned RG maps composed with the gauge fixing.

    ``flow(J) = F(J) - J`` with ``F(J) = canon(x + f(x))`` and ``x = canon(J)``, so that
    ``J + flow(J)`` is the gauge-fixed map; the analysis (:mod:`.critical`) and the HMC
    potential use it like an :class:`.networks.RGModel`.

    Args:
        model: the trained maps (``flow``, ``n``, ``n_models``).
        mats: (G, n, n) gauge matrices.
    """

    def __init__(self, model, mats: np.ndarray | torch.Tensor) -> None:
        self.model = model
        self.mats = torch.as_tensor(np.asarray(mats), dtype=torch.float64)
        self.n = model.n
        self.n_models = model.n_models

    def flow(self, J: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
        """(M, B, n) -> (M, B, n): F(J) - J."""
        x = canonicalise(J, self.mats)
        return canonicalise(x + self.model.flow(x, create_graph=create_graph), self.mats) - J
