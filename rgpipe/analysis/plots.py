"""Figures of the aggregate stage (matplotlib, Agg backend: no display needed).

:func:`make_plots` writes every figure a :class:`~rgpipe.analysis.records.Summary` supports
and returns a :class:`~rgpipe.analysis.figure.Figure` (path, title, caption, source files) for
each:

* ``bias_overview.png``: relative bias (percent) of every group with a reference value, with
  error bars, and the bias in units of its error (not for literature values);
* per group, for its first run (lowest seed), one ``<kind>_<file>.png`` per curve kind of
  the file (:mod:`rgpipe.analysis.curves`): the Monte Carlo kinds ``binder``, ``helicity``
  and ``continuum``, or the kinds a learned-method family draws for its files;
* ``scan_<system>_<method>_<estimate>_<key>.png``: group mean against one swept
  hyper-parameter, error bar the standard error of the mean (or, for a single run, its own
  error), one line per setting of the other swept keys; categorical values in the order of
  the group's learned-method family (``value_order``), else alphabetical; the axes keep a
  margin around the points and the reference line;
* ``box_<system>_<estimate>.png``, only where some group has two or more ok runs: one box
  per such group of the per-run values, each run drawn as a point (with its error bar when
  it has one); a group with one run is its point and error bar, without a box; the
  reference value as a horizontal line.

* ``pulls.png``: the pull of every point of the Monte Carlo files against its exact value
  (:mod:`rgpipe.analysis.validation_plot`).

They are returned in report order: the overview, the physics of each file, the scans, the
boxes (:data:`rgpipe.analysis.figure.SECTIONS`), then the validation figure (which the
report shows in its own section).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from rgpipe.analysis import curves, families
from rgpipe.analysis.figure import Figure, file_slug, fmt, reference_word, save, slug
from rgpipe.analysis.records import UNREADABLE, Group, Summary
from rgpipe.analysis.validation_plot import pull_figure


def group_error(g: Group) -> tuple[float, str]:
    """Error bar of a group mean (``stats.bias_error``): the standard error of the mean
    (n >= 2) or the run's own error for a single run; with the name of what it is."""
    s = g.stats
    if s.n > 1:
        return s.bias_error, "standard error of the mean"
    if math.isfinite(s.bias_error):
        return s.bias_error, "error of the single run"
    return float("nan"), "none"


def _reference_kind(groups: list[Group]) -> str:
    """The reference kind of the first of ``groups`` that has a reference value."""
    return next((g.reference_kind for g in groups if g.reference_kind != "none"), "none")


def _group_name(g: Group, with_method: bool = True) -> str:
    parts = [g.method] if with_method else []
    parts += [f"{k}={v}" for k, v in g.params.items()]
    return "\n".join(parts) or g.estimate


# ---------------------------------------------------------------------------------------------
# across-group figures


def bias_overview(summary: Summary, outdir: Path) -> Figure | None:
    """Relative bias (mean - exact)/|exact| of every group with a reference value and data
    (left) and the bias in units of its error (right, symmetric-log axis; not for literature
    values, whose accuracy is unknown)."""
    groups = [
        g for g in summary.groups if math.isfinite(g.stats.exact) and g.stats.exact and g.stats.n
    ]
    if not groups:
        return None
    fig, (ax, ax2) = plt.subplots(
        1, 2, figsize=(11, 1.2 + 0.4 * len(groups)), layout="constrained", sharey=True,
        gridspec_kw={"width_ratios": [3, 2]},
    )  # fmt: skip
    y = np.arange(len(groups))[::-1]
    lit = np.array([g.literature for g in groups])
    err_abs = np.array([group_error(g)[0] for g in groups])
    rel = 100 * np.array([g.stats.relative_bias for g in groups])
    err = 100 * err_abs / np.array([abs(g.stats.exact) for g in groups])
    xerr = np.where(np.isfinite(err), err, 0)
    ax.errorbar(rel[~lit], y[~lit], xerr=xerr[~lit], fmt="o", color="C0", capsize=3)
    if lit.any():
        ax.errorbar(
            rel[lit], y[lit], xerr=xerr[lit], fmt="s", mfc="none", color="C0", capsize=3,
            label="against a literature value",
        )  # fmt: skip
        ax.legend(fontsize=8, loc="lower right")
    ax.axvline(0.0, color="k", lw=0.8)
    titles = [g.title + (" (literature)" if g.literature else "") for g in groups]
    ax.set_yticks(y, titles, fontsize=8)
    ax.set_xlabel("relative bias (mean - exact) / |exact|  [%]")
    ax.grid(axis="x", alpha=0.3)
    pull = np.where(lit, np.nan, np.array([g.stats.bias for g in groups]) / err_abs)
    ok = np.isfinite(pull)
    ax2.plot(pull[ok], y[ok], "o", color="C1")
    for k in np.flatnonzero(~ok):
        note = "literature value: omitted" if lit[k] else "no error"
        ax2.annotate(note, (0, y[k]), ha="center", va="center", fontsize=7, color="0.4")
    ax2.axvspan(-2, 2, color="C2", alpha=0.15, lw=0, label="|bias| < 2 errors")
    ax2.axvline(0.0, color="k", lw=0.8)
    ax2.set_xscale("symlog", linthresh=3)
    top = max(3.0, float(np.max(np.abs(pull[ok]))) if ok.any() else 3.0)
    ticks = [t for t in (10, 100, 1000, 10**4, 10**5, 10**6) if t <= 1.5 * top] or [2]
    ticks = [-t for t in ticks[::-1]] + [0] + ticks
    ax2.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize=8)
    ax2.set_xlim(-2.5 * top, 2.5 * top)
    ax2.set_xlabel("bias / error (symmetric log beyond 3)")
    ax2.legend(fontsize=8, loc="lower right")
    ax2.grid(axis="x", alpha=0.3)
    fig.suptitle("Bias of every method against the exact (or literature) value")
    caption = (
        "Left: relative bias of the group mean in percent, error bars the standard error of "
        "the mean (or the error of a single run) divided by |exact|. Right: the bias in units "
        "of that error; the green band marks |bias| < 2 errors."
    )
    if lit.any():
        caption += (
            " Groups marked (literature) are compared with a literature value of unknown "
            "accuracy: their relative bias is shown, their bias in units of the error is not."
        )
    return Figure(
        save(fig, outdir / "bias_overview.png"),
        "bias",
        "Bias of every group",
        caption,
        sorted({summary.records[i].path for g in groups for i in g.records}),
    )


def estimate_boxplots(summary: Summary, outdir: Path) -> list[Figure]:
    """One figure per (system, estimate): a box per group with its runs and the exact value."""
    by_key: dict[tuple[str, str], list[Group]] = {}
    for g in summary.groups:
        if (g.system, g.method, g.estimate) != UNREADABLE:
            by_key.setdefault((g.system, g.estimate), []).append(g)
    figures = []
    rng = np.random.default_rng(0)  # jitter of the points only
    for (system, estimate), groups in by_key.items():
        if max(g.stats.n for g in groups) < 2:
            continue  # single values: the table and the bias overview show them
        with_method = len({g.method for g in groups}) > 1 or not any(g.params for g in groups)
        names = [_group_name(g, with_method) for g in groups]
        width = max(6.0, 1.0 + 1.1 * len(groups))
        fig, ax = plt.subplots(figsize=(width, 4.6), layout="constrained")
        data, positions = [], []
        labelled = [False, False]  # legend entries: runs with / without error bars
        for k, g in enumerate(groups):
            recs = [summary.records[i] for i in g.records if summary.records[i].ok]
            vals = np.array([r.value for r in recs])
            errs = np.array([r.error for r in recs])
            if vals.size > 1:
                data.append(vals)
                positions.append(k)
            if vals.size:
                x = k + (rng.uniform(-0.12, 0.12, vals.size) if vals.size > 1 else np.zeros(1))
                has = np.isfinite(errs)
                ax.errorbar(
                    x[has],
                    vals[has],
                    yerr=errs[has],
                    fmt="o",
                    ms=4,
                    color="C0",
                    alpha=0.8,
                    capsize=2,
                    zorder=3,
                    label="runs (error bar: the run's error)"
                    if has.any() and not labelled[0]
                    else None,
                )
                labelled[0] |= bool(has.any())
                ax.plot(
                    x[~has], vals[~has], "o", ms=4, color="C0", alpha=0.8, zorder=3,
                    label="runs" if (~has).any() and not labelled[1] else None,
                )  # fmt: skip
                labelled[1] |= bool((~has).any())
        if data:
            parts = ax.boxplot(
                data,
                positions=positions,
                widths=0.5,
                showfliers=False,
                zorder=2,
                medianprops={"color": "C1"},
            )
            for box, k in zip(parts["boxes"], positions, strict=True):
                box.set_gid(f"box-{k}")  # which group has a box (read by the tests)
            means = [groups[k].stats.mean for k in positions]
            ax.plot(positions, means, "D", color="w", mec="k", ms=6, zorder=4, label="group mean")
        exact = [g.stats.exact for g in groups if math.isfinite(g.stats.exact)]
        ref = next((g.reference for g in groups if g.reference), "")
        word = reference_word(_reference_kind(groups))
        if exact:
            ax.axhline(
                exact[0],
                color="C3",
                ls="--",
                lw=1.2,
                zorder=1,
                label=f"{word} {fmt(exact[0], 7)}",
            )
        ymin, ymax = ax.get_ylim()
        for k, g in enumerate(groups):
            note = f"n={g.stats.n}" + (f"\n{g.stats.n_failed} failed" if g.stats.n_failed else "")
            ax.annotate(
                note,
                (k, 0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
                color="C3" if g.stats.n_failed else "0.3",
            )
        ax.set_ylim(ymin - 0.12 * (ymax - ymin), ymax)
        ax.set_xticks(range(len(groups)), names, fontsize=8)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        units = next((g.units for g in groups if g.units and g.units != "1"), "")
        ax.set_ylabel(estimate + (f" [{units}]" if units else ""))
        methods = {g.method for g in groups}
        single = f" ({methods.pop()})" if len(methods) == 1 else ""
        ax.set_title(f"{system}: {estimate}{single}\nper run and group", fontsize=11)
        fig.legend(loc="outside lower center", ncols=3, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        figures.append(
            Figure(
                save(fig, outdir / f"box_{slug(system)}_{slug(estimate)}.png"),
                "box",
                f"{system}: {estimate} across runs",
                "Boxes (groups with two or more ok runs): quartiles and 1.5 IQR whiskers of "
                "the per-run values (orange: median, diamond: mean); points: runs (horizontal "
                "jitter only) with their error bars where they have one; a group with a "
                f"single run is that point alone; dashed line: {word} value"
                + (f" ({ref})" if ref else "")
                + "; n: ok runs, failed runs counted below.",
                sorted({summary.records[i].path for g in groups for i in g.records}),
            )
        )
    return figures


def _numeric(values: list[str]) -> np.ndarray | None:
    try:
        return np.array([float(v) for v in values])
    except ValueError:
        return None


def scan_values(groups: list[Group], key: str) -> list[str]:
    """The values of the swept ``key`` among ``groups`` in scan order: numerically when all
    are numbers, else in the order of the groups' learned-method family (its
    ``value_order``), alphabetically for Monte Carlo groups and families without one."""
    order = families.value_order(groups[0].family)
    values = sorted({g.params[key] for g in groups}, key=lambda v: order(key, v))
    num = _numeric(values)
    return values if num is None else [values[i] for i in np.argsort(num, kind="stable")]


def hyperparameter_scans(summary: Summary, outdir: Path) -> list[Figure]:
    """Group mean against each swept key with >= 2 values, per (system, method, estimate)."""
    by_key: dict[tuple[str, str, str], list[Group]] = {}
    for g in summary.groups:
        if g.params:
            by_key.setdefault((g.system, g.method, g.estimate), []).append(g)
    figures = []
    for (system, method, estimate), groups in by_key.items():
        for key in groups[0].params:
            values = scan_values(groups, key)
            if len(values) < 2:
                continue
            num = _numeric(values)
            xpos = dict(zip(values, num if num is not None else range(len(values)), strict=True))
            series: dict[str, list[Group]] = {}
            for g in groups:
                rest = ", ".join(f"{k}={v}" for k, v in g.params.items() if k != key)
                series.setdefault(rest, []).append(g)
            fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
            what = set()
            offsets = np.linspace(-0.08, 0.08, len(series)) if len(series) > 1 else [0.0]
            spans: list[tuple[float, float]] = []  # (mean, error bar) of every point
            for (rest, gs), off in zip(series.items(), offsets, strict=True):
                gs = sorted(gs, key=lambda g: xpos[g.params[key]])
                x = np.array([xpos[g.params[key]] for g in gs], dtype=float)
                if num is None:
                    x = x + off
                y = np.array([g.stats.mean for g in gs])
                e = []
                for g in gs:
                    err, name = group_error(g)
                    e.append(err)
                    what.add(name)
                spans += list(zip(y, np.nan_to_num(np.array(e)), strict=True))
                ax.errorbar(
                    x,
                    y,
                    yerr=np.nan_to_num(np.array(e)),
                    fmt="o-" if num is not None else "o",
                    capsize=3,
                    label=rest or None,
                )
            exact = [g.stats.exact for g in groups if math.isfinite(g.stats.exact)]
            word = reference_word(_reference_kind(groups))
            if exact:
                ax.axhline(
                    exact[0],
                    color="C3",
                    ls="--",
                    lw=1.2,
                    label=f"{word} {fmt(exact[0], 7)}",
                )
            ax.set_ylim(*_margins([*(y - e for y, e in spans), *(y + e for y, e in spans),
                                   *exact[:1]]))  # fmt: skip
            if num is None:
                ax.set_xticks(range(len(values)), values)
                ax.set_xlim(-0.5, len(values) - 0.5)  # room for the offset series at the ends
            elif num.min() > 0 and num.max() / num.min() > 100:
                ax.set_xscale("log")
            ax.set_xlabel(key)
            ax.set_ylabel(f"mean {estimate}")
            ax.set_title(f"{system}, {method}: {estimate} against {key}")
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
            what.discard("none")
            figures.append(
                Figure(
                    save(
                        fig,
                        outdir
                        / f"scan_{slug(system)}_{slug(method)}_{slug(estimate)}_{slug(key)}.png",
                    ),
                    "scan",
                    f"{system}, {method}: {estimate} against {key}",
                    "Points: group means; error bars: " + " or ".join(sorted(what)) + "; "
                    f"dashed line: {word} value.",
                    sorted({summary.records[i].path for g in groups for i in g.records}),
                )
            )
    return figures


def _margins(values: list[float], pad: float = 0.12) -> tuple[float, float]:
    """Axis limits holding every finite value with ``pad`` of their range on each side (so
    no point or reference line lies on the frame)."""
    v = np.array([x for x in values if math.isfinite(x)])
    if not v.size:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    width = hi - lo or max(abs(hi), 1.0) * 1e-3
    return lo - pad * width, hi + pad * width


def make_plots(summary: Summary, outdir: str | Path) -> list[Figure]:
    """Write every figure into ``outdir``; return them in report order."""
    outdir = Path(outdir)
    figures: list[Figure] = []
    if (fig := bias_overview(summary, outdir)) is not None:
        figures.append(fig)
    files = {f.path: f for f in summary.files}
    done: set[tuple[str, str]] = set()
    used: dict[str, str] = {}  # file slug -> path

    def name_of(path: str) -> str:
        base = name = file_slug(path)
        k = 1
        while used.setdefault(name, path) != path:
            k += 1
            name = f"{base}_{k}"
        return name

    for g in summary.groups:
        first = next((summary.records[i] for i in g.records if summary.records[i].ok), None)
        if first is None:
            continue
        f = files[first.path]
        for kind in f.curves:
            if (f.path, kind) not in done:
                done.add((f.path, kind))
                fig = curves.figure(f, kind, outdir / f"{kind}_{name_of(f.path)}.png")
                if fig is not None:
                    figures.append(fig)
    figures += hyperparameter_scans(summary, outdir)
    figures += estimate_boxplots(summary, outdir)
    if (fig := pull_figure(summary, outdir)) is not None:
        figures.append(fig)
    return figures
