"""Configuration: schema validation, defaults, canonical JSON and hashes.

The single source of truth for what a valid configuration is lives in
``workflow/schemas/config.schema.yaml`` (shipped inside the package as
``rgpipe/data/config.schema.yaml``).  Both the Snakefile and every CLI stage call
:func:`validate_config` / :func:`validate_job` before any work starts, so a bad value
is rejected with a message naming the key and the value, and nothing is computed.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from rgpipe.spec import MAX_SEED


def _is_strict_integer(_checker: Any, instance: Any) -> bool:
    """JSON Schema's ``integer`` admits 20000.0; a config integer must be written as one."""
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_strict_integer),
)
"""Draft 2020-12 validation in which a whole-number float is not an integer."""


class ConfigError(ValueError):
    """A configuration (file or command line) is invalid; the message lists every problem."""


@cache
def load_schema() -> dict[str, Any]:
    """Return the configuration JSON schema (parsed from the packaged YAML file)."""
    text = resources.files("rgpipe").joinpath("data/config.schema.yaml").read_text()
    schema = yaml.safe_load(text)
    _add_families(schema)
    Draft202012Validator.check_schema(schema)
    return schema


def _add_families(schema: dict[str, Any]) -> None:
    """Give ``train`` one entry per registered learned-method family: its studies
    (``$defs/<family>_study``) and its job slice (``$defs/<family>_job``), both generated
    from the family's parameter declarations (:mod:`rgpipe.learn.jobs`)."""
    from rgpipe.learn import registry
    from rgpipe.learn.jobs import job_schema, study_schema

    train = schema["properties"]["train"]["properties"]
    for name, family in registry.families().items():
        schema["$defs"][f"{name}_study"] = study_schema(family)
        schema["$defs"][f"{name}_job"] = job_schema(family)
        train[name] = {
            "type": "object",
            "description": f"Named {name} studies: {family.title}.",
            "default": {},
            "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_-]*$"},
            "additionalProperties": {"$ref": f"#/$defs/{name}_study"},
        }


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/name``) until a concrete sub-schema is reached."""
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref are supported in the config schema, got {ref}")
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def _fill_defaults(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> None:
    """Insert schema defaults into ``instance`` in place (objects only, recursively)."""
    schema = _resolve(schema, root)
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        sub_r = _resolve(sub, root)
        if key not in instance and "default" in sub_r:
            instance[key] = copy.deepcopy(sub_r["default"])
        if key in instance:
            _fill_defaults(instance[key], sub_r, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra, root)


def _path_str(path: Iterator[Any] | Any) -> str:
    """Format a jsonschema path deque as ``a.b[0].c``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def _format_error(err: ValidationError, what: str, root: Mapping[str, Any] | None = None) -> str:
    """One readable line naming the offending key and value (``root``: the schema whose
    ``$defs`` local references point into; default the configuration schema)."""
    where = _path_str(err.absolute_path)
    if err.validator == "additionalProperties":
        root = load_schema() if root is None else root
        allowed = sorted(_resolve(err.schema, root).get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        keys = ", ".join(f"{where}.{k}" if where != "<root>" else k for k in extra)
        return f"{what} {keys}: unknown key (allowed here: {', '.join(allowed) or 'none'})"
    if err.validator in ("oneOf", "anyOf"):
        if isinstance(err.instance, dict) and "description" in err.schema:
            return f"{what} '{where}': {err.schema['description']}"
        # a value or a sweep list: report the reason of the closest alternative
        branch = 1 if isinstance(err.instance, list) else 0
        errs = [e for e in err.context if e.schema_path and e.schema_path[0] == branch]
        reason = best_match(errs or err.context).message if err.context else err.message
        return f"{what} '{where}': value {err.instance!r} is invalid: {reason}"
    if err.validator == "required":
        missing = err.message.split("'")[1] if err.message.count("'") >= 2 else err.message
        key = missing if where == "<root>" else f"{where}.{missing}"
        return f"{what} '{key}': missing (required here)"
    return f"{what} '{where}': value {err.instance!r} is invalid: {err.message}"


def _nonfinite(
    instance: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], float]]:
    """Yield (path, value) of every NaN or infinite float in a nested structure."""
    if isinstance(instance, float) and not math.isfinite(instance):
        yield path, instance
    elif isinstance(instance, dict):
        for k, v in instance.items():
            yield from _nonfinite(v, (*path, k))
    elif isinstance(instance, list):
        for i, v in enumerate(instance):
            yield from _nonfinite(v, (*path, i))


def _schema_errors(instance: Any, schema: Mapping[str, Any], what: str) -> list[str]:
    """Schema violations plus non-finite numbers, as readable lines."""
    root = load_schema()
    full = dict(schema)
    full.setdefault("$defs", root["$defs"])
    validator = StrictValidator(full)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    msgs = [_format_error(e, what, full) for e in errors]
    msgs += [
        f"{what} '{_path_str(p)}': value {v!r} is invalid: numbers must be finite"
        for p, v in _nonfinite(instance)
    ]
    return msgs


def _ising_semantic_errors(
    lattice: str,
    update: str,
    sizes: list[tuple[str, int]],
    couplings: list[tuple[str, float]],
    what: str,
) -> list[str]:
    """Constraints between keys that the JSON schema does not express.

    The checkerboard Metropolis chain needs a two-colouring (even L on the square
    lattice) and is reducible at L = 2 on the square lattice (both sites of a colour
    share their neighbours, so a staggered state is absorbing) and at K = 0 (every
    proposal is accepted and the sweep is deterministic).

    Args:
        sizes: (key path, L) pairs to check, e.g. ``[("mc.ising.sq.sizes[0]", 16)]``.
        couplings: (key path, K) pairs.
        what: prefix naming the source of the values ("config key" or "option").
    """
    msgs = []
    if update != "metropolis":
        return msgs
    if lattice == "square":
        for where, size in sizes:
            if size % 2 or size < 4:
                msgs.append(
                    f"{what} '{where}': value {size} is invalid: the checkerboard Metropolis "
                    "update on the square lattice needs an even L >= 4"
                )
    for where, k in couplings:
        if k == 0:
            msgs.append(
                f"{what} '{where}': value {k} is invalid: checkerboard Metropolis is not "
                "ergodic at K = 0 (use wolff or sw)"
            )
    return msgs


_XY_SWEEP = {
    # update: (Wolff clusters, Metropolis sweeps); mirrors rgpipe.mc.xy.UPDATES (tested)
    "combined": (True, 1),
    "wolff": (True, 0),
    "metropolis": (False, 1),
    "overrelax": (False, 1),
}


def _measurement_errors(entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """Every Monte Carlo job needs >= 2 measurements and at most one stored
    configuration per measurement."""
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


def _xy_errors(entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """An XY sweep must contain an ergodic move (over-relaxation alone is not)."""
    wolff, n_met = _XY_SWEEP[entry["update"]]
    if entry.get("metropolis_per_sweep") is not None:
        n_met = entry["metropolis_per_sweep"]
    if not wolff and n_met == 0:
        return [
            f"{what} '{where}metropolis_per_sweep': value 0 is invalid: update "
            f"{entry['update']!r} has no cluster move, so a sweep needs a Metropolis sweep"
        ]
    return []


def _oscillator_errors(entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """The potential must confine, and the reflection move needs an even potential."""
    from rgpipe.physics.oscillator import potential_from_spec

    try:
        pot = potential_from_spec(entry, entry["mass"])
    except ValueError as exc:
        return [f"{what} '{where}potential': value {entry['potential']!r} is invalid: {exc}"]
    update = entry.get("update") or ""
    if "reflect" in update.split("+") and not pot.is_even:
        return [
            f"{what} '{where}update': value {update!r} is invalid: the reflect move is "
            "exact only for an even potential"
        ]
    if update and not {"hmc", "metropolis"} & set(update.split("+")):
        return [
            f"{what} '{where}update': value {update!r} is invalid: needs hmc or metropolis "
            "(reflect alone is not ergodic)"
        ]
    return []


def _phi4_errors(entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """Every (L, beta, lam) point must be simulable (e.g. a stable Gaussian at lam = 0)."""
    from rgpipe.physics.phi4 import lattice_from_continuum, parameter_problems

    sizes = entry["sizes"] if "sizes" in entry else [entry["L"]]
    msgs = []
    points = []  # (key path, beta, lam)
    if "betas" in entry:
        points = [(f"{where}betas[{i}]", b, entry["lam"]) for i, b in enumerate(entry["betas"])]
    else:
        for i, m0sq in enumerate(entry["m0sq"]):
            try:
                beta, lam = lattice_from_continuum(m0sq, entry["lambda0"])
                points.append((f"{where}m0sq[{i}]", beta, lam))
            except ValueError as exc:
                msgs.append(f"{what} '{where}m0sq[{i}]': value {m0sq!r} is invalid: {exc}")
    for L in sizes:
        for key, beta, lam in points:
            msgs += [f"{what} '{key}': {m}" for m in parameter_problems(L, beta, lam)]
    if entry["update"] == "overrelaxation" and entry["or_sweeps"] == 0:
        msgs.append(f"{what} '{where}or_sweeps': value 0 is invalid with update 'overrelaxation'")
    return msgs


def _ensemble_errors(system: str, entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """Cross-key checks of one Monte Carlo ensemble (config) or job (CLI).

    ``where`` is the key prefix (``mc.ising.sq.`` or empty for a job); an ensemble has
    ``sizes`` (``n_tau`` list for the 0+1D field), a job a single ``L``.
    """
    msgs = _measurement_errors(entry, where, what)
    if system == "oscillator":
        return msgs + _oscillator_errors(entry, where, what)
    if system == "phi4":
        return msgs + _phi4_errors(entry, where, what)
    if "sizes" in entry:
        sizes = [(f"{where}sizes[{i}]", n) for i, n in enumerate(entry["sizes"])]
    else:
        sizes = [(f"{where}L", entry["L"])]
    ks = [(f"{where}couplings[{i}]", k) for i, k in enumerate(entry["couplings"])]
    if system == "ising":
        msgs += _ising_semantic_errors(entry["lattice"], entry["update"], sizes, ks, what)
    elif system == "xy":
        msgs += _xy_errors(entry, where, what)
    return msgs


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
    from rgpipe.learn.jobs import job_params, normalise, study_list_valued, validate
    from rgpipe.sweeps import expand

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
            checked = validate(family, job, what="config key")
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


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a whole configuration and return a copy with defaults filled in.

    Raises:
        ConfigError: listing every problem, each naming the key and the offending value.
    """
    cfg = copy.deepcopy(dict(config))
    schema = load_schema()
    msgs = _schema_errors(cfg, schema, "config key")
    if not msgs:
        _fill_defaults(cfg, schema, schema)
        for system, ensembles in cfg.get("mc", {}).items():
            for name, ens in ensembles.items():
                msgs += _ensemble_errors(system, ens, f"mc.{system}.{name}.", "config key")
        from rgpipe.learn import registry

        for fam_name, studies in cfg.get("train", {}).items():
            family = registry.get(fam_name)
            for name, study in studies.items():
                msgs += _study_errors(family, study, f"train.{fam_name}.{name}", cfg)
    if msgs:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(msgs))
    return cfg


def validate_job(kind: str, job: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one job's configuration slice against ``$defs/<kind>`` and fill defaults.

    Used by the CLI stages, so that ``python -m rgpipe mc ...`` rejects the same values
    as the Snakefile does.
    """
    from rgpipe.learn import registry

    family = registry.families().get(kind.removesuffix("_job"))
    if family is not None and kind.endswith("_job"):
        from rgpipe.learn.jobs import validate

        return validate(family, job)
    schema = load_schema()
    if kind not in schema["$defs"]:
        raise KeyError(f"no job schema named {kind!r}")
    sub = schema["$defs"][kind]
    cfg = copy.deepcopy(dict(job))
    msgs = _schema_errors(cfg, sub, "option")
    if not msgs:
        _fill_defaults(cfg, sub, schema)
        if kind.endswith("_mc_job"):
            msgs += _ensemble_errors(cfg["system"], cfg, "", "option")
    if msgs:
        raise ConfigError(f"invalid {kind.replace('_', ' ')}:\n  " + "\n  ".join(msgs))
    return cfg


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


def check_job(job: Mapping[str, Any], schema: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """Validate one job against a self-contained schema (its own ``$defs``), fill defaults.

    Args:
        job: the options given (flat mapping).
        schema: a JSON schema generated from a :mod:`rgpipe.spec` declaration.
        kind: what the job is, for the message (e.g. ``mlrg job``).

    Raises:
        ConfigError: ``invalid <kind>:`` and one line per problem naming the option.
    """
    cfg = copy.deepcopy(dict(job))
    validator = StrictValidator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path)))
    msgs = [_format_error(e, "option", schema) for e in errors]
    msgs += [
        f"option '{_path_str(p)}': value {v!r} is invalid: numbers must be finite"
        for p, v in _nonfinite(cfg)
    ]
    if msgs:
        raise ConfigError(f"invalid {kind}:\n  " + "\n  ".join(msgs))
    _fill_defaults(cfg, schema, schema)
    return cfg


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects a key given twice in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r} (first given at line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping_plain(node, deep)


_UniqueKeyLoader.construct_mapping_plain = yaml.SafeLoader.construct_mapping  # type: ignore[attr-defined]
_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def check_yaml_file(path: str | Path) -> None:
    """Reject a configuration file that YAML alone would accept with a silent loss: a key
    given twice in one mapping (the last would win).

    Raises:
        ConfigError: naming the file, the key and both lines.
    """
    try:
        read_yaml(Path(path).read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid configuration file {path}{where}: {problem}") from None


def read_yaml(text: str) -> Any:
    """Parse YAML text safely; a duplicate key in a mapping is an error (yaml.YAMLError)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, shortest float repr."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(obj: Any) -> str:
    """sha256 hex digest of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()
