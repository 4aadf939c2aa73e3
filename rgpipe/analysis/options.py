"""Options of the critical and aggregate stages, each declared once.

From them come the config schema's ``critical`` and ``aggregate`` sections and the
``critical_job`` / ``aggregate_job`` slices (:func:`critical_schema`,
:func:`aggregate_schema`, :func:`config_sections`), and the stages' validation
(:func:`rgpipe.config.check_job`).
"""

from __future__ import annotations

from typing import Any

from rgpipe.spec import MAX_SEED, Param, object_schema

MC_METHODS = ("binder", "helicity", "continuum")
"""Critical-point methods on Monte Carlo data (the learned families add theirs)."""

BOOTSTRAP = Param(
    "bootstrap",
    "int",
    "bootstrap replicates for error bars (each repeats the whole analysis)",
    200,
    minimum=2,
)
SEED = Param("seed", "int", "seed of the bootstrap resampling", 0, minimum=0, maximum=MAX_SEED)
POWERS = Param(
    "powers",
    "int_list",
    "powers of the lattice spacing a in the continuum fit (must contain 0)",
    [0, 2],
    minimum=0,
    unique=True,
)
AGGREGATE_BOOTSTRAP = Param(
    "bootstrap",
    "int",
    "resamples of the BCa bootstrap behind the 95% confidence interval of every group mean",
    9999,
    minimum=100,
)

CRITICAL = (BOOTSTRAP, SEED, POWERS)
"""Options of a critical-point job besides its method."""
AGGREGATE = (AGGREGATE_BOOTSTRAP, SEED)
"""Options of an aggregate job."""


def _powers_schema() -> dict[str, Any]:
    schema = POWERS.value_schema()
    schema["contains"] = {"const": 0}
    return schema


def critical_schema(methods: tuple[str, ...]) -> dict[str, Any]:
    """The slice one ``python -m rgpipe critical`` job depends on (``methods``: every
    method name, the learned families' included)."""
    method = {
        "type": "string",
        "enum": list(methods),
        "description": "binder: Binder crossings (Ising, phi^4); helicity: Weber-Minnhagen "
        "T_BKT (XY); continuum: E0 and gap extrapolated to a = 0 (0+1D field); the others: "
        "re-analysis of a learned family's training file",
    }
    schema = object_schema(
        CRITICAL,
        "The slice one `python -m rgpipe critical` job depends on.",
        extra={"method": method},
        required=["method"],
    )
    schema["properties"]["powers"] = _powers_schema()
    return schema


def aggregate_schema() -> dict[str, Any]:
    """The slice one ``python -m rgpipe aggregate`` job depends on."""
    return object_schema(AGGREGATE, "The slice one `python -m rgpipe aggregate` job depends on.")


def config_sections() -> dict[str, dict[str, Any]]:
    """The config file's ``critical`` and ``aggregate`` sections."""

    def section(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {**schema, "description": description, "default": {}}

    binder = object_schema(
        (BOOTSTRAP,),
        "Binder-cumulant crossings, one job per Ising or phi^4 ensemble with at least two "
        "sizes and per seed (results/critical/<system>/<ensemble>/seed~<seed>.h5).",
    )
    helicity = object_schema(
        (BOOTSTRAP,),
        "Weber-Minnhagen fit of the XY helicity modulus, one job per XY ensemble (square "
        "lattice, at least two sizes) and per seed (results/critical/xy/<ensemble>/...).",
    )
    continuum = object_schema(
        (POWERS,),
        "E0 and E1 - E0 of every 0+1D ensemble with more n_tau than fit parameters, per "
        "seed, extrapolated to a = 0 (results/critical/oscillator/<ensemble>/...).",
    )
    continuum["properties"]["powers"] = _powers_schema()
    critical = {
        "type": "object",
        "description": "Critical-point extraction from Monte Carlo data.",
        "additionalProperties": False,
        "default": {},
        "properties": {
            "binder": section(binder["description"], binder),
            "helicity": section(helicity["description"], helicity),
            "continuum": section(continuum["description"], continuum),
        },
    }
    aggregate = section(
        "Bias statistics across every critical-point and training file (results/summary.h5, "
        "results/summary.csv, results/report/).",
        aggregate_schema(),
    )
    return {"critical": critical, "aggregate": aggregate}
