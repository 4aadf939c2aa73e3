"""The figure of the Monte Carlo validation: the pull of every compared point, one row per
(system, estimate), with the |pull| < 2 and < 3 bands (``pulls.png``, figure kind
:data:`rgpipe.analysis.figure.PULLS`, shown in the report's validation section rather than
among the figures)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from rgpipe.analysis.figure import PULLS, Figure, save
from rgpipe.analysis.records import Summary
from rgpipe.analysis.validation import PullStats, p_text


def _row_note(s: PullStats) -> str:
    """chi2/dof, p (``correlated`` instead when points share a chain) and a failed verdict
    of one row, for the right margin."""
    text = f"chi2/dof {s.chi2 / s.dof:.2f}"
    text += ", correlated" if s.correlated else f", p {p_text(s.p)}"
    return text + (" FAIL" if s.verdict == "fail" else "")


def _limit(pulls: list[np.ndarray]) -> float:
    """Half-width of the pull axis: the largest |pull| with a margin, at least 4, at most 8."""
    finite = [np.abs(p[np.isfinite(p)]) for p in pulls]
    top = max((float(a.max()) for a in finite if a.size), default=0.0)
    return min(max(4.0, math.ceil(top + 0.5)), 8.0)


def pull_figure(summary: Summary, outdir: Path) -> Figure | None:
    """Every compared point's pull, rows by (system, estimate), one line per file within a
    row (in the order of the validation table); None without checks."""
    rows = [ru for ru in summary.rollups if ru.stats.dof]
    if not rows:
        return None
    pulls = {i: summary.checks[i].comparison.pulls() for ru in rows for i in ru.checks}
    lim = _limit(list(pulls.values()))
    fig, ax = plt.subplots(figsize=(9.5, 1.3 + 0.42 * len(rows)), layout="constrained")
    ax.axvspan(-3, 3, color="C2", alpha=0.10, lw=0, label="|pull| < 3")
    ax.axvspan(-2, 2, color="C2", alpha=0.18, lw=0, label="|pull| < 2")
    ax.axvline(0.0, color="k", lw=0.8)
    y_rows = np.arange(len(rows))[::-1].astype(float)
    for y0, ru in zip(y_rows, rows, strict=True):
        n = len(ru.checks)
        for j, i in enumerate(ru.checks):
            chk = summary.checks[i]
            p = pulls[i][np.isfinite(pulls[i])]
            y = y0 + (0.0 if n == 1 else 0.6 * ((j + 0.5) / n - 0.5))
            color = "C3" if chk.stats.verdict == "fail" else "C0"
            dense = p.size > 20
            inside = np.abs(p) <= lim
            ax.plot(
                p[inside], np.full(inside.sum(), y), "|" if dense else "o", color=color,
                ms=7 if dense else 4, alpha=0.5 if dense else 0.85, mew=1,
            )  # fmt: skip
            for x in p[~inside]:
                ax.plot(np.sign(x) * lim, y, ">" if x > 0 else "<", color="C3", ms=6, clip_on=False)
                ax.annotate(
                    f"{x:+.1f}", (np.sign(x) * lim, y), xytext=(-4 * np.sign(x), 5),
                    textcoords="offset points", ha="right" if x > 0 else "left",
                    fontsize=7, color="C3",
                )  # fmt: skip
        ax.annotate(
            _row_note(ru.stats), (1.01, y0), xycoords=("axes fraction", "data"),
            va="center", fontsize=7.5, color="C3" if ru.stats.verdict == "fail" else "0.25",
        )  # fmt: skip
    ax.set_yticks(y_rows, [f"{ru.system} {ru.estimate}" for ru in rows], fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(-lim, lim)
    ax.set_xlabel("pull = (mean - exact) / error")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False)
    ax.set_title("Monte Carlo against exact finite-lattice values", loc="right", fontsize=10)
    paths = sorted({summary.checks[i].comparison.path for ru in rows for i in ru.checks})
    caption = (
        "The pull (mean - exact)/error of every compared point, with each file's "
        "autocorrelation-corrected error: one row per system and estimate, within a row one "
        "line per Monte Carlo file in the order of the validation table; dots for scalar "
        "estimates, ticks for the many points of an array estimate along tau. Shaded: "
        "|pull| < 2 and < 3. Red: points of a check that failed; triangles at the edge: "
        "pulls beyond the axis, with their value. Right: chi2/dof of the row and its chi^2 "
        "p-value (none for points that share a chain: the verdict rests on max |pull|)."
    )
    return Figure(
        save(fig, outdir / "pulls.png"),
        PULLS,
        "Monte Carlo against exact values: pulls",
        caption,
        paths,
    )
