"""Continuum extrapolation of a ``critical --method continuum`` file: plot data and figure."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from rgpipe.analysis.figure import Figure, estimates_of, fmt, paren, run_title, save
from rgpipe.analysis.records import FileResult


def read(fh: Any) -> dict[str, Any] | None:
    """Every dataset of ``/points``: a (P,), energy, energy_error, gap, gap_error (P,); None
    when the file has no ``/points/a``."""
    if "points" not in fh or "a" not in fh["points"]:
        return None
    return {k: np.asarray(v[()]) for k, v in fh["points"].items()}


def plot(f: FileResult, path: Path) -> Figure:
    """E0 and the gap against a^2 with the fit in powers of a and the a = 0 estimate."""
    import matplotlib.pyplot as plt

    from rgpipe.physics.oscillator import extrapolate_continuum

    d = f.curves["continuum"]
    powers = tuple(json.loads(f.config_json).get("powers", [0, 2]))
    est = estimates_of(f)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    a = np.asarray(d["a"], dtype=float)
    for ax, (obs, name, label) in zip(
        axes,
        (("energy", "E0", "ground-state energy E0"), ("gap", "gap", "gap E1 - E0")),
        strict=True,
    ):
        if obs not in d:
            ax.set_visible(False)
            continue
        y, e = np.asarray(d[obs], float), np.asarray(d[f"{obs}_error"], float)
        ax.errorbar(a**2, y, yerr=e, fmt="o", capsize=3, label="runs at lattice spacing a")
        ok = np.isfinite(y) & np.isfinite(e) & (e > 0)
        if ok.sum() >= len(powers):
            fit = extrapolate_continuum(list(zip(a[ok], y[ok], e[ok], strict=True)), powers)
            grid = np.linspace(0.0, a.max() * 1.05, 100)
            design = grid[:, None] ** np.array(fit.powers)[None, :]
            mean = design @ fit.coeffs
            sd = np.sqrt(np.einsum("ij,jk,ik->i", design, fit.covariance, design))
            terms = " + ".join("c0" if p == 0 else f"c{p} a^{p}" for p in fit.powers)
            ax.plot(grid**2, mean, "C0-", lw=1, label=f"fit {terms}")
            ax.fill_between(grid**2, mean - sd, mean + sd, color="C0", alpha=0.2, lw=0)
        value, error, exact = est.get(name, (np.nan,) * 3)
        if math.isfinite(value):
            ax.errorbar(
                [0.0],
                [value],
                yerr=[error],
                fmt="s",
                color="C1",
                capsize=4,
                label=f"a -> 0: {paren(value, error)}",
            )
        if math.isfinite(exact):
            ax.axhline(exact, color="C3", ls="--", lw=1.2, label=f"exact {fmt(exact, 7)}")
        ax.set_xlabel("a^2 (lattice spacing squared)")
        ax.set_ylabel(f"{label} (hbar = 1)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Continuum extrapolation, {run_title(f)}")
    return Figure(
        save(fig, path),
        "continuum",
        f"Continuum extrapolation of {f.path}",
        f"Points: runs at several lattice spacings; line and band: weighted fit in powers "
        f"{list(powers)} of a; square: the a = 0 value; dashed: exact diagonalisation.",
        [f.path],
    )
