"""Checkerboard Metropolis in torch: the same update on CPU or, when present, CUDA.

One colour of the two-colouring is updated at a time with tensor operations over a
neighbour table, so the kernel serves the square and the Lieb lattice alike.  Random
numbers come from a :class:`torch.Generator` on the chosen device, seeded from the
job's seed: on a given device and torch version the chain is reproducible.
"""

from __future__ import annotations

import numpy as np
import torch

from rgpipe.physics.lattice import Lattice
from rgpipe.runtime import apply_torch_threads, pick_device

apply_torch_threads()


class TorchCheckerboard:
    """Checkerboard Metropolis for the Ising model on a bipartite lattice, in torch.

    Args:
        lattice: a lattice with a two-colouring (``lattice.color`` not None).
        spins: int8 (n_sites,) initial configuration of +-1.
        k: coupling K >= 0.
        seed: 64-bit seed of the torch generator.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ...
    """

    def __init__(self, lattice: Lattice, spins: np.ndarray, k: float, seed: int, device="auto"):
        if lattice.color is None:
            raise ValueError("checkerboard Metropolis needs a bipartite lattice (even L)")
        self.device = pick_device(device)
        dev = self.device
        n = lattice.n_sites
        nbr = lattice.neighbors.copy()
        nbr[nbr < 0] = n  # padding points at an appended zero spin
        self.neighbors = torch.as_tensor(nbr, device=dev)
        self.spins = torch.as_tensor(spins.astype(np.float32), device=dev)
        self.colors = [
            torch.as_tensor(np.flatnonzero(lattice.color == c), device=dev) for c in (0, 1)
        ]
        self.k = float(k)
        self.zero = torch.zeros(1, device=dev)
        self.gen = torch.Generator(device=dev)
        self.gen.manual_seed(int(seed) & 0x7FFF_FFFF_FFFF_FFFF)
        self.bonds = torch.as_tensor(lattice.bonds, device=dev)

    @torch.no_grad()
    def sweep(self, n: int = 1) -> None:
        """Run n sweeps: colour 0 then colour 1, each a vectorised Metropolis step."""
        for _ in range(n):
            for sites in self.colors:
                ext = torch.cat([self.spins, self.zero])
                field = ext[self.neighbors[sites]].sum(dim=1)
                s = self.spins[sites]
                prob = torch.exp(-2.0 * self.k * s * field)
                u = torch.rand(sites.shape[0], generator=self.gen, device=self.device)
                self.spins[sites] = torch.where(u < prob, -s, s)

    @torch.no_grad()
    def energy_magnetisation(self) -> tuple[int, int]:
        """Total energy -sum_bonds s_a s_b and total magnetisation."""
        e = -(self.spins[self.bonds[:, 0]] * self.spins[self.bonds[:, 1]]).sum()
        return int(e.item()), int(self.spins.sum().item())

    def numpy_spins(self) -> np.ndarray:
        """The configuration as int8 (n_sites,) on the host."""
        return self.spins.to("cpu").numpy().astype(np.int8)
