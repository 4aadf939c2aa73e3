"""The phi^4 model's Monte Carlo options (shared ones from :mod:`rgpipe.mc.options`).

S = sum_x [-beta sum_mu phi_x phi_{x+mu} + phi_x^2 + lam (phi_x^2 - 1)^2] (lattice form),
or S = sum_x [1/2 sum_mu (d_mu phi)^2 + m0sq/2 phi^2 + lambda0/4 phi^4] (continuum-like
form, converted exactly with phi = phi'/sqrt(beta)).  A job gives one form or the other:
:data:`FORMS` says so in JSON schema.
"""

from __future__ import annotations

from rgpipe.mc.options import CONFIGURATIONS, MEASURE_EVERY, SWEEPS, THERMALIZATION
from rgpipe.spec import Param, Spec

UPDATES = ("combined", "metropolis", "overrelaxation", "wolff")
"""Accepted values of the option ``update`` (what they do: :mod:`rgpipe.mc.phi4.kernels`)."""

BETAS = Param(
    "betas",
    "float_list",
    "Hopping couplings beta swept inside one job (lattice form).",
    unique=True,
    flag="--coupling",
)
LAM = Param(
    "lam",
    "float",
    "Quartic coupling lambda >= 0 (lattice form; 0 = Gaussian).",
    minimum=0,
)
M0SQ = Param(
    "m0sq",
    "float_list",
    "Bare masses squared swept inside one job (continuum-like form).",
    unique=True,
)
LAMBDA0 = Param(
    "lambda0",
    "float",
    "Quartic coupling of the continuum-like form.",
    minimum=0,
)
UPDATE = Param(
    "update",
    "str",
    "Per sweep: combined = Metropolis + over-relaxation + Wolff (Brower-Tamayo) clusters; "
    "wolff = Metropolis + clusters; overrelaxation = Metropolis + over-relaxation; "
    "metropolis alone.",
    "combined",
    choices=UPDATES,
)
METROPOLIS_STEP = Param(
    "metropolis_step",
    "float",
    "Metropolis step; null = tuned to 50 % acceptance in thermalisation.",
    None,
    minimum=0,
    exclusive_minimum=True,
    nullable=True,
)
OR_SWEEPS = Param(
    "or_sweeps",
    "int",
    "Over-relaxation passes per sweep (randomised to or_sweeps or +1).",
    1,
    minimum=0,
)
CLUSTERS = Param(
    "clusters",
    "int",
    "Wolff clusters per sweep; null = fixed after thermalisation.",
    None,
    minimum=1,
    nullable=True,
)

SPEC = Spec(
    "phi4",
    (
        BETAS,
        LAM,
        M0SQ,
        LAMBDA0,
        UPDATE,
        METROPOLIS_STEP,
        OR_SWEEPS,
        CLUSTERS,
        SWEEPS,
        THERMALIZATION,
        MEASURE_EVERY,
        CONFIGURATIONS,
    ),
)
"""The options of a phi^4 ensemble and job besides the size and the seed(s)."""

FORMS = {
    "description": "give either betas and lam (lattice form) or m0sq and lambda0 "
    "(continuum-like form), not both",
    "oneOf": [
        {
            "required": ["betas", "lam"],
            "not": {"anyOf": [{"required": ["m0sq"]}, {"required": ["lambda0"]}]},
        },
        {
            "required": ["m0sq", "lambda0"],
            "not": {"anyOf": [{"required": ["betas"]}, {"required": ["lam"]}]},
        },
    ],
}
"""JSON schema of the two parameter forms (cross-key: part of every ensemble and job)."""

CONDITIONAL = ("betas", "lam", "m0sq", "lambda0")
"""Options without a default that :data:`FORMS`, not the list of required keys, governs."""
