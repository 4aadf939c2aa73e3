"""The aggregate stage's tables: their columns (with meanings) and one row per group, per
record and per input file, as written to the summary HDF5 file and CSV; and the Monte
Carlo validation (one row per file and estimate, per system and estimate, per point)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from rgpipe.analysis.records import Summary
from rgpipe.analysis.validation import FLAG_P

SUMMARY_COLUMNS: dict[str, str] = {
    "group": "index of the group (row)",
    "system": "system/lattice",
    "method": "estimator",
    "estimate": "estimate name",
    "label": "swept hyper-parameters of the group, key=value joined by ', '",
    "params_json": "swept hyper-parameters as a JSON object",
    "units": "units of the estimate",
    "n_runs": "runs (records) in the group, ok + failed",
    "n": "ok runs entering the statistics",
    "n_failed": "failed runs: NaN estimate, converged = False or unreadable file",
    "mean": "mean of the ok values",
    "std": "standard deviation of the ok values (ddof = 1)",
    "sem": "standard error of the mean, std/sqrt(n)",
    "exact": "exact or literature value (NaN unknown)",
    "reference": "source of the exact value",
    "reference_kind": "exact, literature (approximate: no chi2 against it) or none",
    "bias": "mean - exact",
    "bias_error": "error of the mean and the bias: sem (n >= 2) or the single run's error",
    "relative_bias": "(mean - exact)/|exact|",
    "ci_low": "lower end of the bootstrap confidence interval of the mean (BCa)",
    "ci_high": "upper end of the bootstrap confidence interval of the mean (BCa)",
    "confidence": "confidence level of the interval",
    "n_weighted": "ok runs with a finite positive error",
    "weighted_mean": "error-weighted mean sum(x/s^2)/sum(1/s^2)",
    "weighted_error": "its error 1/sqrt(sum(1/s^2))",
    "chi2_exact": "sum((x - exact)^2/s^2) over the weighted runs (NaN against a literature value)",
    "dof_exact": "degrees of freedom of chi2_exact (= n_weighted; 0 when not computed)",
    "p_exact": "chi^2 survival probability of chi2_exact",
    "chi2_internal": "sum((x - weighted_mean)^2/s^2)",
    "dof_internal": "degrees of freedom of chi2_internal (n_weighted - 1)",
    "files": "the group's input files, joined by ';'",
}
"""Columns of the summary table (one row per group) and their meaning; followed by one column
``hp.<key>`` per swept hyper-parameter (empty where a group's system/method has no such key)."""

RECORD_COLUMNS: dict[str, str] = {
    "group": "index of the record's group in the summary table",
    "system": "system/lattice",
    "method": "estimator",
    "estimate": "estimate name",
    "value": "the run's estimate (NaN if it failed)",
    "error": "its standard error (NaN where none)",
    "exact": "exact or literature value (NaN unknown)",
    "reference": "source of the exact value",
    "reference_kind": "exact, literature (approximate) or none",
    "converged": "the run converged (1) or not (0)",
    "status": "ok, nan, not_converged or unreadable",
    "message": "why the run failed",
    "seed": "seed of the run or ensemble member (-1 unknown)",
    "member": "index in the ensemble file (-1: file-level estimate)",
    "path": "the result file",
    "stage": "stage that wrote the file",
    "config_sha256": "sha256 of the file's configuration",
    "config_json": "the file's configuration (canonical JSON)",
    "file_sha256": "sha256 of the file's bytes",
    "git_revision": "git revision of the code that wrote the file",
}
"""Columns of the per-run table (one row per run and estimate)."""

FILE_COLUMNS: dict[str, str] = {
    "path": "the input file",
    "status": "ok, unreadable (cannot be opened, or a dataset or attribute cannot be read) "
    "or skipped (stage not aggregated)",
    "message": "the error of an unreadable or skipped file; for an ok file what was not read "
    "or compared",
    "stage": "stage that wrote the file",
    "sha256": "sha256 of the file's bytes",
    "git_revision": "git revision of the code that wrote the file",
    "config_sha256": "sha256 of the file's configuration",
}
"""Columns of the input-file table."""


def summary_rows(summary: Summary) -> list[dict[str, Any]]:
    """One dictionary per group with the keys of :data:`SUMMARY_COLUMNS` and ``hp.<key>``."""
    hp_names = sorted({k for g in summary.groups for k in g.params})
    rows = []
    for gi, g in enumerate(summary.groups):
        s = g.stats
        row: dict[str, Any] = {
            "group": gi,
            "system": g.system,
            "method": g.method,
            "estimate": g.estimate,
            "label": g.label,
            "params_json": json.dumps(g.params),
            "units": g.units,
            "reference": g.reference,
            "reference_kind": g.reference_kind,
            "files": ";".join(dict.fromkeys(summary.records[i].path for i in g.records)),
        }
        row = {name: row[name] if name in row else getattr(s, name) for name in SUMMARY_COLUMNS}
        row.update({f"hp.{k}": g.params.get(k, "") for k in hp_names})
        rows.append(row)
    return rows


def record_rows(summary: Summary) -> list[dict[str, Any]]:
    """One dictionary per record with the keys of :data:`RECORD_COLUMNS`."""
    group = summary.group_of()
    rows = []
    for i, r in enumerate(summary.records):
        row = {k: getattr(r, k) for k in RECORD_COLUMNS if k != "group"}
        row["group"] = int(group[i])
        row["converged"] = int(r.converged)
        rows.append({k: row[k] for k in RECORD_COLUMNS})
    return rows


def file_rows(summary: Summary) -> list[dict[str, Any]]:
    """One dictionary per input file with the keys of :data:`FILE_COLUMNS`."""
    return [{k: getattr(f, k) for k in FILE_COLUMNS} for f in summary.files]


VALIDATION_COLUMNS: dict[str, str] = {
    "check": "index of the row (one per Monte Carlo file and estimate with exact values)",
    "system": "system/lattice",
    "estimate": "estimate name",
    "units": "units of the estimate (pulls are dimensionless)",
    "path": "the Monte Carlo file",
    "file": "index of the file in the input-file table (/files)",
    "parameter": "name of the swept parameter",
    "axis": "further axis of an array estimate, e.g. tau ('' for one value per parameter)",
    "points": "the points compared, in words",
    "n_points": "points of the estimate in the file",
    "n_exact": "points with a finite exact value",
    "dof": "points compared: finite mean, error > 0, finite exact value (= dof of chi2)",
    "n_excluded": "points with an exact value but no finite mean or positive error",
    "excluded": "why: count x reason (the file's status meaning where it stores one)",
    "chi2": "sum of pull^2, pull = (mean - exact)/error with the file's autocorrelation-"
    "corrected error (NaN when dof = 0)",
    "chi2_per_dof": "chi2/dof (expected 1 when the errors are right)",
    "p": "P(chi^2_dof > chi2) for independent points; NaN when points share a chain "
    "(correlated = 1) or dof = 0",
    "mean_pull": "mean of the pulls (a common shift of every point)",
    "max_abs_pull": "largest |pull|",
    "worst_point": "where the largest |pull| lies",
    "p_max": "min(1, dof * P(|Z| > max_abs_pull)): Bonferroni bound, valid for correlated "
    "points too",
    "correlated": "1 when points lie along a further axis of one chain (no chi2 p-value)",
    "verdict": f"fail when p < {FLAG_P:g} or p_max < {FLAG_P:g}, pass otherwise, none when dof = 0",
    "reason": "why a check failed ('' otherwise)",
    "reference": "source of the exact values",
    "rollup": "index of the row of (system, estimate) in /validation_systems",
}
"""Columns of the validation table: each Monte Carlo file's estimates against the exact
values of the same finite lattice (:mod:`rgpipe.analysis.validation`)."""

VALIDATION_SYSTEM_COLUMNS: dict[str, str] = {
    "rollup": "index of the row (one per system and estimate)",
    "system": "system/lattice",
    "estimate": "estimate name",
    "units": "units of the estimate",
    "n_files": "Monte Carlo files compared",
    "n_failed": "of them failing their own check",
    "n_points": "points of the estimate in these files",
    "n_exact": "points with a finite exact value",
    "dof": "points compared (the files' dof added)",
    "chi2": "sum of pull^2 over every file (independent runs: chi2 and dof add)",
    "chi2_per_dof": "chi2/dof",
    "p": "P(chi^2_dof > chi2); NaN when some points share a chain",
    "mean_pull": "mean of the pulls",
    "max_abs_pull": "largest |pull| of any file",
    "worst_path": "the file of the largest |pull|",
    "worst_point": "where in that file",
    "p_max": "min(1, dof * P(|Z| > max_abs_pull)) (Bonferroni)",
    "correlated": "1 when some points share a chain (no chi2 p-value)",
    "verdict": f"fail when p < {FLAG_P:g} or p_max < {FLAG_P:g}, pass otherwise, none when dof = 0",
    "reason": "why the roll-up failed ('' otherwise)",
    "checks": "its rows in /validation, joined by ';'",
}
"""Columns of the validation roll-up: every file of one (system, estimate) together."""

VALIDATION_POINT_COLUMNS: dict[str, str] = {
    "check": "row of the point's file and estimate in /validation",
    "parameter_value": "value of the swept parameter",
    "axis_value": "value on the further axis (NaN without one)",
    "mean": "the Monte Carlo mean (units of the estimate)",
    "error": "its autocorrelation-corrected error",
    "exact": "the exact value of the same finite lattice (NaN unknown)",
    "pull": "(mean - exact)/error (NaN where not compared)",
    "status": "the file's status code (0: mean and error estimated)",
    "compared": "1 when the point enters chi2",
}
"""Columns of the per-point table of the validation (every point with a finite exact
value)."""


def _excluded(counts: dict[str, int]) -> str:
    return "; ".join(f"{n} x {why}" for why, n in counts.items())


def _ratio(chi2: float, dof: int) -> float:
    return chi2 / dof if dof else float("nan")


def validation_rows(summary: Summary) -> list[dict[str, Any]]:
    """One dictionary per check with the keys of :data:`VALIDATION_COLUMNS`."""
    file_index = {f.path: k for k, f in enumerate(summary.files)}
    rollup = {i: r for r, ru in enumerate(summary.rollups) for i in ru.checks}
    rows = []
    for i, chk in enumerate(summary.checks):
        c, s = chk.comparison, chk.stats
        excluded = c.excluded()
        rows.append(
            {
                "check": i,
                "system": c.system,
                "estimate": c.estimate,
                "units": c.units,
                "path": c.path,
                "file": file_index.get(c.path, -1),
                "parameter": c.parameter,
                "axis": c.axis,
                "points": c.points_text(),
                "n_points": s.n_points,
                "n_exact": s.n_exact,
                "dof": s.dof,
                "n_excluded": sum(excluded.values()),
                "excluded": _excluded(excluded),
                "chi2": s.chi2,
                "chi2_per_dof": _ratio(s.chi2, s.dof),
                "p": s.p,
                "mean_pull": s.mean_pull,
                "max_abs_pull": s.max_abs_pull,
                "worst_point": chk.worst_label,
                "p_max": s.p_max,
                "correlated": int(s.correlated),
                "verdict": s.verdict,
                "reason": s.reason,
                "reference": c.reference,
                "rollup": rollup[i],
            }
        )
    return rows


def validation_system_rows(summary: Summary) -> list[dict[str, Any]]:
    """One dictionary per (system, estimate) with the keys of
    :data:`VALIDATION_SYSTEM_COLUMNS`."""
    rows = []
    for r, ru in enumerate(summary.rollups):
        s = ru.stats
        rows.append(
            {
                "rollup": r,
                "system": ru.system,
                "estimate": ru.estimate,
                "units": ru.units,
                "n_files": len(ru.checks),
                "n_failed": sum(summary.checks[i].stats.verdict == "fail" for i in ru.checks),
                "n_points": s.n_points,
                "n_exact": s.n_exact,
                "dof": s.dof,
                "chi2": s.chi2,
                "chi2_per_dof": _ratio(s.chi2, s.dof),
                "p": s.p,
                "mean_pull": s.mean_pull,
                "max_abs_pull": s.max_abs_pull,
                "worst_path": ru.worst_path,
                "worst_point": ru.worst_label,
                "p_max": s.p_max,
                "correlated": int(s.correlated),
                "verdict": s.verdict,
                "reason": s.reason,
                "checks": ";".join(str(i) for i in ru.checks),
            }
        )
    return rows


def validation_point_rows(summary: Summary) -> list[dict[str, Any]]:
    """One dictionary per point with a finite exact value, with the keys of
    :data:`VALIDATION_POINT_COLUMNS`."""
    rows = []
    for i, chk in enumerate(summary.checks):
        c = chk.comparison
        pulls, compared = c.pulls(), c.compared()
        for k in np.flatnonzero(np.isfinite(c.exact)):
            rows.append(
                {
                    "check": i,
                    "parameter_value": float(c.parameter_values[k]),
                    "axis_value": float(c.axis_values[k]),
                    "mean": float(c.mean[k]),
                    "error": float(c.error[k]),
                    "exact": float(c.exact[k]),
                    "pull": float(pulls[k]),
                    "status": int(c.status[k]),
                    "compared": int(compared[k]),
                }
            )
    return rows
