"""The results report: a static HTML page and its Markdown twin.

:func:`write_report` writes ``index.html`` (inline CSS, no script, images by relative path, so
it opens from the file system without a server) and ``index.md`` next to it, with

1. the aggregate job (bootstrap resamples, seed, confidence), its config sha256 and the git
   revision of the code;
2. the summary table, one row per group (``<tr id="group-N">``), each row linking the input
   files its numbers come from;
3. every failed run with the reason;
4. the Monte Carlo files against the exact values of the same finite lattice
   (:mod:`.validation_section`): per system and estimate (``<tr id="validation-system-N">``),
   the figure of every pull, per file and estimate (``<tr id="validation-N">``);
5. the figures with captions and source files;
6. the provenance of every input file: path, status, stage, sha256, git revision, config
   sha256 and configuration (``<tr id="file-N">``).
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rgpipe.analysis import validation_section as vsec
from rgpipe.analysis.figure import PULLS, SECTIONS, Figure, section_of
from rgpipe.analysis.records import Summary

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; font-size: .85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .25em .45em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } tr:nth-child(even) td { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.fail { color: #b00; font-weight: bold; }
code, .hash { font-family: ui-monospace, monospace; font-size: .9em; word-break: break-all; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .9em; color: #444; max-width: 900px; }
details pre { white-space: pre-wrap; font-size: .8em; }
div.wide { overflow-x: auto; max-width: 100%; }
div.wide table { margin: .5em 0; }
section > h3 { margin-top: 2em; }
"""


TABLE_NOTE = (
    "One row per group: system, method, estimate and swept hyper-parameters (the same rows, "
    "by #, continue in the table of further statistics below). n: ok runs entering the "
    "statistics; failed: runs with a NaN estimate, not converged or an unreadable file "
    "(counted, never used). mean ± error: mean of the ok runs and the standard error of the "
    "mean (for a single run, the run's own error); bias = mean - exact with the same error; "
    "bias/error: the bias in units of that error; rel. bias = bias/|exact| in percent. A "
    "literature reference (approximate, e.g. with strong corrections to scaling) is marked "
    "(literature): its bias and relative bias are shown, but no bias/error and no chi2, since "
    "the accuracy of the reference is unknown."
)
"""The explanation printed above the summary table."""

DETAIL_NOTE = (
    "std: standard deviation of the ok runs; 95% CI: BCa bootstrap interval of the mean; "
    "weighted mean: error-weighted mean of the runs that have error bars; chi2 of those runs "
    "against the exact value, dof = their number, p its survival probability; reference: the "
    "source of the exact or literature value."
)
"""The explanation printed above the table of further statistics."""

KEY_HEADER = [
    "#", "system", "method", "estimate", "hyper-parameters", "n", "failed", "mean ± error",
    "exact", "bias ± error", "bias/error", "rel. bias [%]",
]  # fmt: skip
"""Columns of the summary table, the numbers a reader came for first."""

DETAIL_HEADER = [
    "#", "estimate", "std", "95% CI (bootstrap)", "weighted mean", "chi2/dof vs exact (p)",
    "reference", "input files (#)",
]  # fmt: skip
"""Columns of the table of further statistics (one row per group, same # as the summary)."""

NUMERIC = {
    "n", "failed", "mean ± error", "std", "exact", "bias ± error", "bias/error",
    "rel. bias [%]", "weighted mean", *vsec.NUMERIC,
}  # fmt: skip
"""Columns set right-aligned in tabular figures."""


def pm(value: float, error: float) -> str:
    """``value ± error`` with the error to two significant digits (value alone if no error,
    empty for NaN)."""
    if not math.isfinite(value):
        return ""
    if not math.isfinite(error) or error <= 0:
        return f"{value:.6g}"
    digits = max(0, 1 - math.floor(math.log10(error)))
    return f"{value:.{digits}f} ± {error:.{digits}f}"


def num(value: float, digits: int = 6) -> str:
    """A number to ``digits`` significant digits ('' for NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return f"{value:.{digits}g}"


def _rel(target: str | Path, start: Path) -> str:
    """``target`` relative to the directory ``start``, with '/' separators (for URLs)."""
    return Path(os.path.relpath(Path(target).resolve(), start.resolve())).as_posix()


def _signed3(value: float) -> str:
    """A signed number to three significant digits without an exponent ('' for NaN), e.g.
    +12.0, -0.0000342."""
    if not math.isfinite(value):
        return ""
    text = np.format_float_positional(value, precision=3, unique=False, fractional=False)
    return ("+" if value >= 0 else "") + text.rstrip(".")


def _bias_in_errors(bias: float, error: float) -> str:
    """bias/error to two decimals ('' without a finite positive error)."""
    if not (math.isfinite(bias) and math.isfinite(error) and error > 0):
        return ""
    return f"{bias / error:+.2f}"


def summary_table(summary: Summary) -> tuple[list[str], list[list[str]], list[list[int]]]:
    """Header (:data:`KEY_HEADER`), text cells and input-file indices of every summary row
    (one per group)."""
    file_index = {f.path: k for k, f in enumerate(summary.files)}
    rows, files = [], []
    for gi, g in enumerate(summary.groups):
        s = g.stats
        exact, bias = num(s.exact, 8), pm(s.bias, s.bias_error)
        pull = _bias_in_errors(s.bias, s.bias_error)
        if g.literature:
            exact = f"{exact} (literature)"
            bias = f"{pm(s.bias, math.nan)} (vs literature)" if math.isfinite(s.bias) else ""
            pull = "- (literature)"
        rel = 100 * s.relative_bias
        rows.append(
            [
                str(gi), g.system, g.method, g.estimate, g.label or "-", str(s.n),
                str(s.n_failed), pm(s.mean, s.bias_error), exact, bias, pull,
                _signed3(rel),
            ]
        )  # fmt: skip
        paths = dict.fromkeys(summary.records[i].path for i in g.records)
        files.append([file_index[p] for p in paths])
    return list(KEY_HEADER), rows, files


def detail_table(summary: Summary) -> tuple[list[str], list[list[str]]]:
    """Header (:data:`DETAIL_HEADER` without the file links) and text cells of the further
    statistics of every group (the input files are added by the renderers)."""
    rows = []
    for gi, g in enumerate(summary.groups):
        s = g.stats
        chi = (
            f"{s.chi2_exact:.3g}/{s.dof_exact} ({s.p_exact:.2g})"
            if math.isfinite(s.chi2_exact)
            else ""
        )
        if g.literature:
            chi = "- (literature)"
        ci = f"[{num(s.ci_low)}, {num(s.ci_high)}]" if math.isfinite(s.ci_low) else ""
        rows.append(
            [
                str(gi), g.estimate, num(s.std, 3), ci, pm(s.weighted_mean, s.weighted_error),
                chi, g.reference or "-",
            ]
        )  # fmt: skip
    return list(DETAIL_HEADER[:-1]), rows


def _escaped(rows: Sequence[Sequence[str]]) -> list[list[str]]:
    """Text cells as HTML."""
    return [[html.escape(c) for c in row] for row in rows]


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], ids: Sequence[str]) -> str:
    """A table of HTML cells (already escaped); ``ids`` are the rows' anchors."""
    numeric = NUMERIC
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for row, rid in zip(rows, ids, strict=True):
        cells = []
        for h, cell in zip(header, row, strict=False):
            cls = ' class="num"' if h in numeric else ""
            if h == "failed" and cell not in ("0", ""):
                cls = ' class="num fail"'
            if h == "verdict" and cell.startswith("FAIL"):
                cls = ' class="fail"'
            cells.append(f"<td{cls}>{cell}</td>")
        out.append(f'<tr id="{rid}">' + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _break_literature(cell: str) -> str:
    """An escaped cell with its "(literature)" note on a line of its own (narrow columns)."""
    for note in ("(literature)", "(vs literature)"):
        cell = cell.replace(f" {note}", f"<br>{note}")
    return cell


def _wide(table: str) -> str:
    """A table in a block that scrolls horizontally when wider than the page."""
    return f'<div class="wide">{table}</div>'


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _reference_rows(summary: Summary) -> list[list[str]]:
    """system, estimate, reference value, its kind and source, once per distinct combination."""
    seen = {}
    for g in summary.groups:
        if math.isfinite(g.stats.exact):
            key = (g.system, g.estimate, num(g.stats.exact, 10), g.reference_kind, g.reference)
            seen.setdefault(key, None)
    return [list(k) for k in seen]


REFERENCE_HEADER = ["system", "estimate", "value", "kind", "source"]


def _failed_rows(summary: Summary) -> list[list[str]]:
    group = summary.group_of()
    return [
        [str(group[i]), r.path, r.estimate, str(r.seed), r.status, r.message]
        for i, r in enumerate(summary.records)
        if not r.ok
    ]


def _file_rows(summary: Summary) -> list[list[str]]:
    return [
        [str(k), f.path, f.status, f.stage, f.sha256, f.git_revision, f.config_sha256]
        for k, f in enumerate(summary.files)
    ]


def render_html(
    summary: Summary,
    figures: Sequence[Figure],
    out_dir: Path,
    summary_path: str | Path | None,
    csv_path: str | Path | None,
    provenance: Mapping[str, Any],
) -> str:
    """The report as one HTML document (image and file links relative to ``out_dir``)."""
    e = html.escape
    file_index = {f.path: k for k, f in enumerate(summary.files)}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>rgpipe: bias statistics</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>rgpipe: bias statistics of every method</h1>",
        _provenance_html(summary, out_dir, summary_path, csv_path, provenance),
        "<h2>Summary</h2>",
        f"<p>{e(TABLE_NOTE)}</p>",
    ]
    header, rows, files = summary_table(summary)
    rows = [[_break_literature(c) for c in row] for row in _escaped(rows)]
    parts.append(_wide(_html_table(header, rows, [f"group-{k}" for k in range(len(rows))])))
    parts += ["<h3>Further statistics</h3>", f"<p>{e(DETAIL_NOTE)}</p>"]
    header, rows = detail_table(summary)
    rows = _escaped(rows)
    for row, idx in zip(rows, files, strict=True):
        row.append(" ".join(f'<a href="#file-{k}">{k}</a>' for k in idx))
    header.append(DETAIL_HEADER[-1])
    parts.append(_wide(_html_table(header, rows, [f"stats-{k}" for k in range(len(rows))])))
    refs = _reference_rows(summary)
    parts.append("<h2>Exact and literature values</h2>")
    parts.append(
        _html_table(REFERENCE_HEADER, _escaped(refs), [f"ref-{k}" for k in range(len(refs))])
    )
    failed = _failed_rows(summary)
    parts.append(f"<h2>Failed runs ({len(failed)})</h2>")
    if failed:
        head = ["group", "file", "estimate", "seed", "status", "reason"]
        parts.append(
            _html_table(head, _escaped(failed), [f"failed-{k}" for k in range(len(failed))])
        )
    else:
        parts.append("<p>None.</p>")
    parts.append(_validation_html(summary, figures, out_dir))
    parts.append("<h2>Figures</h2>")
    current = None
    for k, fig in enumerate(figures):
        if fig.kind == PULLS:
            continue
        if section_of(fig.kind) != current:
            if current is not None:
                parts.append("</section>")
            current = section_of(fig.kind)
            parts.append(f'<section id="figures-{current}"><h3>{e(SECTIONS[current])}</h3>')
        parts.append(_figure_html(k, fig, out_dir, file_index))
    if current is not None:
        parts.append("</section>")
    parts.append("<h2>Input files</h2>")
    head = ["#", "path", "status", "stage", "sha256", "git revision", "config sha256"]
    rows_f = []
    for f, r in zip(summary.files, _escaped(_file_rows(summary)), strict=True):
        if Path(f.path).is_file():  # a link to the file itself, relative to the report
            r[1] = f'<a href="{e(_rel(f.path, out_dir))}">{r[1]}</a>'
        rows_f.append([*r[:4], *(f'<span class="hash">{h}</span>' for h in r[4:])])
    parts.append(_wide(_html_table(head, rows_f, [f"file-{k}" for k in range(len(rows_f))])))
    parts.append("<h3>Configurations</h3>")
    for k, f in enumerate(summary.files):
        cfg = json.dumps(json.loads(f.config_json), indent=1, sort_keys=True)
        parts.append(
            f"<details><summary>file {k}: {e(f.path)}</summary><pre>{e(cfg)}</pre></details>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _figure_html(k: int, fig: Figure, out_dir: Path, file_index: Mapping[str, int]) -> str:
    """One figure with its caption and links to its source files (``<figure id="figure-k">``)."""
    e = html.escape
    links = ", ".join(
        f'<a href="#file-{file_index[p]}">{e(p)}</a>' for p in fig.sources if p in file_index
    )
    return (
        f'<figure id="figure-{k}" class="{e(fig.kind)}">'
        f'<img src="{e(_rel(fig.path, out_dir))}" alt="{e(fig.title)}">'
        f"<figcaption><b>{e(fig.title)}.</b> {e(fig.caption)}"
        + (f" Source files: {links}." if links else "")
        + "</figcaption></figure>"
    )


def _validation_html(summary: Summary, figures: Sequence[Figure], out_dir: Path) -> str:
    """The section of the Monte Carlo files against exact values: note, roll-up table, the
    pull figure, per-file table (its file column linked to the input-file table)."""
    e = html.escape
    file_index = {f.path: k for k, f in enumerate(summary.files)}
    parts = [f'<h2 id="validation">{e(vsec.TITLE)}</h2>', f"<p>{e(vsec.counts_text(summary))}</p>"]
    if not summary.checks:
        return "\n".join(parts)
    parts += [f"<p>{e(vsec.NOTE)}</p>", "<h3>Per system and estimate (every file together)</h3>"]
    rows = _escaped(vsec.system_rows(summary))
    ids = [f"validation-system-{k}" for k in range(len(rows))]
    parts.append(_wide(_html_table(vsec.SYSTEM_HEADER, rows, ids)))
    parts += [
        _figure_html(k, fig, out_dir, file_index)
        for k, fig in enumerate(figures)
        if fig.kind == PULLS
    ]
    parts.append("<h3>Per file and estimate</h3>")
    cells, files = vsec.check_rows(summary)
    rows = _escaped(cells)
    for row, k in zip(rows, files, strict=True):
        if k >= 0:
            row[3] = f'<a href="#file-{k}">{row[3]}</a>'
    ids = [f"validation-{k}" for k in range(len(rows))]
    parts.append(_wide(_html_table(vsec.CHECK_HEADER, rows, ids)))
    return "\n".join(parts)


def _validation_markdown(summary: Summary, figures: Sequence[Figure], out_dir: Path) -> list[str]:
    """The Markdown twin of :func:`_validation_html`."""
    lines = [f"## {vsec.TITLE}", "", vsec.counts_text(summary), ""]
    if not summary.checks:
        return lines
    lines += [vsec.NOTE, "", "### Per system and estimate (every file together)", ""]
    lines += [_md_table(vsec.SYSTEM_HEADER, vsec.system_rows(summary)), ""]
    for fig in figures:
        if fig.kind == PULLS:
            lines += [f"![{fig.title}]({_rel(fig.path, out_dir)})", ""]
            lines += [f"**{fig.title}.** {fig.caption}", ""]
    lines += ["### Per file and estimate", ""]
    lines += [_md_table(vsec.CHECK_HEADER, vsec.check_rows(summary)[0]), ""]
    return lines


def _provenance_facts(
    summary: Summary,
    out_dir: Path,
    summary_path: str | Path | None,
    csv_path: str | Path | None,
    provenance: Mapping[str, Any],
) -> list[tuple[str, str]]:
    facts = [
        ("generated (UTC)", time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())),
        ("aggregate configuration", json.dumps(provenance.get("config", {}), sort_keys=True)),
        ("aggregate config sha256", str(provenance.get("config_sha256", ""))),
        ("git revision", str(provenance.get("git_revision", ""))),
        (
            "inputs",
            f"{len(summary.files)} files "
            f"({sum(f.status == 'unreadable' for f in summary.files)} unreadable, "
            f"{sum(f.status == 'skipped' for f in summary.files)} skipped), "
            f"{len(summary.records)} runs ({sum(not r.ok for r in summary.records)} failed), "
            f"{len(summary.groups)} groups; {len(summary.checks)} Monte Carlo checks against "
            f"exact values ({sum(c.stats.verdict == 'fail' for c in summary.checks)} failed)",
        ),
    ]
    if summary_path:
        facts.append(("summary (HDF5)", _rel(summary_path, out_dir)))
    if csv_path:
        facts.append(("summary (CSV)", _rel(csv_path, out_dir)))
    return facts


def _provenance_html(summary, out_dir, summary_path, csv_path, provenance) -> str:
    rows = []
    for key, value in _provenance_facts(summary, out_dir, summary_path, csv_path, provenance):
        cell = html.escape(value)
        if key.startswith("summary"):
            cell = f'<a href="{cell}">{cell}</a>'
        elif "sha256" in key or "revision" in key:
            cell = f'<span class="hash">{cell}</span>'
        rows.append(f"<tr><th>{html.escape(key)}</th><td>{cell}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def render_markdown(
    summary: Summary,
    figures: Sequence[Figure],
    out_dir: Path,
    summary_path: str | Path | None,
    csv_path: str | Path | None,
    provenance: Mapping[str, Any],
) -> str:
    """The Markdown twin of :func:`render_html` (same tables, same relative image paths)."""
    facts = _provenance_facts(summary, out_dir, summary_path, csv_path, provenance)
    lines = ["# rgpipe: bias statistics of every method", ""]
    lines += [_md_table(["", ""], [[k, f"`{v}`"] for k, v in facts]), ""]
    lines += ["## Summary", "", TABLE_NOTE, ""]
    header, rows, files = summary_table(summary)
    lines += [_md_table(header, rows), ""]
    lines += ["### Further statistics", "", DETAIL_NOTE, ""]
    header, rows = detail_table(summary)
    for row, idx in zip(rows, files, strict=True):
        row.append(" ".join(str(k) for k in idx))
    lines += [_md_table([*header, DETAIL_HEADER[-1]], rows), ""]
    lines += ["## Exact and literature values", ""]
    lines += [_md_table(REFERENCE_HEADER, _reference_rows(summary)), ""]
    failed = _failed_rows(summary)
    lines += [f"## Failed runs ({len(failed)})", ""]
    if failed:
        lines += [_md_table(["group", "file", "estimate", "seed", "status", "reason"], failed)]
    else:
        lines.append("None.")
    lines += ["", *_validation_markdown(summary, figures, out_dir), "## Figures", ""]
    current = None
    for fig in figures:
        if fig.kind == PULLS:
            continue
        if section_of(fig.kind) != current:
            current = section_of(fig.kind)
            lines += [f"### {SECTIONS[current]}", ""]
        lines += [f"![{fig.title}]({_rel(fig.path, out_dir)})", ""]
        lines += [f"**{fig.title}.** {fig.caption} Source files: {', '.join(fig.sources)}.", ""]
    lines += ["## Input files", ""]
    head = ["#", "path", "status", "stage", "sha256", "git revision", "config sha256"]
    lines += [_md_table(head, _file_rows(summary)), ""]
    return "\n".join(lines)


def write_report(
    summary: Summary,
    figures: Sequence[Figure],
    html_path: str | Path,
    *,
    summary_path: str | Path | None = None,
    csv_path: str | Path | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write ``html_path`` and its Markdown twin (same name, ``.md``); return both paths.

    Args:
        summary: the aggregated statistics.
        figures: figures to show (their PNG files should lie under the report's directory or
            anywhere reachable by a relative path).
        summary_path, csv_path: the summary files to link.
        provenance: ``config``, ``config_sha256`` and ``git_revision`` of the aggregate job.
    """
    html_path = Path(html_path)
    out_dir = html_path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    prov = provenance or {}
    md_path = html_path.with_suffix(".md")
    for path, text in (
        (html_path, render_html(summary, figures, out_dir, summary_path, csv_path, prov)),
        (md_path, render_markdown(summary, figures, out_dir, summary_path, csv_path, prov)),
    ):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return html_path, md_path
