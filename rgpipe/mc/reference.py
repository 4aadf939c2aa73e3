"""Reference values of Monte Carlo estimates, tabulated per parameter point.

A driver states, for each estimate it can compare, the exactly known value at every point
of its sweep: :class:`Reference` holds them with their source, and :func:`tabulate` builds
them from one computation per point (a system's ``references`` module), recording why a
point has none.  :func:`rgpipe.mc.output.write_mc` stores them as
``/estimates/<name>/exact`` next to the estimate.

Only a value of the same finite system may be of kind ``exact``: the same size, boundary
conditions and discretisation as the simulated one (an infinite-volume or continuum
number is not).  A value from the literature is of kind ``literature``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("exact", "literature")
"""Accepted kinds of a reference value."""


class NoReference(ValueError):
    """No reference value is known at a parameter point (the message says why)."""


@dataclass(frozen=True)
class Reference:
    """Reference values of one estimate over the parameter points of a job.

    Attributes:
        values: float64, shape (n_p, ...) of the estimate's mean (NaN where unknown).
        source: how the values were obtained and for which system (size, boundary
            conditions, discretisation).
        kind: ``exact`` (the same finite system) or ``literature``.
        missing: why some values are NaN (empty when none is).
    """

    values: np.ndarray
    source: str
    kind: str = "exact"
    missing: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"reference kind must be one of {KINDS}, got {self.kind!r}")

    def attrs(self) -> dict[str, str]:
        """The attributes of the stored ``exact`` dataset."""
        return {"reference": self.source, "reference_kind": self.kind, "missing": self.missing}


PointValues = Mapping[str, tuple[Any, str]]
"""estimate name -> (reference value (float or array), its source) at one point."""


def _at(parameter: str, values: list[float]) -> str:
    return f"{parameter}=" + ", ".join(f"{v:.6g}" for v in values)


def _grouped(parameter: str, by_text: Mapping[str, list[float]]) -> str:
    """One text, or 'at <parameter>=...: text' per group when the points differ."""
    if len(by_text) == 1:
        return next(iter(by_text))
    return "; ".join(f"at {_at(parameter, vs)}: {text}" for text, vs in by_text.items())


def tabulate(
    parameter: str,
    values: np.ndarray,
    point: Callable[[int], PointValues],
    kind: str = "exact",
) -> dict[str, Reference]:
    """References of every estimate ``point`` knows, from one call per parameter point.

    Args:
        parameter: name of the swept parameter (for the texts).
        values: float64 (n_p,) parameter values, in the order of the estimates (for the
            texts).
        point: ``point(i) -> {estimate: (value, source)}`` at the i-th point; raises
            :class:`NoReference` (or ValueError / RuntimeError from the exact solution)
            when no value is known there, with the reason.
        kind: the kind of every value (:data:`KINDS`).

    Returns:
        estimate -> :class:`Reference` with values of shape (n_p, ...), for every estimate
        known at one point at least; ``missing`` names the other points and why.
    """
    per_point: list[PointValues] = []
    reasons: list[str] = []
    for i in range(len(values)):
        try:
            per_point.append(point(i))
            reasons.append("")
        except (ValueError, RuntimeError) as exc:  # NoReference is a ValueError
            per_point.append({})
            reasons.append(str(exc))
    names = list(dict.fromkeys(name for p in per_point for name in p))
    out = {}
    for name in names:
        shape = np.shape(next(p[name][0] for p in per_point if name in p))
        table = np.full((len(values), *shape), np.nan)
        sources: dict[str, list[float]] = {}
        missing: dict[str, list[float]] = {}
        for i, (p, v) in enumerate(zip(per_point, values, strict=True)):
            if name in p:
                table[i] = np.asarray(p[name][0], dtype=np.float64)
                sources.setdefault(p[name][1], []).append(float(v))
            else:
                why = reasons[i] or "not given by the exact solution at this point"
                missing.setdefault(why, []).append(float(v))
        text = "; ".join(f"NaN at {_at(parameter, vs)}: {why}" for why, vs in missing.items())
        out[name] = Reference(table, _grouped(parameter, sources), kind, text)
    return out
