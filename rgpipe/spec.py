"""One declaration per parameter: the source of config-schema entries, CLI flags and defaults.

Every option of a stage (a Monte Carlo system's settings, a learned family's
hyper-parameters, the runner's ensemble settings) is one :class:`Param`.  From a tuple of
them this module generates

* the JSON-schema entries of the configuration (:func:`object_schema`, :func:`study_schema`:
  a value, or a list of values to sweep),
* the command-line flags of ``python -m rgpipe <stage>`` (:func:`add_arguments`, with the
  default and the allowed values in the help), and the job read back from them
  (:func:`given`),
* the defaults (:func:`defaults`) and the names whose single value is a list
  (:func:`list_valued`, so that a list of lists is a sweep).

Validation is the JSON schema (:mod:`rgpipe.config`); checks between keys that a schema
cannot express live with their owner (a system's or a family's ``check``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_SEED = 2**63 - 1
"""Largest seed: seeds are stored as int64 and seed torch generators (63 bits)."""


class _Required:
    """Marker of a parameter without a default (it must be given)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The default of a parameter that has none."""

KINDS = ("str", "int", "float", "bool", "int_list", "float_list", "str_list", "float_pair")
"""Value kinds: scalars, non-empty lists of them, and ``float_pair`` ([low, high])."""

_JSON_TYPE = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
_PY_TYPE = {"str": str, "int": int, "float": float}


@dataclass(frozen=True)
class Param:
    """One parameter, declared once.

    Attributes:
        name: the key in configs and jobs; the flag is ``--name-with-dashes`` unless ``flag``.
        kind: one of :data:`KINDS`.
        description: one line for the schema and the help.
        default: the default value, or :data:`REQUIRED`.
        choices: allowed values (``str`` kinds).
        minimum, maximum: inclusive bounds of the value (of each item for lists).
        exclusive_minimum: the minimum itself is not allowed.
        nullable: None is allowed (it means "automatic" or "not used").
        pattern: regular expression a string must match.
        min_items, max_items, unique: constraints of list kinds.
        sweep: in a study the value may be a list of values to sweep.
        flag: command-line flag, when it differs from the name (e.g. ``--coupling``).
        metavar: the flag's placeholder in the help.
    """

    name: str
    kind: str
    description: str
    default: Any = REQUIRED
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    nullable: bool = False
    pattern: str | None = None
    min_items: int = 1
    max_items: int | None = None
    unique: bool = False
    sweep: bool = True
    flag: str | None = None
    metavar: str | tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r}")

    @property
    def required(self) -> bool:
        """True when the parameter has no default."""
        return self.default is REQUIRED

    @property
    def is_list(self) -> bool:
        """True when a single value is a list (a list of lists sweeps it)."""
        return self.kind.endswith("_list") or self.kind == "float_pair"

    @property
    def option(self) -> str:
        """The command-line flag."""
        return self.flag or "--" + self.name.replace("_", "-")

    def _scalar_schema(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": _JSON_TYPE[kind]}
        if self.choices:
            out["enum"] = list(self.choices)
        if self.pattern:
            out["pattern"] = self.pattern
        if self.minimum is not None:
            out["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out

    def value_schema(self) -> dict[str, Any]:
        """The JSON schema of one value (with description and default)."""
        if self.kind == "float_pair":
            schema: dict[str, Any] = {
                "type": "array",
                "items": self._scalar_schema("float"),
                "minItems": 2,
                "maxItems": 2,
            }
        elif self.is_list:
            schema = {
                "type": "array",
                "items": self._scalar_schema(self.kind.removesuffix("_list")),
                "minItems": self.min_items,
            }
            if self.max_items is not None:
                schema["maxItems"] = self.max_items
            if self.unique:
                schema["uniqueItems"] = True
        else:
            schema = self._scalar_schema(self.kind)
        if self.nullable:
            schema["type"] = [schema["type"], "null"]
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
        schema["description"] = self.description
        if not self.required:
            schema["default"] = _copy(self.default)
        return schema

    def sweep_schema(self) -> dict[str, Any]:
        """The schema of the parameter in a study: a value, or a list of values to sweep."""
        one = self.value_schema()
        if not self.sweep:
            return one
        item = {k: v for k, v in one.items() if k != "default"}
        out: dict[str, Any] = {
            "description": one["description"] + " (a value, or a list of values to sweep)",
            "anyOf": [item, {"type": "array", "minItems": 1, "items": item}],
        }
        if "default" in one:
            out["default"] = one["default"]
        return out

    def help(self) -> str:
        """The flag's help: description, allowed values and default (``%`` escaped)."""
        text = self.description
        if self.choices:
            text += f" (one of: {', '.join(str(c) for c in self.choices)})"
        if self.required:
            text += " [required]"
        elif self.default is not None:
            text += f" [default: {_show(self.default)}]"
        elif self.nullable:
            text += " [default: automatic]"
        return text.replace("%", "%%")

    def add_argument(self, parser: Any, help_text: str | None = None) -> None:
        """Add the flag to an argparse parser or group (default None: the schema fills it)."""
        kwargs: dict[str, Any] = {"dest": self.name, "default": None}
        kwargs["help"] = self.help() if help_text is None else help_text
        if self.metavar is not None:
            kwargs["metavar"] = self.metavar
        if self.kind == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif self.kind == "float_pair":
            kwargs.update(type=float, nargs=2)
            kwargs.setdefault("metavar", ("LOW", "HIGH"))
        elif self.is_list:
            kwargs.update(type=_PY_TYPE[self.kind.removesuffix("_list")], nargs="+")
        else:
            kwargs["type"] = _PY_TYPE[self.kind]
        parser.add_argument(self.option, **kwargs)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def by_name(params: Iterable[Param]) -> dict[str, Param]:
    """``{name: param}``; a name declared twice is an error."""
    out: dict[str, Param] = {}
    for p in params:
        if p.name in out and out[p.name] is not p:
            raise ValueError(f"parameter {p.name!r} is declared twice")
        out[p.name] = p
    return out


def object_schema(
    params: Sequence[Param],
    description: str,
    *,
    sweeps: bool = False,
    extra: Mapping[str, Any] | None = None,
    required: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The JSON schema of an object holding ``params`` (unknown keys rejected).

    Args:
        params: the properties.
        description: of the object.
        sweeps: each sweepable parameter may be a list of values (a study).
        extra: more properties (hand-written schemas, e.g. ``seeds`` or ``points``).
        required: names that must be given (default: the parameters without a default).
    """
    props = {p.name: (p.sweep_schema() if sweeps else p.value_schema()) for p in params}
    props.update(extra or {})
    need = [p.name for p in params if p.required] if required is None else list(required)
    out: dict[str, Any] = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "properties": props,
    }
    if need:
        out["required"] = need
    return out


def defaults(params: Iterable[Param]) -> dict[str, Any]:
    """A fresh dictionary of every default (parameters without one are left out)."""
    return {p.name: _copy(p.default) for p in params if not p.required}


def list_valued(params: Iterable[Param]) -> frozenset[str]:
    """Names whose single value is a list (in a study a list of lists sweeps them)."""
    return frozenset(p.name for p in params if p.is_list)


def add_arguments(parser: Any, params: Iterable[Param]) -> None:
    """One flag per parameter."""
    for p in params:
        p.add_argument(parser)


def given(args: argparse.Namespace, params: Iterable[Param]) -> dict[str, Any]:
    """The parameters given on the command line (flags left out are not in the result)."""
    out = {}
    for p in params:
        value = getattr(args, p.name, None)
        if value is not None:
            out[p.name] = list(value) if isinstance(value, list | tuple) else value
    return out


def to_flags(params: Iterable[Param], values: Mapping[str, Any]) -> list[str]:
    """The command-line words that give ``values`` (keys of ``params`` only; None, meaning
    the automatic default, is left out), e.g. ``["--hidden", "32", "32", "--no-flag"]``."""
    words: list[str] = []
    for p in params:
        value = values.get(p.name)
        if value is None:
            continue
        if p.kind == "bool":
            words.append(p.option if value else "--no-" + p.option.removeprefix("--"))
        elif isinstance(value, list | tuple):
            words += [p.option, *(repr(v) if isinstance(v, float) else str(v) for v in value)]
        else:
            words += [p.option, repr(value) if isinstance(value, float) else str(value)]
    return words


@dataclass(frozen=True)
class Spec:
    """A named tuple of parameters with the generators as methods.

    Attributes:
        name: whose parameters (e.g. ``mlrg`` or ``ising``), for messages.
        params: the declarations, in help order.
    """

    name: str
    params: tuple[Param, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        by_name(self.params)

    def __iter__(self):
        return iter(self.params)

    def __getitem__(self, name: str) -> Param:
        return by_name(self.params)[name]

    @property
    def names(self) -> tuple[str, ...]:
        """The parameter names, in declaration order."""
        return tuple(p.name for p in self.params)
