"""``python -m rgpipe aggregate``: bias statistics across every critical-point and training
run, and the Monte Carlo runs checked against exact finite-lattice values.

Reads every input file with dask (:func:`rgpipe.analysis.collect.collect`: a
``dask.distributed`` cluster when ``--scheduler`` or ``RGPIPE_DASK_SCHEDULER`` gives its
address, the local threaded scheduler otherwise), groups the estimates of critical-point
and training files by system, method, estimate and swept hyper-parameters, checks every
Monte Carlo file's estimates against their exact values (:mod:`.validation`; Monte Carlo
files enter no group), and writes

* ``--out`` (HDF5, stage ``aggregate``)::

      /summary/<column>   (G,)  one row per group (tables.SUMMARY_COLUMNS, then hp.<key>)
      /records/<column>   (R,)  one row per run and estimate (tables.RECORD_COLUMNS)
      /files/<column>     (F,)  one row per input file (tables.FILE_COLUMNS)
      /groups/<NNN>/{value, error, seed, member, status, path}   the runs of group NNN
          attrs: system, method, estimate, label, params_json and every statistic
      /validation/<column>          (C,)  one row per Monte Carlo file and estimate with
                                          exact values (tables.VALIDATION_COLUMNS)
      /validation_systems/<column>  (S,)  one row per system and estimate, every file
                                          together (tables.VALIDATION_SYSTEM_COLUMNS)
      /validation_points/<column>   (P,)  one row per point with an exact value
                                          (tables.VALIDATION_POINT_COLUMNS)

  Every column dataset carries a ``description`` attribute; text columns are UTF-8 strings.
  Root attributes add ``n_files``, ``n_unreadable``, ``n_skipped``, ``n_records``,
  ``n_failed``, ``n_groups``, ``n_mc_files`` (Monte Carlo files read), ``n_checks`` and
  ``n_checks_failed`` to the usual provenance.
* ``--csv``: the summary table (one row per group, same columns);
* ``--plots``: PNG figures (:mod:`rgpipe.analysis.plots`);
* ``--report``: a static HTML report and its Markdown twin ``<report>.md``
  (:mod:`rgpipe.analysis.report`).

Failed runs (NaN estimates, ``converged = False``, unreadable files: one that cannot be
opened, or any of whose datasets or attributes cannot be read) are counted per group and
listed, never dropped.  The exit status is 0 when the summary was written (even if runs or
checks failed), 2 for invalid options or when no input file was found.
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from rgpipe.analysis.aggregate import aggregate
from rgpipe.analysis.collect import collect
from rgpipe.analysis.options import AGGREGATE, aggregate_schema
from rgpipe.analysis.records import CONFIDENCE, Summary
from rgpipe.analysis.tables import (
    FILE_COLUMNS,
    RECORD_COLUMNS,
    SUMMARY_COLUMNS,
    VALIDATION_COLUMNS,
    VALIDATION_POINT_COLUMNS,
    VALIDATION_SYSTEM_COLUMNS,
    file_rows,
    record_rows,
    summary_rows,
    validation_point_rows,
    validation_rows,
    validation_system_rows,
)
from rgpipe.analysis.validation import p_text
from rgpipe.config import ConfigError, check_job, config_hash
from rgpipe.store import StoreError, check_output, create_result, git_revision

SCHEDULER_ENV = "RGPIPE_DASK_SCHEDULER"
"""Environment variable holding the address of a dask.distributed scheduler."""

ROOT_PATTERNS = ("critical/**/*.h5", "train/**/*.h5", "mc/**/*.h5")
"""Files ``--root DIR`` aggregates (relative to DIR)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--inputs", nargs="+", metavar="FILE", help="critical-point, training and MC files"
    )
    src.add_argument(
        "--root",
        metavar="DIR",
        help="aggregate DIR/critical/**/*.h5, DIR/train/**/*.h5 and DIR/mc/**/*.h5 (e.g. results)",
    )
    p.add_argument("--out", default="results/summary.h5", help="summary HDF5 file")
    p.add_argument("--csv", default="results/summary.csv", help="summary table as CSV")
    p.add_argument("--plots", default="results/report", help="directory of the PNG figures")
    p.add_argument(
        "--report",
        default="results/report/index.html",
        help="static HTML report (a Markdown twin .md is written next to it)",
    )
    for param in AGGREGATE:
        param.add_argument(p)
    p.add_argument(
        "--scheduler",
        default=os.environ.get(SCHEDULER_ENV),
        help=f"dask.distributed scheduler address (default: ${SCHEDULER_ENV}, else local threads)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def validate(given: dict[str, Any]) -> dict[str, Any]:
    """The job (bootstrap, seed) with defaults filled in
    (:data:`rgpipe.analysis.options.AGGREGATE`).

    Raises:
        ConfigError: naming the option and the value.
    """
    given = {k: v for k, v in given.items() if v is not None}
    return check_job(given, aggregate_schema(), "aggregate job")


def find_inputs(root: str | Path) -> list[str]:
    """The critical-point, training and Monte Carlo files under ``root`` (sorted per
    pattern of :data:`ROOT_PATTERNS`)."""
    out: list[str] = []
    for pattern in ROOT_PATTERNS:
        out += sorted(glob.glob(os.path.join(str(root), pattern), recursive=True))
    return out


def _column(values: list[Any]) -> np.ndarray:
    """A list of cells as an HDF5-writable array (text as UTF-8 strings)."""
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.array(values, dtype=np.int8)
    if values and all(isinstance(v, (int, np.integer)) for v in values):
        return np.array(values, dtype=np.int64)
    if values and all(isinstance(v, (int, float, np.number)) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array([str(v) for v in values], dtype=h5py.string_dtype())


def _write_table(
    parent: h5py.Group, name: str, rows: list[dict[str, Any]], columns: dict[str, str]
) -> None:
    """``parent/name/<column>`` datasets, one per column, each with a description."""
    grp = parent.create_group(name)
    keys = list(rows[0]) if rows else list(columns)
    for key in keys:
        ds = grp.create_dataset(key, data=_column([r[key] for r in rows]))
        desc = columns.get(key, "")
        if key.startswith("hp."):
            desc = f"value of the swept hyper-parameter {key[3:]} (empty: not swept here)"
        ds.attrs["description"] = desc
    grp.attrs["columns"] = keys
    grp.attrs["rows"] = len(rows)


def write_summary(path: str | Path, summary: Summary, job: dict[str, Any]) -> dict[str, Any]:
    """Write the summary HDF5 file atomically; return its root provenance facts."""
    files = [f.path for f in summary.files if f.sha256]
    config = {**job, "confidence": summary.confidence}
    rows = summary_rows(summary)
    records = record_rows(summary)
    with create_result(
        path, stage="aggregate", config=config, seed=job["seed"], inputs=files
    ) as fh:
        counts = {
            "n_files": len(summary.files),
            "n_unreadable": sum(f.status == "unreadable" for f in summary.files),
            "n_skipped": sum(f.status == "skipped" for f in summary.files),
            "n_records": len(summary.records),
            "n_failed": sum(not r.ok for r in summary.records),
            "n_groups": len(summary.groups),
            "n_mc_files": sum(f.stage == "mc" and f.status == "ok" for f in summary.files),
            "n_checks": len(summary.checks),
            "n_checks_failed": sum(c.stats.verdict == "fail" for c in summary.checks),
        }
        fh.attrs.update(counts)
        _write_table(fh, "summary", rows, SUMMARY_COLUMNS)
        _write_table(fh, "records", records, RECORD_COLUMNS)
        _write_table(fh, "files", file_rows(summary), FILE_COLUMNS)
        _write_table(fh, "validation", validation_rows(summary), VALIDATION_COLUMNS)
        _write_table(
            fh, "validation_systems", validation_system_rows(summary), VALIDATION_SYSTEM_COLUMNS
        )
        _write_table(
            fh, "validation_points", validation_point_rows(summary), VALIDATION_POINT_COLUMNS
        )
        groups = fh.create_group("groups")
        for gi, (g, row) in enumerate(zip(summary.groups, rows, strict=True)):
            grp = groups.create_group(f"{gi:03d}")
            grp.attrs.update(
                {k: v for k, v in row.items() if k != "files" and not k.startswith("hp.")}
            )
            recs = [summary.records[i] for i in g.records]
            for key in ("value", "error", "seed", "member", "status", "path"):
                grp.create_dataset(key, data=_column([getattr(r, key) for r in recs]))
        attrs = dict(fh.attrs)
    return {
        "config_sha256": config_hash(config),
        "git_revision": attrs["git_revision"],
        "config": config,
        **counts,
    }


def write_csv(path: str | Path, summary: Summary) -> None:
    """The summary table as CSV (header = column names; floats in repr precision)."""
    rows = summary_rows(summary)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else list(SUMMARY_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def run(args: argparse.Namespace) -> int:
    """Validate, collect, aggregate, write the summary, CSV, plots and report."""
    from rgpipe.analysis.plots import make_plots
    from rgpipe.analysis.report import write_report

    try:
        job = validate({"bootstrap": args.bootstrap, "seed": args.seed})
        for out in (args.out, args.csv, args.report):
            check_output(out)
        paths = args.inputs if args.inputs else find_inputs(args.root)
        if not paths:
            raise ConfigError(
                f"no critical-point, training or Monte Carlo files under {args.root!r}"
            )
    except (ConfigError, StoreError) as exc:
        print(f"rgpipe aggregate: {exc}", file=sys.stderr)
        return 2
    where = f"dask.distributed at {args.scheduler}" if args.scheduler else "local threads"
    print(f"rgpipe aggregate: reading {len(paths)} files ({where})", file=sys.stderr, flush=True)
    files = collect(paths, scheduler=args.scheduler, progress=not args.quiet)
    for f in files:
        if f.status != "ok":
            print(f"rgpipe aggregate: {f.status}: {f.message}", file=sys.stderr)
        elif f.message:
            print(f"rgpipe aggregate: {f.path}: {f.message}", file=sys.stderr)
    if not any(f.records or (f.stage == "mc" and f.status == "ok") for f in files):
        reasons = sorted({f"{f.status}: {f.message}" for f in files if f.message})
        print(
            f"rgpipe aggregate: nothing to aggregate: none of the {len(files)} input files "
            "holds estimates of a critical-point or training stage or is a Monte Carlo file ("
            + "; ".join(reasons[:5])
            + (" ..." if len(reasons) > 5 else "")
            + "); give critical-point files (results/critical/...), training files or "
            "Monte Carlo files (results/mc/...)",
            file=sys.stderr,
        )
        return 2
    summary = aggregate(files, n_boot=job["bootstrap"], seed=job["seed"], confidence=CONFIDENCE)
    for r in summary.records:
        if not r.ok and r.status != "unreadable":
            print(
                f"rgpipe aggregate: failed run counted: {r.path} {r.estimate} "
                f"(seed {r.seed}): {r.message}",
                file=sys.stderr,
            )
    facts = write_summary(args.out, summary, job)
    write_csv(args.csv, summary)
    figures = make_plots(summary, args.plots)
    html, md = write_report(
        summary,
        figures,
        args.report,
        summary_path=args.out,
        csv_path=args.csv,
        provenance={**facts, "git_revision_now": git_revision()},
    )
    for g in summary.groups:
        s = g.stats
        print(
            f"rgpipe aggregate: {g.title}: n={s.n} failed={s.n_failed} mean={s.mean:.6g} "
            f"+- {s.bias_error:.2g} exact={s.exact:.6g} bias={s.bias:.3g}",
            file=sys.stderr,
        )
    for ru in summary.rollups:
        s = ru.stats
        print(
            f"rgpipe aggregate: MC against exact: {ru.system} {ru.estimate}: "
            f"{len(ru.checks)} files, chi2/dof = {s.chi2:.4g}/{s.dof} "
            + ("(correlated points, no p) " if s.correlated else f"p = {p_text(s.p)} ")
            + f"max |pull| {s.max_abs_pull:.2f} ({ru.worst_path}: {ru.worst_label}): "
            + (s.verdict.upper() + f" ({s.reason})" if s.verdict == "fail" else s.verdict),
            file=sys.stderr,
        )
    for chk in summary.checks:
        if chk.stats.verdict == "fail":
            c = chk.comparison
            print(
                f"rgpipe aggregate: MC check FAILED: {c.path} {c.estimate}: {chk.stats.reason}",
                file=sys.stderr,
            )
    print(
        f"rgpipe aggregate: {facts['n_groups']} groups, {facts['n_records']} runs "
        f"({facts['n_failed']} failed), {facts['n_checks']} MC checks against exact values "
        f"({facts['n_checks_failed']} failed), wrote {args.out}, {args.csv}, "
        f"{len(figures)} figures, {html}, {md}",
        file=sys.stderr,
    )
    return 0
