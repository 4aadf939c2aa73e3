"""Which configuration keys define the groups of the aggregate stage: the hyper-parameters
whose value differs between the files of one (system, method), seeds and paths excepted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rgpipe.config import canonical_json

EXCLUDED_KEYS = frozenset({"seed", "seeds", "out", "output", "inputs", "path", "paths", "files"})
"""Configuration keys (last dotted component) that never define a group: seeds and paths."""


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested configuration -> {dotted key: canonical JSON of the value}."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_config(value, name + "."))
        else:
            out[name] = canonical_json(value)
    return out


def hyper_parameters(config_json: str) -> dict[str, str]:
    """{dotted key: canonical JSON} of a configuration (JSON text), seeds and paths excepted."""
    flat = flatten_config(json.loads(config_json))
    return {k: v for k, v in flat.items() if k.rsplit(".", 1)[-1] not in EXCLUDED_KEYS}


def swept_keys(configs: Iterable[str]) -> list[str]:
    """Dotted keys whose value differs between the configurations (JSON texts), seeds and
    paths excepted; a key missing from some configurations counts as differing."""
    flats = [hyper_parameters(c) for c in dict.fromkeys(configs)]
    keys = sorted({k for f in flats for k in f})
    return [k for k in keys if len({f.get(k) for f in flats}) > 1]


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """The shortest dotted suffix of each key that is unique among ``keys``."""
    out = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            cand = ".".join(parts[-n:])
            others = [k for k in keys if k != key]
            if not any(k == cand or k.endswith("." + cand) for k in others):
                out[key] = cand
                break
        else:
            out[key] = key
    return out


def display(value_json: str | None) -> str:
    """A swept value (canonical JSON, None when the key is missing) as label text."""
    if value_json is None:
        return "none"
    value = json.loads(value_json)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "none" if value is None else str(value)


def sort_value(text: str) -> tuple:
    """Sort key of a label value: numbers numerically, then text alphabetically."""
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)
