"""Monte Carlo options shared by several systems, each declared once.

A system's spec (``rgpipe/mc/<system>/spec.py``) lists these very objects next to its
own options, so a shared option has one description, one default and one set of bounds
in the config schema, the command line and the defaults alike.  Options whose meaning
differs between systems (``update``, ``lattice``, ``lam``, ``metropolis_step``, ...) are
declared by each system.  The cross-key check of the shared options,
:func:`measurement_errors`, lives here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rgpipe.spec import MAX_SEED, Param

SWEEPS = Param(
    "sweeps",
    "int",
    "Measured sweeps per parameter point (what one sweep is: see the system's update).",
    10000,
    minimum=1,
)
THERMALIZATION = Param(
    "thermalization",
    "int",
    "Sweeps discarded before measuring, per parameter point.",
    1000,
    minimum=0,
)
MEASURE_EVERY = Param("measure_every", "int", "Sweeps between stored measurements.", 1, minimum=1)
CONFIGURATIONS = Param(
    "configurations",
    "int",
    "Configurations stored per parameter point (chunked, gzip) for training stages, evenly "
    "spaced over the measurements; 0 stores none.",
    0,
    minimum=0,
)
SEED = Param(
    "seed",
    "int",
    "Base seed; every random stream of a job is derived from it with numpy SeedSequence.",
    0,
    minimum=0,
    maximum=MAX_SEED,
)
SEEDS = Param(
    "seeds",
    "int_list",
    "Independent runs; one job per seed.",
    [0],
    minimum=0,
    maximum=MAX_SEED,
    unique=True,
)
L = Param(
    "L",
    "int",
    "Linear size L: sites per side of the square lattice, cells per side of the Lieb "
    "lattice, sites of the XY ring.",
    minimum=2,
)
SIZES = Param(
    "sizes",
    "int_list",
    "Linear sizes; one job (and file) per size and seed.",
    minimum=2,
    unique=True,
)
COUPLINGS = Param(
    "couplings",
    "float_list",
    "Couplings K = J/T with J = 1 (dimensionless, ferromagnetic; finite, >= 0) swept inside "
    "one job (sorted ascending).",
    minimum=0,
    unique=True,
    flag="--coupling",
)


def measurement_errors(entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """Every Monte Carlo job needs >= 2 measurements and at most one stored
    configuration per measurement.

    Args:
        entry: an ensemble (config) or a job, defaults filled.
        where: key prefix (``mc.ising.sq.``, or empty for a job).
        what: names the source of the values (``config key`` or ``option``).
    """
    n = entry["sweeps"] // entry["measure_every"]
    msgs = []
    if n < 2:
        msgs.append(
            f"{what} '{where}sweeps': value {entry['sweeps']} is invalid: with measure_every "
            f"{entry['measure_every']} it gives {n} measurements (at least 2 needed)"
        )
    if entry.get("configurations", 0) > n:
        msgs.append(
            f"{what} '{where}configurations': value {entry['configurations']} is invalid: "
            f"more than the {n} measurements"
        )
    return msgs
