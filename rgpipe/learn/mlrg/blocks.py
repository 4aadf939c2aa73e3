"""The fine (square) and coarse (cross) Lieb blocks as restricted Boltzmann machines.

Geometry (seed 002, figs. 3-4).  On the Lieb lattice the visible spins v sit on the
corners of the square lattice and the hidden spins h on the bond midpoints.  The checkerboard
("black") plaquettes contain every midpoint exactly once, so the visible marginal of the whole
lattice is a product over black plaquettes of the *fine block* factor

    fine block ("square"): 4 visible corners v_0..v_3 (counter-clockwise) and 4 hidden
    midpoints, h_i between v_i and v_{i+1}: an 8-cycle.

One RG step puts a new spin on the centre of every black plaquette.  The new spins are the
corners of a Lieb lattice rotated by 45 degrees and scaled by b = sqrt(2), whose midpoints are
the old visible corners (visible and hidden roles swapped); its factor per black plaquette is
the *coarse block*

    coarse block ("cross"): the same 4 visible spins, each bonded to 1 hidden centre spin.

Energies are those of an RBM without biases, ``E(v, h) = -sum_bonds m^T W_k c`` with m the
spin vector of the bond's midpoint site, c that of its corner site and ``W_k`` the coupling
matrix of the bond direction k (see :mod:`.representation`); ``P(v) = sum_h exp(-E) / Z``.

Each block is described in its own lattice frame: the fine block in the frame of the fine
lattice, the coarse block in that of the rotated coarse lattice (its bonds point along its own
axes), with fine-frame coordinates ``sqrt(2) R x_c`` of a coarse-frame point ``x_c``
(:data:`.representation.COARSE_FRAME`, R = +45 degrees; visible site i of both blocks is the
same spin).  This keeps the coupling space of the coarse model identical to the fine one,
which is what lets J -> J' be iterated.  The two sublattices carry the representation in
frames rotated by 45 degrees relative to each other (:mod:`.representation`), so a geometric
operation acts on the visible spins of the fine block (corners) and of the coarse block
(midpoints of the rotated lattice) with the *same* matrices: both visible marginals are
invariant under the same 8 elements of C4v and the global spin flip (tested).  With A1 only,
E_fine = -J sum_i h_i (v_i + v_{i+1}) and E_coarse = -J' h sum_i v_i.

Spin vectors are arrays of +-1 with shape (..., sites, d).  Site states are also encoded as
integers s in [0, 2^d): component c of state s is ``1 - 2 * bit(s, d - 1 - c)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from rgpipe.learn.mlrg.representation import Representation


@dataclass(frozen=True)
class Block:
    """Sites and bonds of one block.

    Attributes:
        name: ``"fine"`` or ``"coarse"``.
        visible_pos: (n_v, 2) coordinates of the visible sites in the block's own frame.
        hidden_pos: (n_h, 2) coordinates of the hidden sites.
        visible_is_corner: True if the visible sites are the corners (coordination 4) of the
            block's lattice, False if they are its midpoints.
        bonds: (n_bonds, 3) int rows ``(visible index, hidden index, direction k)`` with k the
            direction from the bond's midpoint to its corner (0 +x, 1 +y, 2 -x, 3 -y).
    """

    name: str
    visible_pos: np.ndarray
    hidden_pos: np.ndarray
    visible_is_corner: bool
    bonds: np.ndarray

    @property
    def n_visible(self) -> int:
        """Number of visible sites."""
        return int(self.visible_pos.shape[0])

    @property
    def n_hidden(self) -> int:
        """Number of hidden sites."""
        return int(self.hidden_pos.shape[0])


def _direction(vec: np.ndarray) -> int:
    """Direction index (0 +x, 1 +y, 2 -x, 3 -y) of an axis-parallel vector."""
    k = round(np.arctan2(vec[1], vec[0]) / (np.pi / 2)) % 4
    unit = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]][k], dtype=float)
    if not np.allclose(vec / np.linalg.norm(vec), unit):
        raise ValueError(f"bond vector {vec} is not along a lattice axis")
    return int(k)


def _make_block(name: str, vis: np.ndarray, hid: np.ndarray, visible_is_corner: bool) -> Block:
    """Block whose bonds join every visible-hidden pair at distance 1/2."""
    bonds = []
    for a, pv in enumerate(vis):
        for j, ph in enumerate(hid):
            if np.isclose(np.linalg.norm(pv - ph), 0.5):
                mid, corner = (ph, pv) if visible_is_corner else (pv, ph)
                bonds.append((a, j, _direction(corner - mid)))
    arr = np.array(bonds, dtype=np.int64)
    for x in (vis, hid, arr):
        x.setflags(write=False)
    return Block(name, vis, hid, visible_is_corner, arr)


@cache
def fine_block() -> Block:
    """The square 8-cycle: corners (+-1/2, +-1/2) visible, edge midpoints hidden."""
    vis = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    hid = 0.5 * (vis + np.roll(vis, -1, axis=0))  # h_i between v_i and v_{i+1}
    return _make_block("fine", vis, hid, visible_is_corner=True)


@cache
def coarse_block() -> Block:
    """The cross in the coarse lattice's frame: hidden corner at 0, visible midpoints around.

    Visible site i sits at ``-e_i / 2`` with ``e_i`` the unit vector of direction i, so its bond
    to the centre points along direction i and a +90 degree rotation maps v_i to v_{i+1}, as in
    the fine block.
    """
    e = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    return _make_block("coarse", -0.5 * e, np.zeros((1, 2)), visible_is_corner=False)


def block(name: str) -> Block:
    """``"fine"`` or ``"coarse"`` block by name."""
    if name == "fine":
        return fine_block()
    if name == "coarse":
        return coarse_block()
    raise ValueError(f"unknown block {name!r} (expected 'fine' or 'coarse')")


def bond_tensors(blk: Block, rep: Representation) -> np.ndarray:
    """Per-bond coupling basis oriented visible-to-hidden.

    Returns:
        (n_bonds, n, d, d) array P with the energy of bond b equal to
        ``-v_a^T (sum_c J_c P[b, c]) h_j``: ``P = directions[k]`` transposed when the visible
        site is the bond's corner (the rows of ``W_k`` belong to the midpoint).
    """
    out = rep.directions[blk.bonds[:, 2]]  # (n_bonds, n, d, d), rows = midpoint
    if blk.visible_is_corner:
        out = np.swapaxes(out, -1, -2)
    return np.ascontiguousarray(out)


def energy(blk: Block, rep: Representation, J: np.ndarray, v: np.ndarray, h: np.ndarray):
    """Block energy by a direct sum over bonds (the reference implementation).

    Args:
        J: (n,) couplings.
        v: (..., n_v, d) visible spins (+-1).
        h: (..., n_h, d) hidden spins (+-1).

    Returns:
        (...) energies ``-sum_bonds m^T W_k c``.
    """
    W = rep.coupling_matrices(J)  # (4, d, d), rows = midpoint
    e = 0.0
    for a, j, k in blk.bonds:
        mid, corner = (
            (h[..., j, :], v[..., a, :])
            if blk.visible_is_corner
            else (
                v[..., a, :],
                h[..., j, :],
            )
        )
        e = e - np.einsum("...i,ij,...j->...", mid, W[k], corner)
    return e


def site_states(d: int) -> np.ndarray:
    """(2^d, d) spin components of every site state s (component c = 1 - 2 bit(s, d-1-c))."""
    s = np.arange(2**d)[:, None]
    bits = (s >> np.arange(d - 1, -1, -1)[None, :]) & 1
    return (1 - 2 * bits).astype(np.float64)


def all_configurations(n_sites: int, d: int) -> np.ndarray:
    """(2^(n_sites d), n_sites, d) every configuration, site 0 most significant.

    Row index = s_0 q^(n-1) + ... + s_(n-1) with q = 2^d and s_i the state of site i, the same
    order as the flattened (q, ..., q) grids used by :mod:`.exact_kl`.
    """
    q = 2**d
    states = site_states(d)
    idx = np.indices((q,) * n_sites).reshape(n_sites, -1).T  # (q^n, n)
    return states[idx]


def transform(
    blk: Block,
    geo: np.ndarray,
    rep_mat: np.ndarray,
    v: np.ndarray,
    h: np.ndarray,
    mid_mat: np.ndarray | None = None,
):
    """Apply a point-group element to block configurations.

    The spin vector of the site at position x moves to the site at ``geo @ x`` and becomes
    ``rep_mat @ spin`` on a corner site, ``mid_mat @ spin`` on a midpoint site
    (:meth:`.representation.Representation.site_group_elements` gives both).

    Args:
        geo: (2, 2) geometric matrix of the element (about the block centre).
        rep_mat: (d, d) its matrix on corner spins.
        v, h: (..., n_v, d) and (..., n_h, d) configurations.
        mid_mat: (d, d) its matrix on midpoint spins (default ``rep_mat``).

    Returns:
        The transformed (v, h).
    """
    mid_mat = rep_mat if mid_mat is None else mid_mat
    vis_mat, hid_mat = (rep_mat, mid_mat) if blk.visible_is_corner else (mid_mat, rep_mat)
    out = []
    for pos, x, mat in ((blk.visible_pos, v, vis_mat), (blk.hidden_pos, h, hid_mat)):
        new_pos = pos @ geo.T
        perm = np.array([int(np.argmin(np.linalg.norm(pos - p, axis=1))) for p in new_pos])
        if not np.allclose(pos[perm], new_pos):
            raise ValueError("group element does not map the block onto itself")
        y = np.empty_like(x)
        y[..., perm, :] = x @ mat.T
        out.append(y)
    return out[0], out[1]


def visible_permutations(blk: Block, elements: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """How group elements permute the visible states of a block.

    Args:
        blk: the block.
        elements: (geometric matrix, d x d matrix acting on the visible spins) pairs.

    Returns:
        (len(elements), q^n_v) int array ``perm`` with state ``perm[g, s]`` the image of state
        s under element g (state order of :func:`all_configurations`, q = 2^d).
    """
    d = elements[0][1].shape[0]
    q = 2**d
    states = site_states(d)
    code = {tuple(row): i for i, row in enumerate(states.astype(int).tolist())}
    weights = q ** np.arange(blk.n_visible - 1, -1, -1)
    grid = np.indices((q,) * blk.n_visible).reshape(blk.n_visible, -1).T  # (S, n_v)
    out = []
    for geo, mat in elements:
        new_pos = blk.visible_pos @ geo.T
        site = np.array(
            [int(np.argmin(np.linalg.norm(blk.visible_pos - p, axis=1))) for p in new_pos]
        )
        if not np.allclose(blk.visible_pos[site], new_pos):
            raise ValueError("group element does not map the block onto itself")
        image = np.array([code[tuple(np.rint(mat @ st).astype(int).tolist())] for st in states])
        new = np.empty_like(grid)
        new[:, site] = image[grid]  # the spin of site a moves to site site[a]
        out.append(new @ weights)
    return np.array(out, dtype=np.int64)
