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
5x2        27        0.76541 (+0.15 %)   1.3623   1.121
3x3        24        0.75912 (-0.68 %)   1.3687   1.104
4x3        31        0.75464 (-1.26 %)   1.3689   1.104
4x4        40        0.74954 (-1.93 %)   1.3708   1.099
5x5        60        0.74415 (-2.64 %)   1.3719   1.096
6x6        84        0.74081 (-3.07 %)   1.3722   1.095
=========  ========  ==================  =======  =====

**The bias does not converge to zero: it changes sign.**  As the cluster grows the KL per
plaquette tends to the KL of the infinite lattices, whose optimal single coupling has its
fixed point *below* J_c, at J* = 0.7313 +- 0.0003 (-4.3 %; from the bulk KL density of
the clusters and, independently, by moment matching with Monte Carlo plaquette correlations:
``benchmarks/bench_mlrg.py --bulk``); the 2-wide clusters approach from above and cross J_c
near 5x2-6x2.  The small bias of the 4x2 and 5x2 clusters is that crossing,
not convergence.  nu stays near 1.1 throughout (one coupling cannot do better).

With one coupling both marginals depend on a configuration only through three integers: the
number of fine edges whose two corners agree (``n_eq``) and the numbers of plaquettes with
|sum v| = 4 and = 2 (``n4``, ``n2``).  Their histogram over the 2^n visible states is built
by a transfer matrix over the columns of the cluster (:func:`cluster_histogram`), after which
the KL is a sum over at most a few thousand bins, exact and cheap enough for training.
Richer representations have no such statistics; their clusters are contracted as vertex
models instead (:mod:`.vertex`), which gives the same numbers for A1.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from rgpipe.learn.mlrg.exact_kl import ExactKL, log2cosh
from rgpipe.learn.mlrg.representation import Representation, parse_representation
from rgpipe.learn.mlrg.vertex import VertexClusterKL, check_width

PLAQUETTE = "plaquette"
"""The single-plaquette block pair of seed 002 (:mod:`.blocks`), for every representation."""

MAX_WIDTH = 5
"""Largest short side of a cluster (the transfer matrix costs ~ 8^width; 5 x 5: seconds)."""

MAX_PLAQUETTES = 36
"""Largest number of plaquettes of a cluster (histogram memory ~ 2^width (4P)(P^2) floats)."""

_CLUSTER = re.compile(r"^([1-9][0-9]*)x([1-9][0-9]*)$")


def parse_block(spec: str) -> tuple[int, int] | None:
    """``"plaquette"`` -> None; ``"NxM"`` -> (N, M).

    Raises:
        ValueError: for any other string, or a cluster wider than :data:`MAX_WIDTH` or with
            more than :data:`MAX_PLAQUETTES` plaquettes.
    """
    if spec == PLAQUETTE:
        return None
    match = _CLUSTER.match(spec) if isinstance(spec, str) else None
    if match is None:
        raise ValueError(f"expected 'plaquette' or a cluster 'NxM' such as '4x2', got {spec!r}")
    nx, ny = int(match.group(1)), int(match.group(2))
    if min(nx, ny) > MAX_WIDTH or nx * ny > MAX_PLAQUETTES:
        raise ValueError(
            f"cluster {spec!r} is too large: at most {MAX_WIDTH} plaquettes on the short side "
            f"and {MAX_PLAQUETTES} in all"
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


def _column_increments(m: int) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """Statistics added by one column of m plaquettes, per (left tips, right tips) state.

    Column a of a cluster holds the plaquettes (a, 0..m-1).  In the rotated coordinates
    (u, w) = (x + y, y - x) plaquette (a, b) has the corners L_b = (2a, 2b) (left tip),
    I_b = (2a+1, 2b-1), R_b = (2a+2, 2b) (right tip) and I_{b+1} = (2a+1, 2b+1),
    counter-clockwise; the left tips are the previous column's right tips and the m + 1
    internal spins I belong to this column only.

    Returns:
        {(left state, right state): (increments (K, 3) of (n_eq, n4, n2), multiplicities (K,))}
        summed over the 2^(m+1) internal states; a state's bit b is tip b's spin.
    """
    bits = (np.arange(2 ** (m + 1))[:, None] >> np.arange(m + 1)[None, :]) & 1
    tips = bits[: 2**m, :m]  # (2^m, m)
    lo, hi = bits[:, :-1], bits[:, 1:]  # I_b and I_{b+1}: (2^(m+1), m)
    out = {}
    for li, left in enumerate(tips):
        for ri, right in enumerate(tips):
            n_eq = (
                (left == lo).sum(1) + (lo == right).sum(1) + (right == hi).sum(1)
                + (hi == left).sum(1)
            )  # fmt: skip
            ups = left + lo + right + hi
            n4 = ((ups == 0) | (ups == 4)).sum(1)
            n2 = ((ups == 1) | (ups == 3)).sum(1)
            inc, mult = np.unique(np.stack([n_eq, n4, n2], 1), axis=0, return_counts=True)
            out[li, ri] = (inc, mult.astype(np.float64))
    return out


@cache
def cluster_histogram(nx: int, ny: int) -> np.ndarray:
    """Number of visible configurations per sufficient statistic, by a transfer matrix.

    The cluster is built column by column (:func:`_column_increments`), carrying for every
    state of the current right tips the histogram of the statistics so far; the cost grows
    like nx 8^min(nx, ny), so clusters far beyond enumeration (5 x 5: 60 visible spins) take
    seconds.  Checked against :func:`enumerated_histogram` in the tests.

    Returns:
        float64 array H of shape (4P + 1, P + 1, P + 1): ``H[n_eq, n4, n2]`` configurations
        with ``n_eq`` agreeing edges, ``n4`` plaquettes with |sum v| = 4 and ``n2`` with 2
        (exact integers below 2^53; float64 because large clusters have more than 2^63
        configurations).
    """
    n_cols, m = max(nx, ny), min(nx, ny)  # the cluster is symmetric under a <-> b
    P = nx * ny
    shape = (4 * P + 1, P + 1, P + 1)
    steps = _column_increments(m)
    hist = np.zeros((2**m, *shape))
    hist[:, 0, 0, 0] = 1.0  # the first column's left tips: free, nothing counted yet
    for _ in range(n_cols):
        new = np.zeros_like(hist)
        for (li, ri), (inc, mult) in steps.items():
            src = hist[li]
            for (de, d4, d2), c in zip(inc.tolist(), mult.tolist(), strict=True):
                new[ri, de:, d4:, d2:] += c * src[: shape[0] - de, : P + 1 - d4, : P + 1 - d2]
        hist = new
    return hist.sum(axis=0)


def enumerated_histogram(nx: int, ny: int, chunk: int = 1 << 20) -> np.ndarray:
    """:func:`cluster_histogram` by brute-force enumeration of the 2^n visible states
    (the reference of the tests; int64)."""
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

        self.log_count = t(np.log(hist[n_eq, n4, n2]))
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
) -> ExactKL | ClusterKL | VertexClusterKL:
    """The exact-KL loss of a block choice: :class:`.exact_kl.ExactKL` for ``"plaquette"``;
    for a cluster :class:`ClusterKL` (A1, sufficient statistics) or, for every other
    representation, :class:`.vertex.VertexClusterKL` (vertex-model contraction).

    All map couplings J, J' of shape (..., n) to KL divergences of shape (...).

    Raises:
        ValueError: for a malformed block or a cluster too wide for the representation.
    """
    shape = parse_block(block)
    if shape is None:
        return ExactKL(rep, dtype=dtype, device=device)
    if uses_histograms(rep):
        return ClusterKL(*shape, dtype=dtype, device=device)
    return VertexClusterKL(rep, *shape, dtype=dtype, device=device)


def uses_histograms(rep: Representation) -> bool:
    """True for the plain A1 model, whose clusters go through :class:`ClusterKL`; every other
    representation's clusters are contracted by :class:`.vertex.VertexClusterKL`."""
    return parse_representation(rep.name) == ("A1",)


def check_cluster(rep: Representation, block: str) -> None:
    """Raise ValueError unless ``block`` is a plaquette or a cluster :func:`exact_loss` can
    build for ``rep`` (without building it: A1 histograms take seconds for large clusters)."""
    shape = parse_block(block)
    if shape is not None and not uses_histograms(rep):
        check_width(2**rep.d, *shape)
