"""Larger blocks: clusters of black plaquettes, with the exact KL through sufficient statistics.

The single fine/coarse block pair of seed 002 (:mod:`.blocks`) is one *black plaquette*: the
visible marginal of the whole Lieb lattice is a product over black plaquettes of the fine
factor, and that of the coarse lattice a product of the coarse (cross) factor over the same
plaquettes.  Comparing one isolated factor of each is the block approximation; its exact-KL
optimum is biased (A1: J* = 0.81392, +6.5 %).  The natural larger block keeps the same RG step
and compares the two products over a *cluster* of black plaquettes instead:

* cluster ``"NxM"``: the N x M rectangle of black plaquettes in the coarse lattice's frame
  (plaquette (a, b), 0 <= a < N, 0 <= b < M, has its lower-left fine corner at (a - b, a + b):
  neighbours share one corner), i.e. an N x M patch of coarse corners with all their bonds;
  2NM + N + M visible spins (the fine corners = coarse midpoints);
* fine marginal: ``prod_p prod_{edges (i, j) of p} 2 cosh(J (v_i + v_j))`` (the fine bond
  spins inside the cluster summed analytically; every fine bond lies in one black plaquette);
* coarse marginal: ``prod_p 2 cosh(J' sum_{i in p} v_i)`` (the coarse corner of every
  plaquette summed analytically).

Tree-like clusters (1 x M) give the single-plaquette result exactly; clusters with loops see
the environment.  Exact-KL fixed points of the A1 model (:class:`.exact.OptimalMap`), against
J_c = 0.764285 (nu = ln sqrt2 / ln lambda; ``tests/test_mlrg_clusters.py``):

=========  ========  ==================  =======  =====
cluster    visible   J*                  lambda   nu
=========  ========  ==================  =======  =====
1x1        4         0.81392 (+6.49 %)   1.3568   1.136
2x2        12        0.77877 (+1.90 %)   1.3644   1.115
3x2        17        0.77045 (+0.81 %)   1.3648   1.114
4x2        22        0.76719 (+0.38 %)   1.3635   1.118
3x3        24        0.75912 (-0.68 %)   1.3687   1.104
=========  ========  ==================  =======  =====

With one coupling both marginals depend on a configuration only through three integers: the
number of fine edges whose two corners agree (``n_eq``) and the numbers of plaquettes with
|sum v| = 4 and = 2 (``n4``, ``n2``).  The 2^n visible states are enumerated once into a
histogram over these statistics (:func:`cluster_histogram`), after which the KL is a sum over
a few hundred bins, exact and cheap enough for training.  Richer representations on clusters
would need the full enumeration (2^(n d) states) and are not offered.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from rgpipe.learn.mlrg.exact_kl import ExactKL, log2cosh
from rgpipe.learn.mlrg.representation import Representation

PLAQUETTE = "plaquette"
"""The single-plaquette block pair of seed 002 (:mod:`.blocks`), for every representation."""

MAX_VISIBLE = 27
"""Largest number of visible spins of a cluster (2^27 states, enumerated once: about a minute)."""

_CLUSTER = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")


def parse_block(spec: str) -> tuple[int, int] | None:
    """``"plaquette"`` -> None; ``"NxM"`` -> (N, M).

    Raises:
        ValueError: for any other string, or a cluster with more than :data:`MAX_VISIBLE`
            visible spins.
    """
    if spec == PLAQUETTE:
        return None
    match = _CLUSTER.match(spec) if isinstance(spec, str) else None
    if match is None:
        raise ValueError(f"expected 'plaquette' or a cluster 'NxM' such as '4x2', got {spec!r}")
    nx, ny = int(match.group(1)), int(match.group(2))
    n_visible = 2 * nx * ny + nx + ny
    if n_visible > MAX_VISIBLE:
        raise ValueError(
            f"cluster {spec!r} has {n_visible} visible spins; at most {MAX_VISIBLE} are "
            f"enumerated (e.g. 4x2: 22, 3x3: 24)"
        )
    return nx, ny


@dataclass(frozen=True)
class Cluster:
    """Geometry of an N x M cluster of black plaquettes.

    Attributes:
        plaquettes: (P, 4) visible-site indices of every plaquette, counter-clockwise.
        corners: (n, 2) integer fine-lattice coordinates of the visible sites.
    """

    plaquettes: np.ndarray
    corners: np.ndarray

    @property
    def n_visible(self) -> int:
        """Number of visible spins."""
        return int(self.corners.shape[0])

    @property
    def edges(self) -> np.ndarray:
        """(4 P, 2) visible-site pairs joined through one fine bond spin."""
        p = self.plaquettes
        return np.stack([p, np.roll(p, -1, axis=1)], axis=-1).reshape(-1, 2)


@cache
def cluster(nx: int, ny: int) -> Cluster:
    """The N x M cluster (see the module docstring)."""
    plaqs = []
    for a in range(nx):
        for b in range(ny):
            x, y = a - b, a + b
            plaqs.append([(x, y), (x + 1, y), (x + 1, y + 1), (x, y + 1)])
    corners = sorted({c for p in plaqs for c in p})
    index = {c: i for i, c in enumerate(corners)}
    arr = np.array([[index[c] for c in p] for p in plaqs], dtype=np.int64)
    pos = np.array(corners, dtype=np.int64)
    arr.setflags(write=False)
    pos.setflags(write=False)
    return Cluster(arr, pos)


@cache
def cluster_histogram(nx: int, ny: int, chunk: int = 1 << 20) -> np.ndarray:
    """Number of visible configurations per sufficient statistic.

    Returns:
        int64 array H of shape (4P + 1, P + 1, P + 1): ``H[n_eq, n4, n2]`` configurations with
        ``n_eq`` agreeing edges, ``n4`` plaquettes with |sum v| = 4 and ``n2`` with 2.
    """
    cl = cluster(nx, ny)
    n, P = cl.n_visible, cl.plaquettes.shape[0]
    edges = cl.edges
    shape = (4 * P + 1, P + 1, P + 1)
    hist = np.zeros(int(np.prod(shape)), dtype=np.int64)
    shifts = np.arange(n, dtype=np.int64)
    for start in range(0, 2**n, chunk):
        states = np.arange(start, min(start + chunk, 2**n), dtype=np.int64)
        bits = ((states[:, None] >> shifts[None, :]) & 1).astype(np.int8)
        n_eq = (bits[:, edges[:, 0]] == bits[:, edges[:, 1]]).sum(axis=1)
        ups = bits[:, cl.plaquettes].sum(axis=2)  # spins up per plaquette, 0..4
        n4 = ((ups == 0) | (ups == 4)).sum(axis=1)
        n2 = ((ups == 1) | (ups == 3)).sum(axis=1)
        flat = np.ravel_multi_index((n_eq, n4, n2), shape)
        hist += np.bincount(flat, minlength=hist.size)
    return hist.reshape(shape)


class ClusterKL:
    """KL(P_fine(J) || P_coarse(J')) per plaquette on an N x M cluster, A1 couplings.

    Same interface as :class:`.exact_kl.ExactKL`; for the 1 x 1 cluster both agree.

    Args:
        nx, ny: the cluster.
        dtype, device: working precision.
    """

    def __init__(
        self,
        nx: int,
        ny: int,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> None:
        hist = cluster_histogram(nx, ny)
        n_eq, n4, n2 = np.nonzero(hist)
        self.n_plaquettes = cluster(nx, ny).plaquettes.shape[0]
        n_edges = 4 * self.n_plaquettes

        def t(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(x, dtype=dtype, device=device)

        self.log_count = t(np.log(hist[n_eq, n4, n2].astype(np.float64)))
        self.n_eq, self.n_ne = t(n_eq), t(n_edges - n_eq)
        self.n4, self.n2 = t(n4), t(n2)
        self.n0 = t(self.n_plaquettes - n4 - n2)
        self.log2 = math.log(2.0)

    def __call__(self, J: torch.Tensor, Jp: torch.Tensor) -> torch.Tensor:
        """KL divergence per plaquette and coupling pair.

        Args:
            J: (..., 1) fine couplings.
            Jp: (..., 1) coarse couplings (broadcast against J).

        Returns:
            (...) KL >= 0 in nats per black plaquette.
        """
        lwf = self.n_eq * log2cosh(2.0 * J) + self.n_ne * self.log2  # (..., bins)
        lpf = lwf - torch.logsumexp(lwf + self.log_count, dim=-1, keepdim=True)
        pf = (lpf + self.log_count).exp()
        lwc = self.n4 * log2cosh(4.0 * Jp) + self.n2 * log2cosh(2.0 * Jp) + self.n0 * self.log2
        kl = (pf * (lpf - lwc)).sum(-1) + torch.logsumexp(lwc + self.log_count, dim=-1)
        return kl / self.n_plaquettes


def exact_loss(
    rep: Representation,
    block: str,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> ExactKL | ClusterKL:
    """The exact-KL loss of a block choice: :class:`.exact_kl.ExactKL` for ``"plaquette"``,
    :class:`ClusterKL` for a cluster (A1 only; checked by :func:`.params.resolve_params`).

    Both map couplings J, J' of shape (..., n) to KL divergences of shape (...)."""
    shape = parse_block(block)
    if shape is None:
        return ExactKL(rep, dtype=dtype, device=device)
    if rep.n_couplings != 1:
        raise ValueError(f"block {block!r} needs the A1 representation (one coupling)")
    return ClusterKL(*shape, dtype=dtype, device=device)
