"""Monte Carlo estimates against the exact values of the same finite lattice.

A Monte Carlo file (stage ``mc``) stores next to an estimate's mean and error the exact value
of the same finite system wherever one is known (``/estimates/<name>/exact``, kind
``exact``).  One :class:`Comparison` holds one estimate of one file point by point;
:func:`check` gives its :class:`PullStats`; :func:`roll_up` adds the checks of every file of
one (system, estimate).

The statistics:

* pull = (mean - exact)/error with the autocorrelation-corrected error the file stores; a
  point is *compared* when its mean is finite, its error finite and > 0 and its exact value
  finite (elsewhere the file says why: NaN errors carry a status code);
* chi2 = sum of pull^2 over the compared points, dof = their number (nothing is fitted and
  the exact values have no error);
* points at different values of the swept parameter come from independent chains (each
  its own random start and stream), so their pulls are independent and chi2 follows
  chi^2(dof) when the errors are right: p = P(chi^2_dof > chi2).  Points along a further
  axis of an array estimate (e.g. the correlator C(tau) over Euclidean time) come from one
  chain and are strongly correlated: their chi2/dof still has mean 1, but not the chi^2
  distribution, and the file holds no covariance, so p is not computed (NaN) there;
* p_max = min(1, n P(|Z| > max |pull|)), the Bonferroni bound on the chance that the
  largest of n standard-normal |pulls| is at least as large: valid for correlated pulls
  too;
* verdict ``fail`` when p < :data:`FLAG_P` or p_max < :data:`FLAG_P`, ``pass`` otherwise,
  ``none`` when no point is compared.  Under correct errors a check fails with
  probability at most 2 :data:`FLAG_P`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

FLAG_P = 1e-3
"""A check fails when its chi^2 p-value or its max-|pull| bound p_max is below this."""

VERDICTS = ("pass", "fail", "none")
"""Possible verdicts: consistent, inconsistent (p or p_max < FLAG_P), nothing compared."""


@dataclass
class Comparison:
    """One estimate of one Monte Carlo file and its exact values, point by point.

    Every array is flattened (C order) over the estimate's shape (n_p, ...): the swept
    parameter first, then a further axis of an array estimate (e.g. tau).

    Attributes:
        path: the file.
        system: ``<system>/<lattice>`` or ``<system>`` (as in the summary table).
        estimate: the estimate's name.
        units: its units ('' when not stored).
        reference: the source of the exact values.
        parameter: name of the swept parameter (e.g. ``coupling``).
        parameter_values: float64 (n,) the parameter at every point.
        axis: name of the further axis ('' for a scalar estimate per parameter point).
        axis_values: float64 (n,) its value at every point (NaN without one).
        mean, error, exact: float64 (n,) the file's mean, error of the mean and exact value
            (units of the estimate; NaN where missing).
        status: int (n,) the stored status codes (0: estimated; 0 everywhere when the file
            stores none).
        meaning: status code -> what it means (from the file).
    """

    path: str
    system: str
    estimate: str
    units: str
    reference: str
    parameter: str
    parameter_values: np.ndarray
    axis: str
    axis_values: np.ndarray
    mean: np.ndarray
    error: np.ndarray
    exact: np.ndarray
    status: np.ndarray
    meaning: dict[int, str] = field(default_factory=dict)

    @property
    def correlated(self) -> bool:
        """True when some compared points share a Markov chain (two or more at one
        parameter value, along the further axis), so that their pulls are correlated."""
        par = self.parameter_values[self.compared()]
        return bool(self.axis) and len(par) > len(np.unique(par))

    def compared(self) -> np.ndarray:
        """bool (n,): finite mean, finite error > 0 and finite exact value."""
        with np.errstate(invalid="ignore"):
            return (
                np.isfinite(self.mean)
                & np.isfinite(self.error)
                & (self.error > 0)
                & np.isfinite(self.exact)
            )

    def pulls(self) -> np.ndarray:
        """float64 (n,): (mean - exact)/error at the compared points, NaN elsewhere."""
        ok = self.compared()
        out = np.full(self.mean.shape, np.nan)
        out[ok] = (self.mean[ok] - self.exact[ok]) / self.error[ok]
        return out

    def labels(self) -> list[str]:
        """Where each point lies, e.g. ``coupling=0.44`` or ``a=0.2, tau=1.6``."""
        out = []
        for p, a in zip(self.parameter_values, self.axis_values, strict=True):
            text = f"{self.parameter}={p:.6g}"
            out.append(text + (f", {self.axis}={a:.6g}" if self.axis else ""))
        return out

    def points_text(self) -> str:
        """The compared points in a few words, e.g. ``coupling 0.42 ... 0.46 (9 points)``,
        ``a=0.2 (1 point)`` or ``tau 0 ... 30 at a=0.2 (151 points)``."""
        ok = self.compared()
        n = int(ok.sum())
        if not n:
            return "none"
        par = np.unique(self.parameter_values[ok])
        if self.axis:
            ax = self.axis_values[ok]
            where = _span(self.axis, np.unique(ax)) + " at " + _span(self.parameter, par)
        else:
            where = _span(self.parameter, par)
        return f"{where} ({n} point{'s' * (n != 1)})"

    def excluded(self) -> dict[str, int]:
        """Points with a finite exact value that are not compared: reason -> count (the
        file's status meaning where it stores one, else what is missing)."""
        ok = self.compared()
        out: dict[str, int] = {}
        for i in np.flatnonzero(np.isfinite(self.exact) & ~ok):
            code = int(self.status[i])
            if code and code in self.meaning:
                why = self.meaning[code]
            elif not np.isfinite(self.mean[i]):
                why = "mean is NaN"
            elif not np.isfinite(self.error[i]):
                why = "error is NaN"
            else:
                why = "error is not > 0"
            out[why] = out.get(why, 0) + 1
        return out


def _span(name: str, values: np.ndarray) -> str:
    """``name=v`` for one value, ``name v0 ... v1`` for several (sorted)."""
    if len(values) == 1:
        return f"{name}={values[0]:.6g}"
    return f"{name} {values[0]:.6g} ... {values[-1]:.6g}"


def p_text(p: float) -> str:
    """A probability to two significant digits; ``< 1e-300`` where it underflowed to 0."""
    return "< 1e-300" if p == 0.0 else f"{p:.2g}"


@dataclass(frozen=True)
class PullStats:
    """The pulls of a set of points against their exact values.

    Attributes:
        n_points: points of the estimate(s).
        n_exact: points with a finite exact value.
        dof: points compared (finite mean, error > 0, finite exact value).
        chi2: sum of pull^2 over them (NaN when dof = 0).
        p: P(chi^2_dof > chi2), NaN when dof = 0 or some points are correlated.
        mean_pull: mean of the pulls (a common shift of every point shows here).
        max_abs_pull: the largest |pull| (NaN when dof = 0).
        worst: index (into the points) of the largest |pull|, -1 when dof = 0.
        p_max: min(1, dof P(|Z| > max_abs_pull)), Bonferroni bound, valid for correlated
            points too (NaN when dof = 0).
        correlated: some points share a chain (no chi^2 p-value).
        verdict: one of :data:`VERDICTS`.
    """

    n_points: int
    n_exact: int
    dof: int
    chi2: float
    p: float
    mean_pull: float
    max_abs_pull: float
    worst: int
    p_max: float
    correlated: bool
    verdict: str

    @property
    def reason(self) -> str:
        """Why a check failed, e.g. ``chi2 p = 2.1e-05 < 0.001`` or ``max |pull| 5.00:
        p_max = 5.7e-05 < 0.001`` ('' unless it failed)."""
        if self.verdict != "fail":
            return ""
        out = []

        def below(p: float) -> str:
            return "< 1e-300" if p == 0.0 else f"= {p:.2g} < {FLAG_P:g}"

        if self.p < FLAG_P:
            out.append(f"chi2 p {below(self.p)}")
        if self.p_max < FLAG_P:
            out.append(f"max |pull| {self.max_abs_pull:.2f}: p_max {below(self.p_max)}")
        return "; ".join(out)


def pull_stats(pulls: np.ndarray, n_exact: int, correlated: bool) -> PullStats:
    """The statistics of ``pulls`` (see the module docstring).

    Args:
        pulls: float64 (n,) pulls, NaN at points not compared.
        n_exact: points with a finite exact value.
        correlated: some of the points share a chain (then p is NaN).
    """
    from scipy.stats import chi2 as chi2_dist
    from scipy.stats import norm

    pulls = np.asarray(pulls, dtype=np.float64)
    ok = np.isfinite(pulls)
    dof = int(ok.sum())
    if not dof:
        nan = float("nan")
        return PullStats(len(pulls), n_exact, 0, nan, nan, nan, nan, -1, nan, correlated, "none")
    x = pulls[ok]
    chi2 = float(np.sum(x**2))
    p = float("nan") if correlated else float(chi2_dist.sf(chi2, dof))
    worst = int(np.flatnonzero(ok)[np.argmax(np.abs(x))])
    max_abs = float(abs(pulls[worst]))
    p_max = float(min(1.0, dof * 2.0 * norm.sf(max_abs)))
    failed = (math.isfinite(p) and p < FLAG_P) or p_max < FLAG_P
    return PullStats(
        n_points=len(pulls),
        n_exact=n_exact,
        dof=dof,
        chi2=chi2,
        p=p,
        mean_pull=float(np.mean(x)),
        max_abs_pull=max_abs,
        worst=worst,
        p_max=p_max,
        correlated=correlated,
        verdict="fail" if failed else "pass",
    )


@dataclass
class Check:
    """One estimate of one Monte Carlo file checked against its exact values."""

    comparison: Comparison
    stats: PullStats

    @property
    def worst_label(self) -> str:
        """Where the largest |pull| lies ('' when nothing is compared)."""
        w = self.stats.worst
        return self.comparison.labels()[w] if w >= 0 else ""


def check(c: Comparison) -> Check:
    """The statistics of one comparison."""
    n_exact = int(np.isfinite(c.exact).sum())
    return Check(c, pull_stats(c.pulls(), n_exact, c.correlated))


@dataclass
class RollUp:
    """Every file's check of one (system, estimate), added up.

    Attributes:
        system, estimate, units: as in :class:`Comparison`.
        checks: indices of the checks (into the list :func:`roll_up` was given).
        stats: the statistics of all their points together (files are independent runs,
            so their chi2 and dof add).
        worst_path, worst_label: the file and point of the largest |pull| ('' when none).
    """

    system: str
    estimate: str
    units: str
    checks: list[int]
    stats: PullStats
    worst_path: str = ""
    worst_label: str = ""


def roll_up(checks: Sequence[Check]) -> list[RollUp]:
    """One :class:`RollUp` per (system, estimate) of ``checks``, in order of first
    appearance."""
    by_key: dict[tuple[str, str], list[int]] = {}
    for i, c in enumerate(checks):
        by_key.setdefault((c.comparison.system, c.comparison.estimate), []).append(i)
    out = []
    for (system, estimate), idx in by_key.items():
        parts = [checks[i] for i in idx]
        pulls = np.concatenate([c.comparison.pulls() for c in parts])
        where = [(c.comparison.path, label) for c in parts for label in c.comparison.labels()]
        stats = pull_stats(
            pulls,
            sum(c.stats.n_exact for c in parts),
            any(c.stats.correlated for c in parts),
        )
        path, label = where[stats.worst] if stats.worst >= 0 else ("", "")
        units = next((c.comparison.units for c in parts if c.comparison.units), "")
        out.append(RollUp(system, estimate, units, idx, stats, path, label))
    return out


def natural_key(text: str) -> tuple:
    """Sort key ordering the numbers inside ``text`` numerically (``L~8`` before ``L~16``)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def validate(comparisons: Sequence[Comparison]) -> tuple[list[Check], list[RollUp]]:
    """Every comparison's check, ordered by system, estimate and file (numbers in paths
    numerically), and the roll-up per (system, estimate)."""
    ordered = sorted(comparisons, key=lambda c: (c.system, c.estimate, natural_key(c.path)))
    checks = [check(c) for c in ordered]
    return checks, roll_up(checks)
