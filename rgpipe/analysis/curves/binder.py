"""Binder cumulants of a ``critical --method binder`` file: their plot data and figure."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from rgpipe.analysis.figure import Figure, estimates_of, fmt, paren, reference_word, run_title, save
from rgpipe.analysis.records import FileResult

CURVES = ("coupling", "sizes", "binder", "binder_error")
"""Datasets of ``/curves`` the figure needs."""


def read(fh: Any) -> dict[str, Any] | None:
    """coupling (G,), sizes (S,), binder and binder_error (S, G); pairs (P, 2), crossing and
    crossing_error (P,) when ``/crossings`` exists; None when the file has no Binder curves."""
    if "curves" not in fh or not set(CURVES) <= set(fh["curves"]):
        return None
    d = {k: np.asarray(fh["curves"][k][()]) for k in CURVES}
    if "crossings" in fh and {"pairs", "estimate", "error"} <= set(fh["crossings"]):
        cr = fh["crossings"]
        d["pairs"] = np.asarray(cr["pairs"][()]).reshape(-1, 2)
        d["crossing"] = np.atleast_1d(cr["estimate"][()])
        d["crossing_error"] = np.atleast_1d(cr["error"][()])
    return d


def _zoom_limits(
    x: np.ndarray, curves: np.ndarray, errors: np.ndarray, lo: float, hi: float
) -> tuple[float, float] | None:
    """y-limits of the curves (S, G) with their error bands inside lo <= x <= hi (x: (G,)),
    padded by 10%; None when no x lies inside."""
    inside = (x >= lo) & (x <= hi)
    if not inside.any():
        return None
    ylo = np.nanmin(curves[:, inside] - errors[:, inside])
    yhi = np.nanmax(curves[:, inside] + errors[:, inside])
    pad = 0.1 * (yhi - ylo) or 0.01
    return ylo - pad, yhi + pad


def plot(f: FileResult, path: Path) -> Figure:
    """Binder cumulants U_L against the coupling for every size (left) and a zoom on the
    crossing of the two largest sizes (right)."""
    import matplotlib.pyplot as plt  # reading the curves needs no matplotlib

    d = f.curves["binder"]
    system = json.loads(f.config_json).get("system", "")
    xlabel = "hopping coupling beta" if system == "phi4" else "coupling K = J / k_B T"
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
    x, u_all, e_all = d["coupling"], np.asarray(d["binder"]), np.asarray(d["binder_error"])
    name, (_, _, exact) = next(iter(estimates_of(f).items()), ("", (np.nan,) * 3))
    word = reference_word(next((r.reference_kind for r in f.records), "none"))
    crossing = None
    if "crossing" in d and len(d["crossing"]):
        crossing = (float(d["crossing"][-1]), float(d["crossing_error"][-1]))
    for panel, ax in enumerate(axes):
        for k, L in enumerate(d["sizes"]):
            label = f"L = {int(L)}" if panel == 0 else None
            ax.plot(x, u_all[k], color=f"C{k}", label=label)
            ax.fill_between(
                x, u_all[k] - e_all[k], u_all[k] + e_all[k], color=f"C{k}", alpha=0.25, lw=0
            )
        if crossing is not None and math.isfinite(crossing[0]):
            c, ce = crossing
            L1, L2 = (int(v) for v in d["pairs"][-1])
            ax.axvspan(c - ce, c + ce, color="0.5", alpha=0.3, lw=0)
            label = f"crossing L = {L1}, {L2}: {paren(c, ce)}" if panel == 0 else None
            ax.axvline(c, color="0.3", lw=1, label=label)
        if math.isfinite(exact):
            label = f"{word} {name} = {fmt(exact, 7)}" if panel == 0 else None
            ax.axvline(exact, color="C3", ls="--", lw=1.2, label=label)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Binder cumulant U_L = 1 - <m^4>/(3<m^2>^2)")
    axes[0].set_title("all couplings")
    centre = crossing[0] if crossing and math.isfinite(crossing[0]) else exact
    if math.isfinite(centre):
        half = max(6 * (crossing[1] if crossing and math.isfinite(crossing[1]) else 0.0),
                   0.06 * (x.max() - x.min()))  # fmt: skip
        if math.isfinite(exact):
            half = max(half, 1.5 * abs(exact - centre))
        lo, hi = centre - half, centre + half
        axes[1].set_xlim(lo, hi)
        if (lim := _zoom_limits(x, u_all, e_all, lo, hi)) is not None:
            axes[1].set_ylim(*lim)
        axes[1].set_title("zoom on the crossing")
    else:
        axes[1].set_visible(False)
    fig.suptitle(f"Binder cumulants, {run_title(f)}")
    fig.legend(loc="outside lower center", ncols=3, fontsize=8)
    return Figure(
        save(fig, path),
        "binder",
        f"Binder cumulants of {f.path}",
        "Lines: Binder cumulant per size with its bootstrap error band (left: whole sweep, "
        "right: zoom); grey: crossing of the two largest sizes and its error; dashed: "
        f"{word} critical point.",
        [f.path],
    )
