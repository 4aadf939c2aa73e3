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


FIT = ("T_BKT", "C", "chi2", "dof")
"""Attributes of ``/fit`` with the Weber-Minnhagen fit (files written before them have none)."""


def read(fh: Any) -> dict[str, Any] | None:
    """sizes (S,), temperature, helicity, helicity_error (S, T), and ``fit`` (the
    attributes :data:`FIT` of ``/fit``) when stored; None when the file has no helicity
    curves."""
    if "curves" not in fh or not set(CURVES) <= set(fh["curves"]):
        return None
    d = {k: np.asarray(fh["curves"][k][()]) for k in CURVES}
    if "fit" in fh and set(FIT) <= set(fh["fit"].attrs):
        d["fit"] = {k: float(fh["fit"].attrs[k]) for k in FIT}
    return d


def weber_minnhagen_line(t: np.ndarray, L: float, c: float) -> np.ndarray:
    """(2T/pi) [1 + 1/(2 ln L + C)] on the temperatures ``t``: the helicity modulus of size
    L at T = T_BKT in the Weber-Minnhagen form, drawn as a line in T."""
    return (2 * t / np.pi) * (1 + 1 / (2 * np.log(L) + c))


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
    fit = d.get("fit")
    drawn = fit is not None and all(math.isfinite(fit[k]) for k in ("T_BKT", "C"))
    if drawn:
        for k, L in enumerate(d["sizes"]):
            ax.plot(t, weber_minnhagen_line(t, float(L), fit["C"]), ls="-.", lw=1,
                    color=f"C{k}", alpha=0.8)  # fmt: skip
            y = weber_minnhagen_line(np.array([fit["T_BKT"]]), float(L), fit["C"])
            ax.plot([fit["T_BKT"]], y, "D", ms=6, mfc="none", mew=1.5, color=f"C{k}", zorder=5)
        ax.plot([], [], ls="-.", lw=1, color="0.3",
                label=f"fit (2T/pi)[1 + 1/(2 ln L + C)], C = {fit['C']:.3g}")  # fmt: skip
        chi = f"chi2/dof = {fit['chi2']:.2g}/{int(fit['dof'])}"
        ax.plot([], [], "D", mfc="none", mew=1.5, color="0.3",
                label=f"fitted Upsilon_L(T_BKT), {chi}")  # fmt: skip
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
        "Points: helicity modulus per size with its error; black dashed: the universal jump "
        "line 2T/pi; "
        + (
            "coloured dash-dotted: the fitted Weber-Minnhagen lines (2T/pi)[1 + 1/(2 ln L + C)] "
            "per size, open diamonds where each meets T = T_BKT (the fit asks the data to pass "
            "through them); "
            if drawn
            else ""
        )
        + "grey: T_BKT from the fit with its bootstrap error; dotted: literature value.",
        [f.path],
    )
