"""Exact finite-lattice values of the phi^4 estimates (:mod:`rgpipe.physics.phi4_exact`).

Per (beta, lam) point, for the simulated lattice itself (same L, periodic boundaries):

* lam = 0, any L: the Gaussian field's exact propagator (FFT on the torus) and Wick's
  theorem give every estimate;
* L = 2, any lam: the 2 x 2 torus by quadrature gives every polynomial moment (phi2, phi4,
  hop, action, m, m2, m4, binder, chi; not abs_m, chi_connected or specific_heat).

No exact value is known for lam > 0 on larger lattices (the lam -> infinity Ising limit is
another model); their files carry none.  The cost is an L x L FFT or a quadrature of a few
hundred points per axis per point.
"""

from __future__ import annotations

import numpy as np

from rgpipe.mc.reference import PointValues, Reference, tabulate
from rgpipe.physics.phi4_exact import gaussian_exact, two_by_two_exact


def point(L: int, beta: float, lam: float) -> PointValues:
    """The exactly known estimates at (beta, lam) (name -> (value, source)); empty where
    none is known."""
    if lam == 0:
        text = (
            f"Gaussian (lam = 0) exact propagator of the periodic {L} x {L} lattice (this L) "
            "by FFT, moments by Wick's theorem"
        )
        return {name: (value, text) for name, value in gaussian_exact(L, beta).items()}
    if L == 2:
        text = (
            "quadrature of the periodic 2 x 2 lattice (this L): the 4-dimensional integral "
            "reduced exactly to 2 dimensions, trapezoidal rule (spectrally accurate)"
        )
        return {name: (value, text) for name, value in two_by_two_exact(beta, lam).items()}
    return {}


def references(L: int, betas: np.ndarray, lams: np.ndarray) -> dict[str, Reference]:
    """Exact references of every known estimate over the points (shape (n_p,) each).

    Args:
        L: lattice size.
        betas, lams: float64 (n_p,) the lattice-form couplings of each point, in the order
            of the estimates.
    """
    return tabulate("beta", betas, lambda i: point(L, float(betas[i]), float(lams[i])))
