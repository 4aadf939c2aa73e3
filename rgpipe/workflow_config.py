"""The whole configuration of the workflow: its schema and its validation.

The schema is assembled from every declaration: the hand-written part of
``workflow/schemas/config.schema.yaml`` (the file's layout, the critical and aggregate
settings), the Monte Carlo systems' options (:mod:`rgpipe.mc.systems`) and one ``train``
section per registered learned-method family (:mod:`rgpipe.learn.registry`,
:mod:`rgpipe.learn.jobs`).  The Snakefile and the tests validate a configuration here
before any job starts; a bad key or value is rejected with a message naming it.  This
module sits above every stage (it imports the MC and learned layers), beside the CLI.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from rgpipe.analysis.options import aggregate_schema, config_sections, critical_schema
from rgpipe.config import (
    ConfigError,
    canonical_json,
    check_job,
    fill_defaults,
    load_base_schema,
    read_yaml,
    schema_errors,
)
from rgpipe.learn import registry
from rgpipe.learn.jobs import job_params, job_schema, normalise, study_list_valued, study_schema
from rgpipe.learn.jobs import validate as validate_train_job
from rgpipe.mc.systems import check, schema_defs
from rgpipe.mc.systems import validate_job as validate_mc_job
from rgpipe.spec import MAX_SEED
from rgpipe.sweeps import expand


@cache
def load_schema() -> dict[str, Any]:
    """The whole configuration schema: the hand-written part
    (:func:`rgpipe.config.load_base_schema`), the Monte Carlo ensembles and jobs generated
    by :func:`rgpipe.mc.systems.schema_defs` and one ``train`` entry per registered family
    (:func:`_add_families`)."""
    schema = copy.deepcopy(load_base_schema())
    schema["$defs"].update(schema_defs())
    _add_families(schema)
    schema["properties"].update(config_sections())
    schema["$defs"]["critical_job"] = critical_schema(critical_methods())
    schema["$defs"]["aggregate_job"] = aggregate_schema()
    Draft202012Validator.check_schema(schema)
    return schema


def critical_methods() -> tuple[str, ...]:
    """Every ``critical --method``: the Monte Carlo ones and the learned families'."""
    from rgpipe.analysis.options import MC_METHODS

    learned = tuple(
        f.critical.method for f in registry.families().values() if f.critical is not None
    )
    return (*MC_METHODS, *learned)


def _add_families(schema: dict[str, Any]) -> None:
    """Give ``train`` one entry per registered learned-method family: its studies
    (``$defs/<family>_study``) and its job slice (``$defs/<family>_job``), both generated
    from the family's parameter declarations (:mod:`rgpipe.learn.jobs`)."""
    train = schema["properties"]["train"]["properties"]
    for name, family in registry.families().items():
        schema["$defs"][f"{name}_study"] = study_schema(family)
        schema["$defs"][f"{name}_job"] = job_schema(family)
        train[name] = {
            "type": "object",
            "description": f"Named {name} studies: {family.title}.",
            "default": {},
            "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_-]*$", "maxLength": 64},
            "additionalProperties": {"$ref": f"#/$defs/{name}_study"},
        }


def _is_sweep(key: str, value: Any, listed: frozenset[str]) -> bool:
    """A list is a sweep, except for a list-valued key, where a list of lists is."""
    if not isinstance(value, list):
        return False
    return key not in listed or (bool(value) and all(isinstance(v, list) for v in value))


def _study_errors(family: Any, study: Mapping[str, Any], where: str, cfg: Any) -> list[str]:
    """Every job of a study (each point of its sweep and each base seed) must be a valid,
    distinct job: values normalised before the expansion (``1`` and ``1.0`` are one learning
    rate), seed ranges of one study disjoint, the data source an MC ensemble that stores
    configurations."""
    by_name = {p.name: p for p in job_params(family)}
    listed = study_list_valued(family)
    fixed = {"seeds", "data"}
    norm = {}
    for key, value in study.items():
        p = by_name.get(key)
        if p is None:
            norm[key] = value
        elif key == "points":
            norm[key] = value
        elif isinstance(value, list) and (
            key not in listed or (value and isinstance(value[0], list))
        ):
            norm[key] = [normalise(p, v) for v in value]
        else:
            norm[key] = normalise(p, value)
    if "points" in study:
        norm["points"] = [
            {k: normalise(by_name[k], v) if k in by_name else v for k, v in pt.items()}
            for pt in study["points"]
        ]
    for key, value in norm.items():
        sweep = isinstance(value, list) and key in by_name and key not in fixed
        sweep = sweep and (key not in listed or (bool(value) and isinstance(value[0], list)))
        if sweep and len({canonical_json(v) for v in value}) < len(value):
            return [
                f"config key '{where}.{key}': value {study[key]!r} is invalid: it lists one "
                "value twice (after normalisation), which would train the same job twice"
            ]
    try:
        points = expand(norm, listed, fixed=fixed)
    except ValueError as exc:
        return [f"config key '{where}': {exc}"]
    msgs = []
    for point in points:
        job = {k: v for k, v in point.params.items() if k not in fixed}
        try:
            checked = validate_train_job(family, job, what="config key")
        except ConfigError as exc:
            detail = str(exc).split(":\n  ", 1)[-1].replace("\n  ", "; ")
            msgs.append(f"config key '{where}' at {point.path}: {detail}")
            continue
        seeds = sorted(norm.get("seeds", [0]))
        n = checked["n_models"]
        if seeds[-1] + n - 1 > MAX_SEED:
            msgs.append(
                f"config key '{where}.seeds': value {seeds[-1]} is invalid at {point.path}: "
                f"with n_models {n} the last model seed exceeds {MAX_SEED} (int64)"
            )
        for a, b in itertools.pairwise(seeds):
            if b < a + n:
                msgs.append(
                    f"config key '{where}.seeds': value {seeds!r} is invalid at {point.path}: "
                    f"with n_models {n} the base seeds {a} and {b} train models "
                    f"{b}..{min(a + n, b + n) - 1} twice (keep base seeds >= n_models apart)"
                )
                break
    if family.data is not None:
        msgs += _data_source_errors(study.get("data", {}), f"{where}.data", cfg)
    return msgs


def _data_source_errors(source: Mapping[str, Any], where: str, cfg: Any) -> list[str]:
    """The Monte Carlo ensemble a study learns from must exist and store configurations."""
    system, name = source.get("system"), source.get("ensemble")
    ens = cfg.get("mc", {}).get(system, {}).get(name)
    if ens is None:
        return [
            f"config key '{where}.ensemble': value {name!r} is invalid: no ensemble "
            f"mc.{system}.{name} in the configuration"
        ]
    msgs = []
    sizes = ens.get("sizes", ens.get("n_tau", []))
    if source.get("size") not in sizes:
        msgs.append(
            f"config key '{where}.size': value {source.get('size')!r} is invalid: "
            f"mc.{system}.{name} has sizes {sizes}"
        )
    if source.get("seed", 1) not in ens.get("seeds", [0]):
        msgs.append(
            f"config key '{where}.seed': value {source.get('seed', 1)!r} is invalid: "
            f"mc.{system}.{name} has seeds {ens.get('seeds', [0])}"
        )
    if not ens.get("configurations", 0):
        msgs.append(
            f"config key '{where}': mc.{system}.{name} stores no configurations "
            "(set its `configurations` > 0)"
        )
    return msgs


def _continuum_errors(cfg: Mapping[str, Any]) -> list[str]:
    """An oscillator ensemble with several spacings gets a continuum job only when it has at
    least as many spacings as the fit has parameters: fewer would drop the job silently."""
    powers = cfg.get("critical", {}).get("continuum", {}).get("powers", [0, 2])
    msgs = []
    for name, ens in cfg.get("mc", {}).get("oscillator", {}).items():
        n = len(ens["n_tau"])
        if 2 <= n < len(powers):
            msgs.append(
                f"config key 'mc.oscillator.{name}.n_tau': value {ens['n_tau']!r} is invalid: "
                f"{n} lattice spacings, but the continuum fit in powers {powers} of a "
                f"(critical.continuum.powers) has {len(powers)} parameters (add n_tau values "
                "or drop powers; one n_tau runs without a continuum job)"
            )
    return msgs


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a whole configuration and return a copy with defaults filled in.

    Raises:
        ConfigError: listing every problem, each naming the key and the offending value.
    """
    cfg = copy.deepcopy(dict(config))
    schema = load_schema()
    msgs = schema_errors(cfg, schema, "config key")
    if not msgs:
        fill_defaults(cfg, schema, schema)
        for system, ensembles in cfg.get("mc", {}).items():
            for name, ens in ensembles.items():
                msgs += check(system, ens, f"mc.{system}.{name}.", "config key")
        msgs += _continuum_errors(cfg)
        for fam_name, studies in cfg.get("train", {}).items():
            family = registry.get(fam_name)
            for name, study in studies.items():
                msgs += _study_errors(family, study, f"train.{fam_name}.{name}", cfg)
    if msgs:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(msgs))
    return cfg


def validate_job(kind: str, job: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one job's configuration slice and fill its defaults: ``<family>_job`` of a
    learned family, ``<system>_mc_job`` of a Monte Carlo system, or a job of the
    hand-written schema (``critical_job``, ``aggregate_job``).

    Used by the CLI stages, so that ``python -m rgpipe <stage> ...`` rejects the same values
    as the Snakefile does.
    """
    family = registry.families().get(kind.removesuffix("_job"))
    if family is not None and kind.endswith("_job"):
        return validate_train_job(family, job)
    if kind.endswith("_mc_job"):
        return validate_mc_job(job, kind.removesuffix("_mc_job"))
    schema = load_schema()
    if kind not in schema["$defs"]:
        raise KeyError(f"no job schema named {kind!r}")
    return check_job(job, schema["$defs"][kind], kind.replace("_", " "))


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML configuration file and validate it (defaults filled)."""
    path = Path(path)
    try:
        raw = read_yaml(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(raw).__name__}")
    try:
        return validate_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
