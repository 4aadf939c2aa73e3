"""The report's section "Monte Carlo against exact finite-lattice values" as text: its
title and note, and the text cells of its two tables (per system and estimate, per file and
estimate); :mod:`.report` renders them as HTML and Markdown."""

from __future__ import annotations

import math
from pathlib import Path

from rgpipe.analysis.records import Summary
from rgpipe.analysis.validation import FLAG_P, PullStats, p_text

TITLE = "Monte Carlo against exact finite-lattice values"
"""Heading of the section."""

NOTE = (
    "Every Monte Carlo file's estimates against the exact values of the same finite lattice "
    "(same size, boundary conditions and discretisation), point by point. pull = (mean - "
    "exact)/error with the file's autocorrelation-corrected error; compared are the points "
    "with a finite mean, an error > 0 and a finite exact value (the others are counted "
    "under excluded, with the file's reason). chi2 = sum of pull^2, dof = the points "
    "compared, p = P(chi^2_dof > chi2): points at different parameter values are "
    "independent chains. Points along tau of one array estimate share a chain and are "
    "correlated: chi2/dof is shown, but no p (marked correlated). max |pull| is tested for "
    "every check by the Bonferroni bound p_max = dof P(|Z| > max |pull|). A check FAILS "
    f"when p < {FLAG_P:g} or p_max < {FLAG_P:g}. These files are validation only: they "
    "enter no group of the summary."
)
"""The explanation printed above the tables."""

SYSTEM_HEADER = [
    "#", "system", "estimate", "files", "chi2/dof", "p", "mean pull", "max |pull|", "where",
    "verdict",
]  # fmt: skip
"""Columns of the roll-up table (one row per system and estimate, every file together)."""

CHECK_HEADER = [
    "#", "system", "estimate", "file", "points compared", "chi2/dof", "p", "mean pull",
    "max |pull|", "at", "excluded", "verdict",
]  # fmt: skip
"""Columns of the per-file table (one row per Monte Carlo file and estimate)."""

NUMERIC = {"files", "chi2/dof", "p", "mean pull", "max |pull|"}
"""Columns of these tables set right-aligned."""


def short_path(path: str) -> str:
    """The last three levels of a path, e.g. ``square/L~8/seed~1.h5``."""
    return "/".join(Path(path).parts[-3:])


def _chi2(s: PullStats) -> str:
    return f"{s.chi2:.4g}/{s.dof} = {s.chi2 / s.dof:.2f}" if s.dof else ""


def _p(s: PullStats) -> str:
    if not s.dof:
        return ""
    return "- (correlated)" if s.correlated else p_text(s.p)


def _pull(value: float) -> str:
    return f"{value:+.2f}" if math.isfinite(value) else ""


def verdict(s: PullStats) -> str:
    """``pass``, ``FAIL: <reason>`` or ``none``."""
    return f"FAIL: {s.reason}" if s.verdict == "fail" else s.verdict


def _short_reason(why: str) -> str:
    """A stored reason up to its first colon (``error not estimable``)."""
    return why.split(":", 1)[0].strip()


def system_rows(summary: Summary) -> list[list[str]]:
    """Text cells of :data:`SYSTEM_HEADER`, one row per (system, estimate)."""
    rows = []
    for r, ru in enumerate(summary.rollups):
        s = ru.stats
        where = f"{short_path(ru.worst_path)}, {ru.worst_label}" if ru.worst_path else ""
        rows.append(
            [
                str(r), ru.system, ru.estimate, str(len(ru.checks)), _chi2(s),
                _p(s), _pull(s.mean_pull), _pull(s.max_abs_pull).lstrip("+"), where,
                verdict(s),
            ]
        )  # fmt: skip
    return rows


def check_rows(summary: Summary) -> tuple[list[list[str]], list[int]]:
    """Text cells of :data:`CHECK_HEADER`, one row per check, and the index of each row's
    file in the input-file table."""
    file_index = {f.path: k for k, f in enumerate(summary.files)}
    rows, files = [], []
    for i, chk in enumerate(summary.checks):
        c, s = chk.comparison, chk.stats
        excluded = c.excluded()
        n_excluded = sum(excluded.values())
        text = (
            f"{n_excluded}: " + "; ".join(f"{n} {_short_reason(w)}" for w, n in excluded.items())
            if n_excluded
            else "0"
        )
        rows.append(
            [
                str(i), c.system, c.estimate, short_path(c.path), c.points_text(), _chi2(s),
                _p(s), _pull(s.mean_pull), _pull(s.max_abs_pull).lstrip("+"),
                chk.worst_label, text, verdict(s),
            ]
        )  # fmt: skip
        files.append(file_index.get(c.path, -1))
    return rows, files


def counts_text(summary: Summary) -> str:
    """How many Monte Carlo files were read, how many had exact values, checks, failures."""
    mc = [f for f in summary.files if f.stage == "mc" and f.status == "ok"]
    with_exact = {c.comparison.path for c in summary.checks}
    failed = sum(c.stats.verdict == "fail" for c in summary.checks)
    if not mc:
        return "No Monte Carlo file among the inputs."
    return (
        f"{len(mc)} Monte Carlo files read, {len(with_exact)} with exact values: "
        f"{len(summary.checks)} checks (file and estimate), {failed} failed; "
        f"{len(summary.rollups)} systems and estimates, "
        f"{sum(r.stats.verdict == 'fail' for r in summary.rollups)} failed."
    )
