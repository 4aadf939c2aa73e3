"""Hyper-parameter sweeps: a study in the config expands into jobs with stable paths.

Any hyper-parameter of a study may be given as a list of values; the study then stands
for the cartesian product of its lists (or, with ``points``, for an explicit list of
combinations).  Every job gets a path made of ``key~value`` segments for the swept keys,
sorted by key, e.g. ``loss~kl/representation~A1+E``; a study without sweeps is ``all``.
The same configuration always gives the same paths, and adding a value to a list adds
jobs without renaming the others.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

NO_SWEEP = "all"
"""The point path of a study without swept keys."""


@dataclass(frozen=True)
class Point:
    """One job of a study.

    Attributes:
        path: ``key~value`` segments of the swept keys joined by ``/`` (or ``all``).
        swept: the swept keys and their values at this point.
        params: the study's settings with the swept keys set to this point's values.
    """

    path: str
    swept: dict[str, Any]
    params: dict[str, Any]


def format_value(value: Any) -> str:
    """Stable text of a value in a path: floats by repr, lists joined by ``-``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "-".join(format_value(v) for v in value)
    return str(value)


def point_path(swept: Mapping[str, Any]) -> str:
    """The path of a point from its swept keys."""
    if not swept:
        return NO_SWEEP
    return "/".join(f"{k}~{format_value(swept[k])}" for k in sorted(swept))


def is_sweep(key: str, value: Any, list_valued: Collection[str]) -> bool:
    """A list is a sweep, except for a list-valued key, where a list of lists is."""
    if not isinstance(value, list):
        return False
    if key in list_valued:
        return bool(value) and all(isinstance(v, list) for v in value)
    return True


def expand(
    study: Mapping[str, Any], list_valued: Collection[str] = (), fixed: Collection[str] = ()
) -> list[Point]:
    """All jobs of a study.

    Args:
        study: the study's settings; list values are sweeps (see :func:`is_sweep`); an
            optional ``points`` list of mappings gives explicit combinations instead.
        list_valued: keys whose single value is itself a list (e.g. layer widths).
        fixed: keys that are never swept (e.g. ``seeds``) and are not part of the path.

    Raises:
        ValueError: ``points`` together with list-valued sweeps, or points that do not
            all set the same keys.
    """
    base = {k: v for k, v in study.items() if k != "points"}
    swept_keys = [k for k, v in base.items() if k not in fixed and is_sweep(k, v, list_valued)]
    if "points" in study:
        if swept_keys:
            raise ValueError(
                f"give either sweeps (lists) or points, not both: {', '.join(swept_keys)}"
            )
        keys = {frozenset(p) for p in study["points"]}
        if len(keys) != 1:
            raise ValueError("every point must set the same keys")
        combos = [dict(p) for p in study["points"]]
    else:
        values = [base[k] for k in swept_keys]
        combos = [dict(zip(swept_keys, c, strict=True)) for c in itertools.product(*values)]
    points = []
    for combo in combos:
        params = {**base, **combo}
        points.append(Point(point_path(combo), combo, params))
    paths = [p.path for p in points]
    if len(set(paths)) != len(paths):
        raise ValueError("two points of the study have the same path (repeated values?)")
    return points
