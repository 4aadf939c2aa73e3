"""Training jobs of any family: the job slice, its schema, validation and resolved parameters.

A training job is one ensemble: ``n_models`` independently seeded models (seeds ``seed`` to
``seed + n_models - 1``) trained with one set of hyper-parameters, in ``mode`` ensemble or
ddp.  Its configuration slice (stored canonically in the output file, and the workflow's
rerun trigger) is a flat mapping of :data:`RUNNER` keys, the family's hyper-parameters
(defaults filled) and, for families that learn from Monte Carlo data, :data:`DATA` keys.

A study in the config (``train.<family>.<name>``) may give any sweepable key as a list of
values; it expands into one job per combination and base seed (:mod:`rgpipe.sweeps`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rgpipe.config import ConfigError, check_job
from rgpipe.learn.family import Family
from rgpipe.spec import MAX_SEED, Param, Spec, defaults, list_valued, object_schema

SEED = Param(
    "seed",
    "int",
    "first model seed: the job trains the models seed, seed + 1, ..., seed + n_models - 1",
    0,
    minimum=0,
    maximum=MAX_SEED,
    sweep=False,
)
N_MODELS = Param(
    "n_models",
    "int",
    "independently seeded models trained by one job (the ensemble)",
    16,
    minimum=1,
)
MODE = Param(
    "mode",
    "str",
    "ensemble: the models are spread over the MPI ranks; ddp: every rank trains every model "
    "on its shard of the data and DistributedDataParallel averages the gradients",
    "ensemble",
    choices=("ensemble", "ddp"),
)
RUNNER = Spec("runner", (SEED, N_MODELS, MODE))
"""Keys of every training job besides the family's hyper-parameters."""

COUPLING = Param(
    "coupling",
    "float",
    "the value of the Monte Carlo file's control parameter (K = J/T, or phi^4's beta) whose "
    "configurations are learned; null: the file's only point",
    None,
    nullable=True,
)
DATA = Spec("data", (COUPLING,))
"""Keys of the jobs of families that learn from Monte Carlo configurations."""

SEEDS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "uniqueItems": True,
    "default": [0],
    "items": SEED.value_schema() | {"description": "a base seed"},
    "description": "base seeds; the job of base seed s trains the models s, s + 1, ..., "
    "s + n_models - 1 (the ranges of one study must not overlap)",
}
"""The ``seeds`` list of a study (one job per base seed)."""

DATA_SOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "the Monte Carlo output whose stored configurations the study learns from: "
    "results/mc/<system>/<ensemble>/<L or N>~<size>/seed~<seed>.h5",
    "additionalProperties": False,
    "required": ["system", "ensemble", "size"],
    "properties": {
        "system": {"type": "string", "description": "the MC system"},
        "ensemble": {"type": "string", "description": "the ensemble's name under mc.<system>"},
        "size": {"type": "integer", "minimum": 1, "description": "L (or n_tau)"},
        "seed": {"type": "integer", "minimum": 0, "default": 1, "description": "the MC seed"},
    },
}
"""The ``data`` entry of a study of a family that learns from Monte Carlo data."""


def job_params(family: Family) -> tuple[Param, ...]:
    """Every key of the family's job slice, runner keys first."""
    data = DATA.params if family.data is not None else ()
    return (*RUNNER.params, *data, *family.spec.params)


def job_schema(family: Family) -> dict[str, Any]:
    """The JSON schema of one job of ``family`` (the ``<family>_job`` of the config schema)."""
    return object_schema(
        job_params(family),
        f"The slice one `python -m rgpipe train {family.name}` job depends on.",
    )


def study_schema(family: Family) -> dict[str, Any]:
    """The JSON schema of a study ``train.<family>.<name>``: every sweepable key a value or a
    list of values, ``seeds``, explicit ``points`` and (data families) ``data``."""
    params = [p for p in job_params(family) if p.name != "seed"]
    point = object_schema(params, "One explicit combination of hyper-parameters.")
    extra: dict[str, Any] = {
        "seeds": SEEDS_SCHEMA,
        "points": {
            "type": "array",
            "minItems": 1,
            "description": "explicit combinations of hyper-parameters (instead of list sweeps)",
            "items": point,
        },
    }
    required: list[str] = []
    if family.data is not None:
        source = dict(DATA_SOURCE_SCHEMA)
        source["properties"] = dict(source["properties"])
        source["properties"]["system"] = source["properties"]["system"] | {
            "enum": list(family.data.systems)
        }
        extra["data"] = source
        required.append("data")
    return object_schema(
        params,
        f"One {family.name} study ({family.title}): any key may be a list of values to sweep; "
        "one job per combination (or per entry of `points`) and base seed, at "
        f"results/train/{family.name}/<study>/<key~value/...>/seed~<seed>.h5.",
        sweeps=True,
        extra=extra,
        required=required,
    )


def study_list_valued(family: Family) -> frozenset[str]:
    """Keys whose single value is a list (a list of lists sweeps them)."""
    return list_valued(job_params(family))


def normalise(param: Param, value: Any) -> Any:
    """One spelling per value: numbers of float kinds as floats (``1`` and ``1.0`` are the
    same learning rate), lists as lists."""
    if value is None:
        return None
    if param.kind == "float":
        return float(value)
    if param.kind in ("float_list", "float_pair"):
        return [float(v) for v in value]
    if param.is_list:
        return list(value)
    return value


def resolve(family: Family, params: Mapping[str, Any]) -> dict[str, Any]:
    """The family's hyper-parameters with defaults filled, normalised and cross-checked.

    Args:
        params: hyper-parameters (other job keys are ignored); validated by the schema or not.

    Raises:
        ValueError: an unknown key, a value the schema rejects, or conflicting values
            (the family's ``check``), with a message naming the keys.
    """
    names = set(family.spec.names)
    given = {k: v for k, v in params.items() if k in names}
    schema = object_schema(family.spec.params, f"{family.name} hyper-parameters")
    try:
        checked = check_job(given, schema, f"{family.name} hyper-parameters")
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    out = {**defaults(family.spec.params), **checked}
    out = {p.name: normalise(p, out[p.name]) for p in family.spec.params if p.name in out}
    for p in family.spec.params:
        if p.kind == "float_pair" and out.get(p.name) is not None:
            lo, hi = out[p.name]
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(
                    f"{family.name} parameter {p.name!r}: value {out[p.name]!r} is invalid: "
                    "need finite low < high"
                )
    check = family.hook("check")
    if check is not None:
        check(out)
    return out


def validate(family: Family, job: Mapping[str, Any], what: str = "option") -> dict[str, Any]:
    """Validate one job of ``family``, fill its defaults and normalise its values.

    Returns:
        The job slice (runner keys, data keys, every hyper-parameter).

    Raises:
        ConfigError: every problem, each naming the key and the value.
    """
    kind = f"{family.name} job"
    cfg = check_job(job, job_schema(family), kind)
    by_name = {p.name: p for p in job_params(family)}
    cfg = {k: normalise(by_name[k], v) for k, v in cfg.items()}
    msgs = []
    if cfg["mode"] not in family.modes:
        msgs.append(
            f"{what} 'mode': value {cfg['mode']!r} is invalid: the {family.name} family "
            f"supports {', '.join(family.modes)}"
        )
    last = cfg["seed"] + cfg["n_models"] - 1
    if last > MAX_SEED:
        msgs.append(
            f"{what} 'seed': value {cfg['seed']} is invalid: with n_models {cfg['n_models']} "
            f"the last model seed {last} exceeds {MAX_SEED}"
        )
    try:
        resolve(family, cfg)
    except ValueError as exc:
        msgs.append(str(exc))
    if msgs:
        raise ConfigError(f"invalid {kind}:\n  " + "\n  ".join(msgs))
    return cfg


def seed_list(job: Mapping[str, Any]) -> list[int]:
    """The model seeds of a job: ``seed``, ``seed + 1``, ..., ``n_models`` of them."""
    return list(range(job["seed"], job["seed"] + job["n_models"]))
