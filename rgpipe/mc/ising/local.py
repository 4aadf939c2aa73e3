"""Ising kernels on an arbitrary neighbour table: measurement and checkerboard Metropolis.

Spins are an int8 array of shape (n_sites,) with values +-1; the lattice is given by
its neighbour table ``neighbors`` (int32, (n_sites, z_max), padded with -1), the
``degree`` of every site and, for the sublattice sweep, the sites of each colour of a
two-colouring (no bond inside a colour).  Energies are in units of J (H = -sum s_i s_j).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from rgpipe.mc.rng import next_u64, probability_threshold


@nb.njit(cache=True)
def energy_magnetisation(spins: np.ndarray, bonds: np.ndarray) -> tuple[int, int]:
    """Total energy -sum_bonds s_a s_b and total magnetisation sum s of one configuration.

    Args:
        spins: int8 (n_sites,).
        bonds: int32 (n_bonds, 2).
    """
    e = 0
    for b in range(bonds.shape[0]):
        e -= spins[bonds[b, 0]] * spins[bonds[b, 1]]
    m = 0
    for i in range(spins.shape[0]):
        m += spins[i]
    return e, m


def metropolis_thresholds(k: float, z_max: int) -> np.ndarray:
    """uint64 acceptance thresholds indexed by s_i h_i + z_max (h_i the local field).

    The flip of s_i changes the energy by 2 s_i h_i (units of J) and is accepted with
    probability min(1, exp(-2 K s_i h_i)).
    """
    sh = np.arange(-z_max, z_max + 1)
    prob = np.minimum(1.0, np.exp(-2.0 * k * sh))
    return np.array([probability_threshold(p) for p in prob], dtype=np.uint64)


@nb.njit(cache=True)
def checkerboard_sweeps(
    spins: np.ndarray,
    neighbors: np.ndarray,
    degree: np.ndarray,
    sites_by_color: np.ndarray,
    color_start: np.ndarray,
    thresholds: np.ndarray,
    state: np.ndarray,
    n_sweeps: int,
) -> int:
    """Checkerboard Metropolis: update colour 0, then colour 1; repeat n_sweeps times.

    Args:
        spins: int8 (n_sites,), modified in place.
        neighbors: int32 (n_sites, z_max); degree: int32 (n_sites,).
        sites_by_color: int32 (n_sites,) site indices sorted by colour;
            ``color_start`` int64 (3,) gives the slice of each colour.
        thresholds: from :func:`metropolis_thresholds`.
        state: xoshiro256** state (uint64[4]).
        n_sweeps: number of full sweeps.

    Returns:
        number of accepted flips.
    """
    z_max = neighbors.shape[1]
    accepted = 0
    for _ in range(n_sweeps):
        for c in range(2):
            for idx in range(color_start[c], color_start[c + 1]):
                i = sites_by_color[idx]
                h = 0
                for a in range(degree[i]):
                    h += spins[neighbors[i, a]]
                sh = spins[i] * h
                if sh <= 0 or next_u64(state) < thresholds[sh + z_max]:
                    spins[i] = -spins[i]
                    accepted += 1
    return accepted
