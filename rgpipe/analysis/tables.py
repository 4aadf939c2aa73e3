"""The aggregate stage's tables: their columns (with meanings) and one row per group, per
record and per input file, as written to the summary HDF5 file and CSV."""

from __future__ import annotations

import json
from typing import Any

from rgpipe.analysis.records import Summary

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
    "status": "ok, unreadable or skipped (stage not aggregated)",
    "message": "the error of an unreadable or skipped file; for an ok file what was not read",
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
