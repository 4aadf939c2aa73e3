"""Helicity modulus of a ``critical --method helicity`` file: its plot data and figure."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from rgpipe.analysis.figure import Figure, estimates_of, fmt, paren, run_title, save
from rgpipe.analysis.records import FileResult

CURVES = ("sizes", "temperature", "helicity", "helicity_error")
"""Datasets of ``/curves`` the figure needs."""


def read(fh: Any) -> dict[str, Any] | None:
    """sizes (S,), temperature, helicity, helicity_error (S, T); None when the file has no
    helicity curves."""
    if "curves" not in fh or not set(CURVES) <= set(fh["curves"]):
        return None
    return {k: np.asarray(fh["curves"][k][()]) for k in CURVES}


def plot(f: FileResult, path: Path) -> Figure:
    """Helicity modulus against T for every size, with 2T/pi and the T_BKT estimate."""
    import matplotlib.pyplot as plt  # reading the curves needs no matplotlib

    d = f.curves["helicity"]
    fig, ax = plt.subplots(figsize=(8, 4.6), layout="constrained")
    tmin, tmax = np.nanmin(d["temperature"]), np.nanmax(d["temperature"])
    for k, L in enumerate(d["sizes"]):
        ax.errorbar(
            d["temperature"][k],
            d["helicity"][k],
            yerr=d["helicity_error"][k],
            fmt="o-",
            ms=3,
            capsize=2,
            color=f"C{k}",
            label=f"L = {int(L)}",
        )
    t = np.linspace(tmin, tmax, 50)
    ax.plot(t, 2 * t / np.pi, "k--", lw=1.2, label="2T / pi")
    name, (value, error, exact) = next(iter(estimates_of(f).items()), ("", (np.nan,) * 3))
    if math.isfinite(value):
        ax.axvspan(value - error, value + error, color="0.5", alpha=0.3, lw=0)
        ax.axvline(value, color="0.3", lw=1, label=f"{name} = {paren(value, error)}")
    if math.isfinite(exact):
        ax.axvline(exact, color="C3", ls=":", lw=1.5, label=f"literature {fmt(exact, 6)}")
    ax.set_xlabel("temperature T [J / k_B]")
    ax.set_ylabel("helicity modulus Upsilon_L [J]")
    ax.set_title(f"Helicity modulus, {run_title(f)}")
    fig.legend(loc="outside right upper", fontsize=8)
    ax.grid(alpha=0.3)
    return Figure(
        save(fig, path),
        "helicity",
        f"Helicity modulus of {f.path}",
        "Points: helicity modulus per size; dashed: the universal jump line 2T/pi; grey: "
        "T_BKT from the Weber-Minnhagen fit with its error; dotted: literature value.",
        [f.path],
    )
