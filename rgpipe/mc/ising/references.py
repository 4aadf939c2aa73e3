"""Exact finite-lattice values of the Ising estimates (:mod:`rgpipe.physics.ising_exact`).

Per coupling, for the simulated lattice itself (same L, periodic boundaries):

* square, L <= 4: every estimate by enumerating all 2^(L^2) states;
* square, L > 4: energy and specific heat from Kaufman's partition function (K > 0);
* Lieb, any L: energy and specific heat by decimating the bond spins onto Kaufman's
  square lattice (J > 0); for L <= 4 also the magnetisation moments, Binder cumulant and
  susceptibilities from the sum over corner configurations.

The choice of method is :func:`rgpipe.physics.ising_exact.exact_thermo`'s; the cost is a
few hundredths of a second per coupling up to L = 32 (Kaufman in 40-digit arithmetic),
half a second for the Lieb corner sum at L = 4.
"""

from __future__ import annotations

import numpy as np

from rgpipe.mc.reference import PointValues, Reference, tabulate
from rgpipe.physics.ising_exact import ExactThermo, exact_thermo

ENUMERATION_MAX_L = 4
"""Largest L at which :func:`~rgpipe.physics.ising_exact.exact_thermo` enumerates (square)
or sums corner configurations (Lieb)."""

THERMAL = ("energy", "specific_heat")
"""Estimates every exact method gives."""


def sources(lattice: str, L: int) -> dict[str, str]:
    """The source text of each exactly known estimate of the lattice (name -> text)."""
    torus = f"the periodic {L} x {L} square lattice (this L, periodic boundaries)"
    if lattice == "square" and L <= ENUMERATION_MAX_L:
        text = f"exact enumeration of all 2^{L * L} states of {torus}"
        return {name: text for name in ExactThermo.__dataclass_fields__}
    cells = f"the Lieb lattice of {L} x {L} cells (this L, periodic boundaries)"
    if lattice == "square":
        thermal = (
            f"Kaufman (1949) exact partition function of {torus}, derivatives in 40-digit "
            "arithmetic"
        )
    else:
        thermal = (
            "bond spins decimated exactly (tanh K_eff = tanh^2 J) onto Kaufman's (1949) "
            f"exact partition function of the periodic {L} x {L} square lattice: {cells}"
        )
    out = dict.fromkeys(THERMAL, thermal)
    if lattice == "lieb" and L <= ENUMERATION_MAX_L:
        moments = (
            f"exact sum over the 2^{L * L} corner configurations with the bond spins traced "
            f"analytically: {cells}"
        )
        for name in ExactThermo.__dataclass_fields__:
            out.setdefault(name, moments)
    return out


def point(lattice: str, L: int, k: float) -> PointValues:
    """The exactly known estimates at coupling ``k`` (name -> (value, source)).

    Raises:
        ValueError: no exact value at this coupling (Kaufman's formula needs K > 0).
    """
    th = exact_thermo(lattice, L, k)
    return {name: (getattr(th, name), text) for name, text in sources(lattice, L).items()}


def references(lattice: str, L: int, couplings: np.ndarray) -> dict[str, Reference]:
    """Exact references of every known estimate over the couplings (shape (n_K,) each)."""
    return tabulate("coupling", couplings, lambda i: point(lattice, L, float(couplings[i])))
