"""The 0+1D field's Monte Carlo options (shared ones from :mod:`rgpipe.mc.options`), the
parameters each potential requires and the moves of one sweep."""

from __future__ import annotations

import math

from rgpipe.mc.options import MEASURE_EVERY, SWEEPS, THERMALIZATION
from rgpipe.spec import Param, Spec

MOVES = ("hmc", "metropolis", "reflect")
"""The moves of a sweep, in the order a sweep applies them (:mod:`.kernels`)."""

POTENTIAL = Param(
    "potential",
    "str",
    "double_well: V = lam/4 (x^2 - eta^2)^2; harmonic: V = m omega^2 x^2 / 2; polynomial: "
    "V = sum_k coeffs[k] x^k (even degree >= 2, positive leading term).",
    "double_well",
    choices=("double_well", "harmonic", "polynomial"),
)
LAM = Param(
    "lam",
    "float",
    "Double-well coupling lambda.",
    minimum=0,
    exclusive_minimum=True,
)
ETA = Param("eta", "float", "Double-well minima at x = +-eta.", minimum=0)
OMEGA = Param("omega", "float", "Harmonic frequency.", minimum=0, exclusive_minimum=True)
COEFFS = Param(
    "coeffs",
    "float_list",
    "Polynomial coefficients in increasing powers of x.",
    min_items=3,
)
MASS = Param(
    "mass",
    "float",
    "Particle mass m (hbar = 1).",
    1.0,
    minimum=0,
    exclusive_minimum=True,
)
BETA = Param(
    "beta",
    "float",
    "Euclidean time extent (inverse temperature), in 1/energy.",
    minimum=0,
    exclusive_minimum=True,
)
UPDATE = Param(
    "update",
    "str",
    "'+'-joined moves per sweep: hmc, metropolis, reflect (the tunnelling move, exact for "
    "even potentials); null = hmc+reflect for even potentials, else hmc.",
    None,
    pattern="^(hmc|metropolis|reflect)([+](hmc|metropolis|reflect))*$",
    nullable=True,
)
HMC_STEPS = Param("hmc_steps", "int", "Leapfrog steps per HMC trajectory.", 10, minimum=1)
HMC_LENGTH = Param(
    "hmc_length",
    "float",
    "HMC trajectory length (Fourier-accelerated units).",
    math.pi / 2,
    minimum=0,
    exclusive_minimum=True,
)
FOURIER_ACCELERATION = Param(
    "fourier_acceleration",
    "bool",
    "HMC with the free-field mass matrix (all modes move at the same rate).",
    True,
)
METROPOLIS_STEP = Param(
    "metropolis_step",
    "float",
    "Local Metropolis step; null = tuned to about 50 % acceptance.",
    None,
    minimum=0,
    exclusive_minimum=True,
    nullable=True,
)
GAP_TMIN = Param(
    "gap_tmin",
    "float",
    "Start of the cosh-fit window of C(tau); null = chosen automatically.",
    None,
    minimum=0,
    exclusive_minimum=True,
    nullable=True,
)
CORRELATOR_ROWS = Param(
    "correlator_rows",
    "int",
    "At most this many binned correlator rows are stored.",
    2000,
    minimum=2,
)
N_TAU = Param(
    "n_tau",
    "int",
    "Number of time slices N (lattice spacing a = beta/N).",
    minimum=4,
)
N_TAUS = Param(
    "n_tau",
    "int_list",
    "Numbers of time slices; one job (and file) per entry and seed.",
    minimum=4,
    unique=True,
)

SPEC = Spec(
    "oscillator",
    (
        POTENTIAL,
        LAM,
        ETA,
        OMEGA,
        COEFFS,
        MASS,
        BETA,
        UPDATE,
        HMC_STEPS,
        HMC_LENGTH,
        FOURIER_ACCELERATION,
        METROPOLIS_STEP,
        GAP_TMIN,
        CORRELATOR_ROWS,
        SWEEPS,
        THERMALIZATION,
        MEASURE_EVERY,
    ),
)
"""The options of a 0+1D-field ensemble and job besides n_tau and the seed(s)."""

REQUIRES = {
    "description": "The parameters each potential needs.",
    "allOf": [
        {
            "if": {"properties": {"potential": {"const": "double_well"}}},
            "then": {"required": ["lam", "eta"]},
        },
        {
            "if": {"properties": {"potential": {"const": "harmonic"}}, "required": ["potential"]},
            "then": {"required": ["omega"]},
        },
        {
            "if": {"properties": {"potential": {"const": "polynomial"}}, "required": ["potential"]},
            "then": {"required": ["coeffs"]},
        },
    ],
}
"""JSON schema of the parameters each potential requires (part of every ensemble and job;
the default potential, double_well, needs lam and eta when none is given)."""

CONDITIONAL = ("lam", "eta", "omega", "coeffs")
"""Options without a default that :data:`REQUIRES`, not the list of required keys, governs."""


def moves(update: str | None, even: bool) -> str:
    """The moves of one sweep, '+'-joined in the order they run.

    Args:
        update: the option ``update`` (null: hmc+reflect for an even potential, else hmc).
        even: whether the potential is even (V(-x) = V(x)).
    """
    if update is None:
        return "hmc+reflect" if even else "hmc"
    parts = update.split("+")
    return "+".join(m for m in MOVES if m in parts)
