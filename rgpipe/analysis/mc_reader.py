"""Reading a Monte Carlo file (stage ``mc``) for the aggregate stage: every estimate that
has exact values, as a :class:`~rgpipe.analysis.validation.Comparison`.

The layout is that of :mod:`rgpipe.mc.output`: ``/parameters/<parameter>`` (shape () for a
single point, (n_p,) for a sweep; its name in the attribute ``parameter``), and per
estimate ``/estimates/<name>/{mean, error_of_mean, exact, status}`` of shape (n_p, ...) or,
for a single point, without the leading axis.  A further axis of an array estimate is named
by the dataset of ``/parameters`` that runs along it (``tau_<name>`` first, then any 1-D
dataset of its length; ``index`` when none does).

Only values of kind ``exact`` are compared (a literature value's accuracy is unknown).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from rgpipe.analysis.validation import Comparison


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _parameter(fh: Any) -> tuple[str, np.ndarray]:
    """Name and values (float64, shape () or (n_p,)) of the swept parameter."""
    if "parameters" not in fh:
        return "point", np.asarray(np.nan)
    par = fh["parameters"]
    name = _text(par.attrs.get("parameter", ""))
    if not name or name not in par:
        return "point", np.asarray(np.nan)
    return name, np.asarray(par[name][()], dtype=np.float64)


def _axis(fh: Any, estimate: str, length: int, parameter: str) -> tuple[str, np.ndarray]:
    """Name (shown without a ``_<estimate>`` suffix) and values of the further axis of
    ``length`` points of an array estimate; ``index`` and 0..length-1 when no dataset of
    ``/parameters`` runs along it."""
    if "parameters" in fh:
        par = fh["parameters"]
        for key in dict.fromkeys([f"tau_{estimate}", *par]):
            if key == parameter or key not in par:
                continue
            values = np.asarray(par[key][()])
            if values.ndim == 1 and len(values) == length and values.dtype.kind in "fiu":
                return key.removesuffix(f"_{estimate}"), values.astype(np.float64)
    return "index", np.arange(length, dtype=np.float64)


def _coordinates(
    fh: Any, estimate: str, shape: tuple[int, ...], parameter: str, values: np.ndarray
) -> tuple[np.ndarray, str, np.ndarray]:
    """Parameter value, further-axis name and further-axis value of every point of an
    estimate of ``shape``, flattened in C order."""
    lead = values.ndim == 1 and len(shape) >= 1 and shape[0] == values.size
    n_p = values.size if lead else 1
    trailing = shape[1:] if lead else shape
    size = int(np.prod(trailing, dtype=np.int64))
    known = lead or values.size == 1  # else the layout does not say where the points lie
    point_values = np.atleast_1d(values).astype(np.float64)[:n_p] if known else np.nan
    par = np.repeat(np.broadcast_to(point_values, (n_p,)), size)
    if not trailing:
        return par, "", np.full(par.shape, np.nan)
    if len(trailing) == 1:
        name, axis = _axis(fh, estimate, trailing[0], parameter)
    else:
        name, axis = "index", np.arange(size, dtype=np.float64)
    return par, name, np.tile(axis, n_p)


def _meaning(grp: Any) -> dict[int, str]:
    if "status" not in grp:
        return {}
    raw = grp["status"].attrs.get("meaning", "{}")
    try:
        return {int(k): str(v) for k, v in json.loads(_text(raw)).items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def mc_comparisons(fh: Any, path: str, system: str) -> tuple[list[Comparison], str]:
    """The comparisons of every estimate of an open MC file with exact values.

    Args:
        fh: the open file.
        path: its path (as given to the stage).
        system: ``<system>/<lattice>`` or ``<system>``.

    Returns:
        The comparisons (estimates in file order), and a note on what was left out
        (estimates with literature values, or none with exact values at all; '' otherwise).
    """
    if "estimates" not in fh:
        return [], "no estimates"
    parameter, values = _parameter(fh)
    out: list[Comparison] = []
    literature: list[str] = []
    for name, grp in fh["estimates"].items():
        if not hasattr(grp, "keys") or "mean" not in grp or "exact" not in grp:
            continue
        ref = grp["exact"]
        kind = _text(ref.attrs.get("reference_kind", "exact")).strip().lower()
        if kind != "exact":
            literature.append(name)
            continue
        mean = np.asarray(grp["mean"][()], dtype=np.float64)
        exact = np.broadcast_to(np.asarray(ref[()], dtype=np.float64), mean.shape)
        if not np.isfinite(exact).any():
            continue
        error = np.full(mean.shape, np.nan)
        if "error_of_mean" in grp:
            error = np.broadcast_to(
                np.asarray(grp["error_of_mean"][()], dtype=np.float64), mean.shape
            )
        status = np.zeros(mean.shape, dtype=np.int64)
        if "status" in grp:
            status = np.broadcast_to(np.asarray(grp["status"][()], dtype=np.int64), mean.shape)
        par, axis, axis_values = _coordinates(fh, name, mean.shape, parameter, values)
        out.append(
            Comparison(
                path=path,
                system=system,
                estimate=name,
                units=_text(grp.attrs.get("units", "")),
                reference=_text(ref.attrs.get("reference", "")),
                parameter=parameter,
                parameter_values=par,
                axis=axis,
                axis_values=axis_values,
                mean=mean.reshape(-1).copy(),
                error=np.asarray(error).reshape(-1).copy(),
                exact=np.asarray(exact).reshape(-1).copy(),
                status=np.asarray(status).reshape(-1).copy(),
                meaning=_meaning(grp),
            )
        )
    notes = []
    if literature:
        notes.append(f"literature references not compared: {', '.join(literature)}")
    if not out:
        notes.append("no estimate has exact values")
    return out, "; ".join(notes)
