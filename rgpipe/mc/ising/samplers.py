"""Ising samplers behind one interface, chosen by update name and backend.

Every sampler owns its configuration and random state and offers ``sweep(n)``,
``energy_magnetisation() -> (E, M)`` (totals, units of J) and ``configuration()``
(int8 (n_sites,) in the lattice's site order).  What a "sweep" is:

* ``metropolis``: one checkerboard pass over all spins (N proposals);
* ``sw``: one Swendsen-Wang update;
* ``wolff``: a fixed number of single-cluster updates, set once from the mean cluster
  size seen during thermalisation so that a sweep flips about N spins on average.
  (Measuring after a *random* number of clusters chosen by the flipped count would bias
  the estimates; a fixed number does not.)
"""

from __future__ import annotations

import numpy as np

from rgpipe.mc.ising import cluster, local
from rgpipe.mc.ising.multispin import MultispinSquare
from rgpipe.mc.rng import probability_threshold
from rgpipe.physics.lattice import Lattice


def fk_threshold(k: float) -> np.uint64:
    """uint64 threshold of the Fortuin-Kasteleyn bond probability 1 - exp(-2K)."""
    return probability_threshold(-np.expm1(-2.0 * k))


class LocalMetropolis:
    """Checkerboard Metropolis on any bipartite neighbour table (compiled, one thread)."""

    def __init__(self, lattice: Lattice, spins: np.ndarray, k: float, states: np.ndarray):
        if lattice.color is None:
            raise ValueError("checkerboard Metropolis needs a bipartite lattice (even L)")
        self.lattice = lattice
        self.spins = spins.astype(np.int8).copy()
        self.neighbors = lattice.neighbors.astype(np.int32)
        self.degree = lattice.degree.astype(np.int32)
        order = np.argsort(lattice.color, kind="stable")
        self.sites = order.astype(np.int32)
        counts = np.bincount(lattice.color, minlength=2)
        self.color_start = np.array([0, counts[0], counts[0] + counts[1]], dtype=np.int64)
        self.thresholds = local.metropolis_thresholds(k, self.neighbors.shape[1])
        self.state = states[0].copy()
        self.bonds = lattice.bonds.astype(np.int32)
        self.accepted = 0
        self.proposed = 0

    def sweep(self, n: int = 1) -> None:
        self.accepted += local.checkerboard_sweeps(
            self.spins,
            self.neighbors,
            self.degree,
            self.sites,
            self.color_start,
            self.thresholds,
            self.state,
            n,
        )
        self.proposed += n * self.spins.shape[0]

    def energy_magnetisation(self) -> tuple[int, int]:
        return local.energy_magnetisation(self.spins, self.bonds)

    def configuration(self) -> np.ndarray:
        return self.spins.copy()

    def diagnostics(self) -> dict[str, float]:
        return {"acceptance": self.accepted / max(self.proposed, 1)}


class MultispinMetropolis:
    """Square lattice, even L: the multi-spin-coded checkerboard kernel."""

    def __init__(self, lattice: Lattice, spins: np.ndarray, k: float, states: np.ndarray):
        if lattice.kind != "square":
            raise ValueError("the multi-spin kernel is for the square lattice")
        L = lattice.L
        self.impl = MultispinSquare(spins.reshape(L, L), k, states[:L])

    def sweep(self, n: int = 1) -> None:
        self.impl.sweep(n)

    def energy_magnetisation(self) -> tuple[int, int]:
        return self.impl.energy_magnetisation()

    def configuration(self) -> np.ndarray:
        return self.impl.spins().ravel()

    def diagnostics(self) -> dict[str, float]:
        return {}


class Wolff:
    """Wolff single-cluster updates; ``calibrate`` fixes the clusters per sweep."""

    def __init__(self, lattice: Lattice, spins: np.ndarray, k: float, states: np.ndarray):
        self.spins = spins.astype(np.int8).copy()
        self.neighbors = lattice.neighbors.astype(np.int32)
        self.degree = lattice.degree.astype(np.int32)
        self.bonds = lattice.bonds.astype(np.int32)
        self.p_add = fk_threshold(k)
        self.state = states[0].copy()
        self.stack = np.empty(self.spins.shape[0], dtype=np.int32)
        self.clusters_per_sweep = 1
        self.flipped = 0
        self.clusters = 0

    def _clusters(self, n: int) -> np.ndarray:
        sizes = np.empty(n, dtype=np.int64)
        self.flipped += cluster.wolff_clusters(
            self.spins, self.neighbors, self.degree, self.p_add, self.state, n, self.stack, sizes
        )
        self.clusters += n
        return sizes

    def calibrate(self, n_sweeps: int) -> None:
        """Thermalise for about ``n_sweeps`` x N flipped spins (at least 20 clusters), then
        set the clusters per sweep to N / (mean size over the second half)."""
        n = self.spins.shape[0]
        target = max(n_sweeps, 1) * n
        sizes: list[np.ndarray] = []
        done = 0
        while done < target or sum(len(s) for s in sizes) < 20:
            batch = self._clusters(max(1, min(1024, (target - done) // n + 1)))
            sizes.append(batch)
            done += int(batch.sum())
        all_sizes = np.concatenate(sizes)
        mean = all_sizes[len(all_sizes) // 2 :].mean()
        self.clusters_per_sweep = max(1, round(n / mean))

    def sweep(self, n: int = 1) -> None:
        self._clusters(n * self.clusters_per_sweep)

    def energy_magnetisation(self) -> tuple[int, int]:
        return local.energy_magnetisation(self.spins, self.bonds)

    def configuration(self) -> np.ndarray:
        return self.spins.copy()

    def diagnostics(self) -> dict[str, float]:
        return {
            "clusters_per_sweep": float(self.clusters_per_sweep),
            "mean_cluster_size": self.flipped / max(self.clusters, 1),
        }


class SwendsenWang:
    """Swendsen-Wang updates (compiled union-find, one thread)."""

    def __init__(self, lattice: Lattice, spins: np.ndarray, k: float, states: np.ndarray):
        n = lattice.n_sites
        self.spins = spins.astype(np.int8).copy()
        self.bonds = lattice.bonds.astype(np.int32)
        self.p_add = fk_threshold(k)
        self.state = states[0].copy()
        self.parent = np.empty(n, dtype=np.int32)
        self.flip = np.empty(n, dtype=np.int8)
        self.n_clusters = 0

    def sweep(self, n: int = 1) -> None:
        self.n_clusters = cluster.swendsen_wang_sweeps(
            self.spins, self.bonds, self.p_add, self.state, n, self.parent, self.flip
        )

    def energy_magnetisation(self) -> tuple[int, int]:
        return local.energy_magnetisation(self.spins, self.bonds)

    def configuration(self) -> np.ndarray:
        return self.spins.copy()

    def diagnostics(self) -> dict[str, float]:
        return {}


class TorchMetropolis:
    """The torch checkerboard kernel (CUDA when present) behind the sampler interface."""

    def __init__(
        self, lattice: Lattice, spins: np.ndarray, k: float, seed: int, device: str = "auto"
    ):
        from rgpipe.mc.ising.torch_checkerboard import TorchCheckerboard

        self.impl = TorchCheckerboard(lattice, spins, k, seed, device)

    def sweep(self, n: int = 1) -> None:
        self.impl.sweep(n)

    def energy_magnetisation(self) -> tuple[int, int]:
        return self.impl.energy_magnetisation()

    def configuration(self) -> np.ndarray:
        return self.impl.numpy_spins()

    def diagnostics(self) -> dict[str, float]:
        return {}


def make_sampler(
    lattice: Lattice,
    update: str,
    spins: np.ndarray,
    k: float,
    states: np.ndarray,
    backend: str = "numba",
    device: str = "auto",
):
    """Build the sampler for an update name and backend.

    Args:
        states: uint64 (n, 4) xoshiro states; n >= lattice.L (one per row for the
            multi-spin kernel; the others use the first).
    """
    if backend == "torch":
        if update != "metropolis":
            raise ValueError(f"the torch backend implements metropolis only, not {update!r}")
        return TorchMetropolis(lattice, spins, k, int(states[0, 0]), device)
    if backend != "numba":
        raise ValueError(f"unknown backend {backend!r}")
    if update == "metropolis":
        if lattice.kind == "square":
            return MultispinMetropolis(lattice, spins, k, states)
        return LocalMetropolis(lattice, spins, k, states)
    if update == "wolff":
        return Wolff(lattice, spins, k, states)
    if update == "sw":
        return SwendsenWang(lattice, spins, k, states)
    raise ValueError(f"unknown update {update!r}")
