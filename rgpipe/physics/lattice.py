"""Periodic lattices as neighbour tables: the square lattice and the Lieb lattice.

Site numbering (all lattices periodic, coordinates x, y in 0..L-1):

* square, L x L: site ``i = y * L + x``; neighbours in the order (+x, -x, +y, -y);
  bonds ``(i, i + x_hat)`` and ``(i, i + y_hat)`` for every site (2 L^2 bonds; for
  L = 2 the two bonds between a pair are distinct bonds, as in the torus formulas).
  A configuration is stored with shape (L, L) indexed ``[y, x]``.
* Lieb, L x L cells: corner spin ``c(x, y) = y L + x``; the decorating spin on the
  bond from c(x, y) to c(x+1, y) is ``h(x, y) = L^2 + y L + x``; the one on the bond
  from c(x, y) to c(x, y+1) is ``v(x, y) = 2 L^2 + y L + x``.  3 L^2 spins, 4 L^2
  bonds; a corner has 4 neighbours, a decorating spin 2.  A configuration is stored
  with shape (3, L, L) = (sublattice [corner, horizontal, vertical], y, x).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Lattice:
    """A periodic lattice given by its neighbour table.

    Attributes:
        kind: ``"square"`` or ``"lieb"``.
        L: linear size (sites per side for square, cells per side for Lieb).
        neighbors: int64 (n_sites, z_max) neighbour indices, padded with -1.
        degree: int64 (n_sites,) number of valid entries per row of ``neighbors``.
        bonds: int64 (n_bonds, 2) every bond once.
        color: int8 (n_sites,) a two-colouring (0/1) with no bond inside a colour, or
            None when the lattice is not bipartite (odd L on the square lattice).
        shape: storage shape of one configuration.
    """

    kind: str
    L: int
    neighbors: np.ndarray
    degree: np.ndarray
    bonds: np.ndarray
    color: np.ndarray | None
    shape: tuple[int, ...]

    @property
    def n_sites(self) -> int:
        """Number of spins."""
        return int(self.neighbors.shape[0])

    @property
    def n_bonds(self) -> int:
        """Number of bonds."""
        return int(self.bonds.shape[0])


def _table_from_bonds(n: int, bonds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour table (padded with -1) and degrees from a bond list."""
    degree = np.bincount(bonds.ravel(), minlength=n).astype(np.int64)
    table = -np.ones((n, int(degree.max())), dtype=np.int64)
    fill = np.zeros(n, dtype=np.int64)
    for a, b in bonds:
        table[a, fill[a]] = b
        fill[a] += 1
        table[b, fill[b]] = a
        fill[b] += 1
    return table, degree


def square(L: int) -> Lattice:
    """Periodic L x L square lattice (L >= 2)."""
    if L < 2:
        raise ValueError(f"L must be >= 2, got {L}")
    y, x = np.divmod(np.arange(L * L), L)
    right = y * L + (x + 1) % L
    left = y * L + (x - 1) % L
    up = ((y + 1) % L) * L + x
    down = ((y - 1) % L) * L + x
    neighbors = np.stack([right, left, up, down], axis=1).astype(np.int64)
    site = np.arange(L * L)
    bonds = np.concatenate([np.stack([site, right], 1), np.stack([site, up], 1)]).astype(np.int64)
    color = ((x + y) % 2).astype(np.int8) if L % 2 == 0 else None
    return Lattice("square", L, neighbors, np.full(L * L, 4, np.int64), bonds, color, (L, L))


def lieb(L: int) -> Lattice:
    """Periodic Lieb lattice of L x L cells (L >= 2): 3 L^2 spins, 4 L^2 bonds."""
    if L < 2:
        raise ValueError(f"L must be >= 2, got {L}")
    n = L * L
    y, x = np.divmod(np.arange(n), L)
    corner = y * L + x
    right = y * L + (x + 1) % L
    up = ((y + 1) % L) * L + x
    hor = n + corner
    ver = 2 * n + corner
    bonds = np.concatenate(
        [
            np.stack([corner, hor], 1),
            np.stack([hor, right], 1),
            np.stack([corner, ver], 1),
            np.stack([ver, up], 1),
        ]
    ).astype(np.int64)
    table, degree = _table_from_bonds(3 * n, bonds)
    color = np.concatenate([np.zeros(n), np.ones(2 * n)]).astype(np.int8)
    return Lattice("lieb", L, table, degree, bonds, color, (3, L, L))


def make_lattice(kind: str, L: int) -> Lattice:
    """Build a lattice by name (``square`` or ``lieb``)."""
    if kind == "square":
        return square(L)
    if kind == "lieb":
        return lieb(L)
    raise ValueError(f"unknown lattice {kind!r} (expected 'square' or 'lieb')")
