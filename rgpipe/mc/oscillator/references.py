"""Exact values of the 0+1D field's estimates on the same lattice
(:func:`rgpipe.physics.oscillator_exact.lattice_exact`).

The transfer matrix of the same discretised action (the same n_tau, a = beta/n_tau,
periodic in time) gives, as traces, ``x``, ``x2``, ``x4``, ``energy`` (virial estimator),
``energy_thermo`` and the correlator C(tau) at every stored time; the effective mass is
the same arccosh formula applied to the exact correlator, and the ``gap`` reference is the
lattice gap E1(a) - E0(a) of the same transfer matrix.  The Monte Carlo gap is a cosh fit
of C(tau) at finite beta: its window is chosen to keep the fit's systematic error small
(:func:`~rgpipe.physics.oscillator_exact.gap_fit_window`), but that systematic is not in
its error bar.

Cost (measured): a fraction of a second up to n_tau = 1200 for the default double well,
about 2 s at n_tau = 5000; a grid refined until nothing changes by 1e-11.  A potential
whose grid would exceed the solver's limit gets no reference (the reason is stored).
"""

from __future__ import annotations

import numpy as np

from rgpipe.mc.reference import PointValues, Reference, tabulate
from rgpipe.physics.oscillator import Potential, effective_mass
from rgpipe.physics.oscillator_exact import lattice_exact

SCALARS = ("x", "x2", "x4", "energy", "energy_thermo")
"""Scalar estimates whose exact lattice expectation the transfer matrix gives directly."""


def point(potential: Potential, mass: float, beta: float, n_tau: int) -> PointValues:
    """The exact lattice values of every estimate (name -> (value, source)).

    Raises:
        ValueError, RuntimeError: the transfer matrix could not be converged (grid too
            large or no convergence), with the reason.
    """
    ex = lattice_exact(potential, mass, beta, n_tau)
    lattice = (
        f"the same lattice action (n_tau = {n_tau}, a = beta/n_tau = {ex.a:.6g}, periodic "
        f"in time, beta = {beta:g})"
    )
    grid = f"{ex.grid_points}-point grid, converged to {ex.grid_change:.1e}"
    text = f"transfer matrix of {lattice}; {grid}"
    out: dict[str, tuple[object, str]] = {name: (getattr(ex, name), text) for name in SCALARS}
    out["correlator"] = (ex.correlator, text)
    out["effective_mass"] = (
        effective_mass(ex.correlator, ex.a),
        f"arccosh formula of the exact correlator: {text}",
    )
    out["gap"] = (
        ex.gap,
        f"E1(a) - E0(a) = ln(lambda_0 / lambda_1)/a of the transfer matrix of {lattice}; "
        f"{grid}; the Monte Carlo value is a cosh fit of C(tau) whose window systematics "
        "are not in its error",
    )
    return out


def references(
    potential: Potential, mass: float, beta: float, n_tau: int, a: float
) -> dict[str, Reference]:
    """Exact references of every estimate at the job's single point (leading axis 1)."""
    return tabulate("a", np.array([a]), lambda _: point(potential, mass, beta, n_tau))
