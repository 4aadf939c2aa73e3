"""Per-file plot data ("curves") and their figures, by kind.

A Monte Carlo critical-point file holds the kinds of this package, each a module with
``read(fh) -> dict | None`` and ``plot(f, path) -> Figure``: ``binder``
(:mod:`.binder`), ``helicity`` (:mod:`.helicity`) and ``continuum`` (:mod:`.continuum`).
A learned-method family's file holds the kinds its ``curves`` hook returns, drawn by its
``plots`` hooks (:mod:`rgpipe.analysis.families`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rgpipe.analysis import families
from rgpipe.analysis.curves import binder, continuum, helicity
from rgpipe.analysis.figure import Figure
from rgpipe.analysis.records import FileResult
from rgpipe.learn.family import Family

MONTE_CARLO = {"binder": binder, "helicity": helicity, "continuum": continuum}
"""Modules of the Monte Carlo curve kinds, in the order their figures appear."""


def read_curves(fh: Any, family: Family | None) -> dict[str, dict[str, Any]]:
    """Plot data of an open result file by kind: the family's curves for a family's file,
    else every Monte Carlo kind the file has."""
    if family is not None:
        return families.family_curves(family, fh)
    out = {}
    for kind, module in MONTE_CARLO.items():
        if (data := module.read(fh)) is not None:
            out[kind] = data
    return out


def figure(f: FileResult, kind: str, path: Path) -> Figure | None:
    """The figure of the curves ``kind`` of ``f`` written to ``path`` (None when nothing
    draws that kind)."""
    if f.family:
        return families.figure(f, kind, path)
    module = MONTE_CARLO.get(kind)
    return None if module is None else module.plot(f, path)
