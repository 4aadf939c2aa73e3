"""The Ising model's Monte Carlo options (shared ones from :mod:`rgpipe.mc.options`)."""

from __future__ import annotations

from rgpipe.mc.options import (
    CONFIGURATIONS,
    COUPLINGS,
    MEASURE_EVERY,
    SWEEPS,
    THERMALIZATION,
)
from rgpipe.spec import Param, Spec

LATTICE = Param(
    "lattice",
    "str",
    "square: L x L periodic square lattice.  lieb: L x L cells of the Lieb lattice (a corner "
    "spin plus one decorating spin on each of its two bonds; 3 L^2 spins).",
    choices=("square", "lieb"),
)
UPDATE = Param(
    "update",
    "str",
    "wolff: single-cluster; sw: Swendsen-Wang; metropolis: checkerboard Metropolis "
    "(sublattice-parallel; needs K > 0, and an even L >= 4 on the square lattice).  One "
    "sweep is a fixed number of Wolff clusters flipping about N spins on average (set after "
    "thermalisation), one Swendsen-Wang update, or one Metropolis pass over all spins.",
    choices=("wolff", "sw", "metropolis"),
)
BACKEND = Param(
    "backend",
    "str",
    "Compiled CPU kernels (numba) or the torch checkerboard kernel (metropolis only; runs on "
    "CUDA when a GPU is visible).",
    "numba",
    choices=("numba", "torch"),
)

SPEC = Spec(
    "ising",
    (LATTICE, COUPLINGS, UPDATE, BACKEND, SWEEPS, THERMALIZATION, MEASURE_EVERY, CONFIGURATIONS),
)
"""The options of an Ising ensemble and job besides the size and the seed(s)."""
