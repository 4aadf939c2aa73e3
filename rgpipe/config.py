"""Configuration machinery: schema validation, defaults, readable errors, YAML, hashes.

A base module (any layer may use it): it validates a configuration or a job against a JSON
schema with strict integers (``20000.0`` is not an integer), fills defaults, turns every
violation into a line naming the key and the value (:class:`ConfigError`), reads YAML
refusing duplicate keys, and gives the canonical JSON and sha256 stored in result files.
The hand-written part of the configuration schema is ``workflow/schemas/config.schema.yaml``
(shipped as ``rgpipe/data/config.schema.yaml``, :func:`load_base_schema`); the whole schema,
with the parts generated from the parameter declarations, is
:func:`rgpipe.workflow_config.load_schema`.
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
def load_base_schema() -> dict[str, Any]:
    """The hand-written part of the configuration schema (the packaged
    ``config.schema.yaml``): the layout of the file, the critical and aggregate settings
    and their shared ``$defs``.  The Monte Carlo ensembles and the training studies are
    generated from their declarations by :func:`rgpipe.workflow_config.load_schema`."""
    text = resources.files("rgpipe").joinpath("data/config.schema.yaml").read_text()
    schema = yaml.safe_load(text)
    Draft202012Validator.check_schema(schema)
    return schema


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


def fill_defaults(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> None:
    """Insert schema defaults into ``instance`` in place (objects only, recursively)."""
    schema = _resolve(schema, root)
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        sub_r = _resolve(sub, root)
        if key not in instance and "default" in sub_r:
            instance[key] = copy.deepcopy(sub_r["default"])
        if key in instance:
            fill_defaults(instance[key], sub_r, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                fill_defaults(value, extra, root)


def _path_str(path: Iterator[Any] | Any) -> str:
    """Format a jsonschema path deque as ``a.b[0].c``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def _reason(err: ValidationError) -> str:
    """Why a value fails, in words: a string that does not match its pattern is described
    by the parameter's description rather than the regular expression."""
    if err.validator == "pattern" and "description" in err.schema:
        return f"{err.instance!r} is not of the required form ({err.schema['description']})"
    return err.message


def format_error(err: ValidationError, what: str, root: Mapping[str, Any]) -> str:
    """One readable line naming the offending key and value (``root``: the schema whose
    ``$defs`` local references point into; default the configuration schema)."""
    where = _path_str(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(_resolve(err.schema, root).get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        keys = ", ".join(f"'{where}.{k}'" if where != "<root>" else f"'{k}'" for k in extra)
        return f"{what} {keys}: unknown key (allowed here: {', '.join(allowed) or 'none'})"
    if err.validator in ("oneOf", "anyOf"):
        if isinstance(err.instance, dict) and "description" in err.schema:
            return f"{what} '{where}': {err.schema['description']}"
        # a value or a sweep list: report the reason of the closest alternative
        branch = 1 if isinstance(err.instance, list) else 0
        errs = [e for e in err.context if e.schema_path and e.schema_path[0] == branch]
        reason = _reason(best_match(errs or err.context)) if err.context else err.message
        return f"{what} '{where}': value {err.instance!r} is invalid: {reason}"
    if err.validator == "pattern":
        return f"{what} '{where}': value {err.instance!r} is invalid: {_reason(err)}"
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


def schema_errors(
    instance: Any, schema: Mapping[str, Any], what: str, root: Mapping[str, Any] | None = None
) -> list[str]:
    """Schema violations plus non-finite numbers, as readable lines naming the key.

    Args:
        instance: the configuration (or part of it).
        schema: its schema; local ``$ref`` point into ``root`` (default: ``schema`` itself).
        what: prefix of each line (``config key`` or ``option``).
    """
    root = schema if root is None else root
    full = dict(schema)
    full.setdefault("$defs", root.get("$defs", {}))
    validator = StrictValidator(full)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    msgs = [format_error(e, what, full) for e in errors]
    msgs += [
        f"{what} '{_path_str(p)}': value {v!r} is invalid: numbers must be finite"
        for p, v in _nonfinite(instance)
    ]
    return msgs


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
    msgs = [format_error(e, "option", schema) for e in errors]
    msgs += [
        f"option '{_path_str(p)}': value {v!r} is invalid: numbers must be finite"
        for p, v in _nonfinite(cfg)
    ]
    if msgs:
        raise ConfigError(f"invalid {kind}:\n  " + "\n  ".join(msgs))
    fill_defaults(cfg, schema, schema)
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
