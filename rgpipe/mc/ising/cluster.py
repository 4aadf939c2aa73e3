"""Cluster updates of the Ising model on any neighbour table: Wolff and Swendsen-Wang.

Both use the Fortuin-Kasteleyn bond probability p = 1 - exp(-2K) between aligned
neighbours (K = J/T > 0, ferromagnetic).  Spins: int8 (n_sites,), values +-1.
Neighbour table: int32 (n_sites, z_max) padded with -1, with ``degree`` valid entries
per row; a bond listed twice between the same pair (L = 2 tori) is two bonds and is
tried twice, as it must be.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from rgpipe.mc.rng import next_below, next_u64


@nb.njit(cache=True)
def wolff_clusters(
    spins: np.ndarray,
    neighbors: np.ndarray,
    degree: np.ndarray,
    p_add: np.uint64,
    state: np.ndarray,
    n_clusters: int,
    stack: np.ndarray,
    sizes: np.ndarray,
) -> int:
    """Grow and flip ``n_clusters`` Wolff clusters.

    Args:
        spins: int8 (n_sites,), modified in place.
        neighbors, degree: the lattice.
        p_add: uint64 threshold of the bond probability 1 - exp(-2K).
        state: xoshiro256** state.
        n_clusters: number of single-cluster updates.
        stack: int32 work array of length >= n_sites.
        sizes: int64 array of length >= n_clusters; receives every cluster's size.

    Returns:
        total number of flipped spins.
    """
    n = spins.shape[0]
    total = 0
    for c in range(n_clusters):
        seed = next_below(state, n)
        s0 = spins[seed]
        spins[seed] = -s0
        stack[0] = seed
        top = 1
        size = 1
        while top > 0:
            top -= 1
            i = stack[top]
            for a in range(degree[i]):
                j = neighbors[i, a]
                if spins[j] == s0 and next_u64(state) < p_add:
                    spins[j] = -s0
                    stack[top] = j
                    top += 1
                    size += 1
        sizes[c] = size
        total += size
    return total


@nb.njit(cache=True)
def _find(parent: np.ndarray, i: int) -> int:
    """Root of i in a union-find forest, with path halving."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@nb.njit(cache=True)
def swendsen_wang_sweeps(
    spins: np.ndarray,
    bonds: np.ndarray,
    p_add: np.uint64,
    state: np.ndarray,
    n_sweeps: int,
    parent: np.ndarray,
    flip: np.ndarray,
) -> int:
    """Swendsen-Wang updates: activate FK bonds, flip every cluster with probability 1/2.

    Args:
        spins: int8 (n_sites,), modified in place.
        bonds: int32 (n_bonds, 2).
        p_add: uint64 threshold of 1 - exp(-2K).
        state: xoshiro256** state.
        n_sweeps: number of SW updates.
        parent: int32 work array (n_sites,); flip: int8 work array (n_sites,).

    Returns:
        number of clusters in the last update.
    """
    n = spins.shape[0]
    n_clusters = 0
    for _ in range(n_sweeps):
        for i in range(n):
            parent[i] = i
        for b in range(bonds.shape[0]):
            i = bonds[b, 0]
            j = bonds[b, 1]
            if spins[i] == spins[j] and next_u64(state) < p_add:
                ri = _find(parent, i)
                rj = _find(parent, j)
                if ri != rj:
                    if ri < rj:
                        parent[rj] = ri
                    else:
                        parent[ri] = rj
        n_clusters = 0
        for i in range(n):
            if parent[i] == i:
                flip[i] = 1 if (next_u64(state) >> np.uint64(63)) else 0
                n_clusters += 1
        for i in range(n):
            if flip[_find(parent, i)]:
                spins[i] = -spins[i]
    return n_clusters
