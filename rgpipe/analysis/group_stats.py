"""The statistics of one group of runs: mean, spread, bootstrap interval, bias against the
reference value and chi^2 checks (:func:`group_statistics`)."""

from __future__ import annotations

import hashlib
import math
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from rgpipe.analysis.records import CONFIDENCE, GroupStats, Record


def bootstrap_ci(
    values: np.ndarray, n_boot: int, rng: np.random.Generator, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """BCa bootstrap interval of the mean (scipy.stats.bootstrap); NaN for fewer than two
    values; a point interval when all values are equal."""
    from scipy.stats import bootstrap

    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return float("nan"), float("nan")
    if np.ptp(x) == 0.0:
        return float(x[0]), float(x[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap(
            (x,),
            np.mean,
            n_resamples=n_boot,
            confidence_level=confidence,
            method="BCa",
            vectorized=True,
            rng=rng,
        )
    ci = res.confidence_interval
    return float(ci.low), float(ci.high)


def group_statistics(
    values: np.ndarray,
    errors: np.ndarray,
    exact: float,
    n_failed: int,
    n_boot: int,
    rng: np.random.Generator,
    confidence: float = CONFIDENCE,
    *,
    literature: bool = False,
) -> GroupStats:
    """Statistics of the ok values of one group (see :class:`GroupStats`).

    Args:
        values: (n,) finite values of the ok runs.
        errors: (n,) their standard errors (NaN or <= 0 where unknown).
        exact: reference value (NaN unknown).
        n_failed: failed runs of the group (counted only).
        n_boot: bootstrap resamples.
        rng: generator of the bootstrap.
        literature: ``exact`` is a literature value of unknown accuracy: the bias and the
            relative bias are computed, the chi^2 against it (a bias in units of the
            errors) is not.
    """
    from scipy.stats import chi2 as chi2_dist

    x = np.asarray(values, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    n = x.size
    nan = float("nan")
    mean = float(x.mean()) if n else nan
    std = float(x.std(ddof=1)) if n > 1 else nan
    sem = std / math.sqrt(n) if n > 1 else nan
    bias = mean - exact
    rel = bias / abs(exact) if math.isfinite(exact) and exact != 0.0 else nan
    lo, hi = bootstrap_ci(x, n_boot, rng, confidence)
    has = np.isfinite(e) & (e > 0)
    nw = int(has.sum())
    wmean = werr = chi2_ex = p_ex = chi2_in = nan
    if nw:
        w = 1.0 / e[has] ** 2
        wmean = float(np.sum(w * x[has]) / np.sum(w))
        werr = float(1.0 / math.sqrt(np.sum(w)))
        chi2_in = float(np.sum(w * (x[has] - wmean) ** 2)) if nw > 1 else nan
        if math.isfinite(exact) and not literature:
            chi2_ex = float(np.sum(w * (x[has] - exact) ** 2))
            p_ex = float(chi2_dist.sf(chi2_ex, nw))
    return GroupStats(
        n_runs=n + int(n_failed),
        n=n,
        n_failed=int(n_failed),
        mean=mean,
        std=std,
        sem=sem,
        exact=float(exact),
        bias=bias,
        bias_error=sem if n > 1 else (werr if n == 1 else nan),
        relative_bias=rel,
        ci_low=lo,
        ci_high=hi,
        confidence=confidence,
        n_weighted=nw,
        weighted_mean=wmean,
        weighted_error=werr,
        chi2_exact=chi2_ex,
        dof_exact=nw if math.isfinite(chi2_ex) else 0,
        p_exact=p_ex,
        chi2_internal=chi2_in,
        dof_internal=max(nw - 1, 0),
    )


def group_exact(records: Sequence[Record]) -> float:
    """The common reference value of a group's records (NaN if unknown or ambiguous)."""
    vals = {r.exact for r in records if math.isfinite(r.exact)}
    if len(vals) > 1:
        print(
            f"rgpipe aggregate: records of {records[0].system} {records[0].estimate} disagree on "
            f"the exact value {sorted(vals)}; the bias is left NaN",
            file=sys.stderr,
        )
        return float("nan")
    return vals.pop() if vals else float("nan")


def group_reference_kind(records: Sequence[Record]) -> str:
    """``literature`` if any record with a reference value has a literature value, else
    ``exact`` if any has one, else ``none``."""
    kinds = {r.reference_kind for r in records if math.isfinite(r.exact)}
    return "literature" if "literature" in kinds else ("exact" if kinds else "none")


def group_rng(seed: int, key: str) -> np.random.Generator:
    """A bootstrap generator depending only on the seed and the group's identity."""
    words = np.frombuffer(hashlib.sha256(key.encode()).digest()[:16], dtype=np.uint32)
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, words)]))
