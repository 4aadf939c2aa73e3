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
    _add_mlrg_hyperparameters(schema["$defs"])
    Draft202012Validator.check_schema(schema)
    return schema


def _add_mlrg_hyperparameters(defs: dict[str, Any]) -> None:
    """Give ``mlrg_job``, ``mlrg_study`` (a value or a sweep list) and the study's ``points``
    one property per entry of ``mlrg_hyperparameters``, a ``$ref`` to it, so that a
    hyper-parameter is declared in one place of the schema file."""
    job = defs["mlrg_job"]["properties"]
    study = defs["mlrg_study"]["properties"]
    point = study["points"]["items"]["properties"]
    for name in defs["mlrg_hyperparameters"]["properties"]:
        ref = {"$ref": f"#/$defs/mlrg_hyperparameters/properties/{name}"}
        job[name] = dict(ref)
        point[name] = dict(ref)
        study[name] = {
            "description": "A value, or a list of values to sweep.",
            "anyOf": [dict(ref), {"type": "array", "minItems": 1, "items": dict(ref)}],
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


MLRG_LIST_VALUED = frozenset({"hidden", "j_range_ising", "j_range_other", "axis_range"})
"""MLRG hyper-parameters whose single value is a list (a list of lists sweeps them)."""


def _mlrg_study_errors(study: Mapping[str, Any], where: str) -> list[str]:
    """Every job of an MLRG study (each point of its sweep) must be a valid job."""
    from rgpipe.sweeps import expand

    try:
        points = expand(study, MLRG_LIST_VALUED, fixed={"seeds"})
    except ValueError as exc:
        return [f"config key '{where}': {exc}"]
    msgs = []
    for point in points:
        job = {k: v for k, v in point.params.items() if k != "seeds"}
        try:
            checked = validate_job("mlrg_job", job)
            from rgpipe.learn.mlrg.params import job_params

            job_params(checked)
        except (ConfigError, ValueError) as exc:
            detail = str(exc).replace("invalid mlrg job:\n  ", "").replace("\n  ", "; ")
            msgs.append(f"config key '{where}' at {point.path}: {detail}")
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
        for name, study in cfg.get("train", {}).get("mlrg", {}).items():
            msgs += _mlrg_study_errors(study, f"train.mlrg.{name}")
    if msgs:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(msgs))
    return cfg


def validate_job(kind: str, job: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one job's configuration slice against ``$defs/<kind>`` and fill defaults.

    Used by the CLI stages, so that ``python -m rgpipe mc ...`` rejects the same values
    as the Snakefile does.
    """
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


def read_yaml(text: str) -> Any:
    """Parse YAML text safely; a duplicate key in a mapping is an error (yaml.YAMLError)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, shortest float repr."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(obj: Any) -> str:
    """sha256 hex digest of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()
