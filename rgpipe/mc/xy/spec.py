"""The XY model's Monte Carlo options (shared ones from :mod:`rgpipe.mc.options`) and the
composition of one sweep."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rgpipe.mc.options import (
    CONFIGURATIONS,
    COUPLINGS,
    MEASURE_EVERY,
    SWEEPS,
    THERMALIZATION,
)
from rgpipe.spec import Param, Spec

UPDATES: dict[str, tuple[bool, int, int]] = {
    # name: (Wolff cluster-sweep, Metropolis sweeps, over-relaxation sweeps) per sweep
    "combined": (True, 1, 1),
    "wolff": (True, 0, 0),
    "metropolis": (False, 1, 0),
    "overrelax": (False, 1, 1),
}
"""Composition of one sweep per update name (defaults; override the counts with the job
keys ``metropolis_per_sweep`` / ``overrelax_per_sweep``).  ``overrelax`` is over-relaxation
with the Metropolis sweep it needs for ergodicity; ``combined`` is the default near
criticality."""

LATTICE = Param(
    "lattice",
    "str",
    "square: L x L periodic; ring: an L x 1 periodic chain (exactly solvable).",
    "square",
    choices=("square", "ring"),
)
UPDATE = Param(
    "update",
    "str",
    "One sweep = combined: Wolff clusters (about N flipped spins) + 1 Metropolis + 1 "
    "over-relaxation sweep (the default near T_BKT); wolff: clusters only; metropolis: 1 "
    "Metropolis sweep; overrelax: 1 Metropolis + 1 over-relaxation sweep.",
    "combined",
    choices=tuple(UPDATES),
)
START = Param(
    "start",
    "str",
    "Random (hot) or aligned (cold) initial angles.",
    "hot",
    choices=("hot", "cold"),
)
METROPOLIS_STEP = Param(
    "metropolis_step",
    "float",
    "Metropolis window in (0, pi] (radians); null = tuned to 50 % acceptance.",
    None,
    minimum=0,
    exclusive_minimum=True,
    maximum=math.pi,
    nullable=True,
)
CLUSTERS_PER_SWEEP = Param(
    "clusters_per_sweep",
    "int",
    "Wolff clusters per sweep; null = about N flipped spins per sweep.",
    None,
    minimum=1,
    nullable=True,
)
METROPOLIS_PER_SWEEP = Param(
    "metropolis_per_sweep",
    "int",
    "Metropolis sweeps per sweep; null = the update's default.",
    None,
    minimum=0,
    nullable=True,
)
OVERRELAX_PER_SWEEP = Param(
    "overrelax_per_sweep",
    "int",
    "Over-relaxation sweeps per sweep; null = the update's default.",
    None,
    minimum=0,
    nullable=True,
)

SPEC = Spec(
    "xy",
    (
        LATTICE,
        COUPLINGS,
        UPDATE,
        SWEEPS,
        THERMALIZATION,
        MEASURE_EVERY,
        CONFIGURATIONS,
        START,
        METROPOLIS_STEP,
        CLUSTERS_PER_SWEEP,
        METROPOLIS_PER_SWEEP,
        OVERRELAX_PER_SWEEP,
    ),
)
"""The options of an XY ensemble and job besides the size and the seed(s)."""


def sweep_composition(job: Mapping[str, Any]) -> tuple[bool, int, int]:
    """One sweep of a job: (Wolff clusters?, Metropolis sweeps, over-relaxation sweeps).

    The update's entry of :data:`UPDATES`, with the counts the job overrides
    (``metropolis_per_sweep``, ``overrelax_per_sweep`` not null).
    """
    wolff, n_met, n_or = UPDATES[job["update"]]
    if job.get("metropolis_per_sweep") is not None:
        n_met = int(job["metropolis_per_sweep"])
    if job.get("overrelax_per_sweep") is not None:
        n_or = int(job["overrelax_per_sweep"])
    return wolff, n_met, n_or
