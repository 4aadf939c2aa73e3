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
MEASURED = ("measured_coupling", "measured_binder", "measured_binder_error")
"""Datasets of ``/curves`` with the Monte Carlo estimates at the simulated couplings."""
FIT = ("intercept", "intercept_error", "amplitude", "chi2", "dof", "nu", "omega", "extrapolated")
"""Attributes of ``/crossings`` describing the extrapolation."""


def read(fh: Any) -> dict[str, Any] | None:
    """coupling (G,), sizes (S,), binder and binder_error (S, G); the measured_* (S, R)
    estimates when stored; pairs (P, 2), crossing and crossing_error (P,) when
    ``/crossings`` exists, with scaling (P,) and the fit attributes (:data:`FIT`) when the
    file has the extrapolation; None when the file has no Binder curves."""
    if "curves" not in fh or not set(CURVES) <= set(fh["curves"]):
        return None
    names = [*CURVES, *(m for m in MEASURED if m in fh["curves"])]
    d = {k: np.asarray(fh["curves"][k][()]) for k in names}
    if "crossings" in fh and {"pairs", "estimate", "error"} <= set(fh["crossings"]):
        cr = fh["crossings"]
        d["pairs"] = np.asarray(cr["pairs"][()]).reshape(-1, 2)
        d["crossing"] = np.atleast_1d(cr["estimate"][()])
        d["crossing_error"] = np.atleast_1d(cr["error"][()])
        if "scaling_variable" in cr and set(FIT) <= set(cr.attrs):
            d["scaling"] = np.atleast_1d(cr["scaling_variable"][()])
            d["fit"] = {k: float(cr.attrs[k]) for k in FIT}
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


def _estimate(f: FileResult) -> tuple[str, float, float, float]:
    """(name, value, error, exact) of the file's critical-point estimate (the extrapolated
    one, not ``*_largest_pair``)."""
    est = estimates_of(f)
    name = next((n for n in est if not n.endswith("_largest_pair")), "")
    return (name, *est[name]) if name else ("", math.nan, math.nan, math.nan)


def _draw_curves(ax: Any, d: dict[str, Any], legend: bool) -> None:
    """Every size's curve with its error band and, when stored, its MC estimates."""
    x, u_all, e_all = d["coupling"], np.asarray(d["binder"]), np.asarray(d["binder_error"])
    for k, L in enumerate(d["sizes"]):
        ax.plot(x, u_all[k], color=f"C{k}", label=f"L = {int(L)}" if legend else None)
        ax.fill_between(
            x, u_all[k] - e_all[k], u_all[k] + e_all[k], color=f"C{k}", alpha=0.25, lw=0
        )
        if "measured_binder" in d:
            ax.errorbar(
                d["measured_coupling"][k], d["measured_binder"][k],
                yerr=d["measured_binder_error"][k], fmt="o", ms=3.5, mfc="white",
                color=f"C{k}", capsize=2, zorder=4,
            )  # fmt: skip
    if "measured_binder" in d and legend:
        ax.plot([], [], "o", ms=3.5, mfc="white", color="0.3", label="MC estimates ± error")


def _pair_markers(ax: Any, d: dict[str, Any]) -> None:
    """The crossing of every pair, on the curve of its smaller size, with its error in x."""
    x, u_all = d["coupling"], np.asarray(d["binder"])
    sizes = [int(v) for v in d["sizes"]]
    for (l1, _), c, ce in zip(d["pairs"], d["crossing"], d["crossing_error"], strict=True):
        if math.isfinite(c) and int(l1) in sizes:
            u = float(np.interp(c, x, u_all[sizes.index(int(l1))]))
            ax.errorbar([c], [u], xerr=[ce], fmt="x", color="k", ms=6, capsize=3, zorder=5)


def _extrapolation_panel(ax: Any, d: dict[str, Any], name: str, exact: float, word: str) -> None:
    """The pair crossings against the scaling variable g, the fitted line and K_c at g = 0."""
    fit, g = d["fit"], d["scaling"]
    c, ce = d["crossing"], d["crossing_error"]
    scale = 1e3
    ax.errorbar(g * scale, c, yerr=ce, fmt="o", color="C0", capsize=3, label="pair crossings")
    for (l1, l2), gi, ci in zip(d["pairs"], g, c, strict=True):
        ax.annotate(f"({int(l1)},{int(l2)})", (gi * scale, ci), xytext=(6, 4),
                    textcoords="offset points", fontsize=7)  # fmt: skip
    if fit["extrapolated"]:
        grid = np.linspace(0.0, np.nanmax(g) * 1.08, 50)
        dof = int(fit["dof"])
        label = f"fit, chi2/dof = {fit['chi2']:.2g}/{dof}" if dof else "line through the 2 pairs"
        ax.plot(grid * scale, fit["intercept"] + fit["amplitude"] * grid, "C0-", lw=1, label=label)
        value, error = fit["intercept"], fit["intercept_error"]
        ax.errorbar([0.0], [value], yerr=[error], fmt="s", color="C1", capsize=4, zorder=5,
                    label=f"L -> inf: {paren(value, error)}")  # fmt: skip
    else:
        ax.text(0.5, 0.9, "one pair only: not extrapolated", transform=ax.transAxes,
                ha="center", fontsize=8, color="0.3")  # fmt: skip
    if math.isfinite(exact):
        ax.axhline(exact, color="C3", ls="--", lw=1.2, label=f"{word} {fmt(exact, 7)}")
    top = float(np.nanmax(g)) * scale
    ax.set_xlim(-0.08 * top, 1.2 * top)  # room for the g = 0 point and the pair labels
    ax.set_xlabel(
        f"scaling variable g(L1, L2) x 1e3  (nu = {fit['nu']:g}, omega = {fit['omega']:g})"
    )
    ax.set_ylabel(f"crossing {name}*(L1, L2)")
    ax.set_title("extrapolation of the crossings")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)


def plot(f: FileResult, path: Path) -> Figure:
    """Binder cumulants U_L against the coupling for every size with the MC estimates
    (left), a zoom on the crossings (middle) and the crossings extrapolated in the scaling
    variable (right, when the file has the extrapolation)."""
    import matplotlib.pyplot as plt  # reading the curves needs no matplotlib

    d = f.curves["binder"]
    system = json.loads(f.config_json).get("system", "")
    xlabel = "hopping coupling beta" if system == "phi4" else "coupling K = J / k_B T"
    has_fit = "fit" in d
    fig, axes = plt.subplots(
        1, 3 if has_fit else 2, figsize=(15, 4.8) if has_fit else (10, 4.6), layout="constrained"
    )
    x, u_all, e_all = d["coupling"], np.asarray(d["binder"]), np.asarray(d["binder_error"])
    name, value, error, exact = _estimate(f)
    word = reference_word(next((r.reference_kind for r in f.records), "none"))
    extrapolated = has_fit and bool(d["fit"]["extrapolated"])
    what = "extrapolated to L -> inf" if extrapolated else "crossing of the two largest sizes"
    for panel, ax in enumerate(axes[:2]):
        _draw_curves(ax, d, legend=panel == 0)
        if math.isfinite(value):
            ax.axvspan(value - error, value + error, color="0.5", alpha=0.3, lw=0)
            label = f"{name} ({what}): {paren(value, error)}" if panel == 0 else None
            ax.axvline(value, color="0.3", lw=1, label=label)
        if math.isfinite(exact):
            label = f"{word} {name} = {fmt(exact, 7)}" if panel == 0 else None
            ax.axvline(exact, color="C3", ls="--", lw=1.2, label=label)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Binder cumulant U_L = 1 - <m^4>/(3<m^2>^2)")
    axes[0].set_title("all couplings")
    crossings = np.asarray(d.get("crossing", []), dtype=float)
    centre = value if math.isfinite(value) else exact
    if math.isfinite(centre):
        half = max(6 * (error if math.isfinite(error) else 0.0), 0.06 * (x.max() - x.min()))
        for other in (exact, *crossings[-2:]):
            if math.isfinite(other):
                half = max(half, 1.4 * abs(other - centre))
        lo, hi = centre - half, centre + half
        axes[1].set_xlim(lo, hi)
        if (lim := _zoom_limits(x, u_all, e_all, lo, hi)) is not None:
            axes[1].set_ylim(*lim)
        if "pairs" in d:
            _pair_markers(axes[1], d)
            axes[1].plot([], [], "x", color="k", label="crossing of a pair (on its smaller L)")
        axes[1].set_title("zoom on the crossings")
    else:
        axes[1].set_visible(False)
    if has_fit:
        _extrapolation_panel(axes[2], d, name, exact, word)
    fig.suptitle(f"Binder cumulants, {run_title(f)}")
    handles = [h for ax in axes[:2] for h in ax.get_legend_handles_labels()[0]]
    labels = [t for ax in axes[:2] for t in ax.get_legend_handles_labels()[1]]
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8)
    caption = (
        "Left: Binder cumulant per size (lines, with the bootstrap error band) "
        + (
            "and the Monte Carlo estimates at the simulated couplings (open points); "
            if "measured_binder" in d
            else "; "
        )
        + "middle: zoom, crosses mark the crossing of each pair of consecutive sizes; grey: "
        + (
            "the estimate, the crossings extrapolated to infinite size, and its error"
            if extrapolated
            else "the estimate, the crossing of the two largest sizes, and its error"
        )
        + f"; dashed: {word} critical point."
    )
    if has_fit:
        caption += (
            " Right: the crossings against the scaling variable g(L1, L2) = (L1^-omega - "
            "L2^-omega)/(L2^(1/nu) - L1^(1/nu)) ~ L^-(1/nu + omega), in which they are linear, "
            + (
                "the correlated fit (line) and its value at g = 0 (square, bootstrap error)."
                if extrapolated
                else "a single pair: not extrapolated."
            )
        )
    return Figure(save(fig, path), "binder", f"Binder cumulants of {f.path}", caption, [f.path])
