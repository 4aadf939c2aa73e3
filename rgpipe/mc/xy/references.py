"""Exact finite-lattice values of the XY estimates (:mod:`rgpipe.physics.xy_exact`).

Per coupling, for the simulated system itself (same size, periodic boundaries):

* the ring of L sites: energy, specific heat, m2, susceptibility and the helicity modulus
  (``helicity_x``, which is also the ring's ``helicity``) from the Bessel-function sums
  (no ``abs_m``: not a moment the sums give);
* the 2 x 2 torus: every estimate but the vortex density by quadrature (``abs_m`` to
  ~1e-6, the others to ~1e-13).

No exact value is known for larger square lattices; their files carry none.  The cost is
negligible (Bessel sums; a 96^3-point quadrature for the torus).
"""

from __future__ import annotations

import numpy as np

from rgpipe.mc.reference import PointValues, Reference, tabulate
from rgpipe.physics.xy_exact import ring_exact, torus2x2

TORUS_ESTIMATES = (
    "energy",
    "specific_heat",
    "m2",
    "abs_m",
    "susceptibility",
    "helicity_x",
    "helicity_y",
    "helicity",
)
"""Estimates of the 2 x 2 torus that :func:`~rgpipe.physics.xy_exact.torus2x2` gives."""


def _ring(L: int, k: float) -> PointValues:
    ring = f"the periodic ring of {L} sites (this L)"
    text = f"exact Bessel-function sums (Z = (2 pi)^N sum_n I_n(K)^N) of {ring}"
    out = {name: (value, text) for name, value in ring_exact(L, k).items()}
    out["helicity"] = out["helicity_x"]
    return out


def _torus(k: float) -> PointValues:
    text = (
        "quadrature of the periodic 2 x 2 torus (this L; ~1e-13, abs_m ~1e-6), "
        "rgpipe.physics.xy_exact.torus2x2"
    )
    values = torus2x2(k)
    return {name: (values[name], text) for name in TORUS_ESTIMATES}


def point(lattice: str, L: int, k: float) -> PointValues:
    """The exactly known estimates at coupling ``k`` (name -> (value, source)); empty for a
    square lattice larger than 2 x 2."""
    if lattice == "ring":
        return _ring(L, k)
    return _torus(k) if L == 2 else {}


def references(lattice: str, L: int, couplings: np.ndarray) -> dict[str, Reference]:
    """Exact references of every known estimate over the couplings (shape (n_K,) each)."""
    return tabulate("coupling", couplings, lambda i: point(lattice, L, float(couplings[i])))
