"""Figures of the aggregate stage (matplotlib, Agg backend: no display needed).

:func:`make_plots` writes every figure a :class:`~rgpipe.analysis.aggregate.Summary` supports
and returns a :class:`Figure` (path, title, caption, source files) for each:

* ``bias_overview.png``: relative bias of every group with an exact value, with error bars;
* ``box_<system>_<estimate>.png``: one box per (method, swept hyper-parameters) of the per-run
  values, each run drawn as a point (with its error bar when it has one), the exact value as a
  horizontal line;
* ``scan_<system>_<method>_<estimate>_<key>.png``: group mean against one swept
  hyper-parameter, error bar the standard error of the mean (or, for a single run, its own
  error), one line per setting of the other swept keys;
* per group, for its first run (lowest seed): ``binder_<file>.png`` (Binder cumulants and the
  crossing), ``helicity_<file>.png`` (helicity modulus with 2T/pi), ``continuum_<file>.png``
  (E0 and the gap against a^2 with the fit and its a = 0 value), ``flow_<file>.png`` (the
  learned flow f(J) on the Ising axis with the critical points of every ensemble member).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from rgpipe.analysis.aggregate import UNREADABLE, FileResult, Group, Summary

DPI = 110
"""Resolution of the PNG files."""


@dataclass
class Figure:
    """A written figure.

    Attributes:
        path: the PNG file.
        kind: ``bias``, ``box``, ``scan``, ``binder``, ``helicity``, ``continuum`` or ``flow``.
        title: one line for the report.
        caption: what is shown, for the report.
        sources: the result files the figure is drawn from.
    """

    path: Path
    kind: str
    title: str
    caption: str
    sources: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (letters, digits, '.', '_', '-')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def _file_slug(path: str) -> str:
    """The last directory levels of a result path, e.g. ``ising_lieb_seed_1``."""
    parts = Path(path).with_suffix("").parts
    return slug("_".join(parts[-3:]))


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _fmt(x: float, digits: int = 5) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.{digits}g}"


def paren(value: float, error: float) -> str:
    """``value(error)`` with the error's two significant digits in parentheses, e.g.
    0.76426(20); the value alone (6 digits) without a finite positive error."""
    if not math.isfinite(value):
        return "nan"
    if not math.isfinite(error) or error <= 0:
        return f"{value:.6g}"
    digits = max(0, 1 - math.floor(math.log10(error)))
    err = round(error * 10**digits)
    return f"{value:.{digits}f}({err})"


def exact_word(reference: str) -> str:
    """``literature`` for a literature value (its reference says so), else ``exact``."""
    return "literature" if "literature" in reference.lower() else "exact"


def group_error(g: Group) -> tuple[float, str]:
    """Error bar of a group mean (``stats.bias_error``): the standard error of the mean
    (n >= 2) or the run's own error for a single run; with the name of what it is."""
    s = g.stats
    if s.n > 1:
        return s.bias_error, "standard error of the mean"
    if math.isfinite(s.bias_error):
        return s.bias_error, "error of the single run"
    return float("nan"), "none"


def _group_name(g: Group, with_method: bool = True) -> str:
    parts = [g.method] if with_method else []
    parts += [f"{k}={v}" for k, v in g.params.items()]
    return "\n".join(parts) or g.estimate


# ---------------------------------------------------------------------------------------------
# across-group figures


def bias_overview(summary: Summary, outdir: Path) -> Figure | None:
    """Relative bias (mean - exact)/|exact| of every group with an exact value and data (left)
    and the bias in units of its error (right, symmetric-log axis)."""
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
    err_abs = np.array([group_error(g)[0] for g in groups])
    rel = 100 * np.array([g.stats.relative_bias for g in groups])
    err = 100 * err_abs / np.array([abs(g.stats.exact) for g in groups])
    ax.errorbar(rel, y, xerr=np.where(np.isfinite(err), err, 0), fmt="o", color="C0", capsize=3)
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_yticks(y, [g.title for g in groups], fontsize=8)
    ax.set_xlabel("relative bias (mean - exact) / |exact|  [%]")
    ax.grid(axis="x", alpha=0.3)
    pull = np.array([g.stats.bias for g in groups]) / err_abs
    ok = np.isfinite(pull)
    ax2.plot(pull[ok], y[ok], "o", color="C1")
    for k in np.flatnonzero(~ok):
        ax2.annotate("no error", (0, y[k]), ha="center", va="center", fontsize=7, color="0.4")
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
    return Figure(
        _save(fig, outdir / "bias_overview.png"),
        "bias",
        "Bias of every group",
        "Left: relative bias of the group mean in percent, error bars the standard error of "
        "the mean (or the error of a single run) divided by |exact|. Right: the bias in units "
        "of that error; the green band marks |bias| < 2 errors.",
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
            if vals.size:
                data.append(vals)
                positions.append(k)
                x = k + rng.uniform(-0.12, 0.12, vals.size)
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
            ax.boxplot(
                data,
                positions=positions,
                widths=0.5,
                showfliers=False,
                zorder=2,
                medianprops={"color": "C1"},
            )
            means = [g.stats.mean for g in groups if g.stats.n]
            ax.plot(positions, means, "D", color="w", mec="k", ms=6, zorder=4, label="group mean")
        exact = [g.stats.exact for g in groups if math.isfinite(g.stats.exact)]
        ref = next((g.reference for g in groups if g.reference), "")
        if exact:
            ax.axhline(
                exact[0],
                color="C3",
                ls="--",
                lw=1.2,
                zorder=1,
                label=f"{exact_word(ref)} {_fmt(exact[0], 7)}",
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
                _save(fig, outdir / f"box_{slug(system)}_{slug(estimate)}.png"),
                "box",
                f"{system}: {estimate} across runs",
                "Boxes: quartiles and 1.5 IQR whiskers of the per-run values (orange: median, "
                "diamond: mean); "
                "points: runs (horizontal jitter only); dashed line: exact value"
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


_CLUSTER_VALUE = re.compile(r"^(\d+)x(\d+)$")
_IRREP_TERM = re.compile(r"^(\d*)(A1|A2|B1|B2|E)$")
_IRREP_DIM = {"A1": 1, "A2": 1, "B1": 1, "B2": 1, "E": 2}


def ladder_key(value: str) -> tuple[int, int, int, str]:
    """Sort key putting categorical hyper-parameter values in ladder order.

    Blocks by size (``"plaquette"`` is the 1 x 1 cluster, then ``"NxM"`` by N M, then N),
    representations by their dimension (A1 < A1+E < 2A1+E), anything else alphabetically
    after them; e.g. ``["4x2", "plaquette", "2x2"]`` -> plaquette, 2x2, 4x2.
    """
    if value == "plaquette":
        return (0, 1, 1, value)
    match = _CLUSTER_VALUE.match(value)
    if match:
        nx, ny = int(match.group(1)), int(match.group(2))
        return (0, nx * ny, nx, value)
    terms = [_IRREP_TERM.match(t.strip()) for t in value.split("+")]
    if all(terms):
        dim = sum(int(t.group(1) or 1) * _IRREP_DIM[t.group(2)] for t in terms)
        return (1, dim, len(terms), value)
    return (2, 0, 0, value)


def hyperparameter_scans(summary: Summary, outdir: Path) -> list[Figure]:
    """Group mean against each swept key with >= 2 values, per (system, method, estimate)."""
    by_key: dict[tuple[str, str, str], list[Group]] = {}
    for g in summary.groups:
        if g.params:
            by_key.setdefault((g.system, g.method, g.estimate), []).append(g)
    figures = []
    for (system, method, estimate), groups in by_key.items():
        for key in groups[0].params:
            values = sorted({g.params[key] for g in groups}, key=ladder_key)
            if len(values) < 2:
                continue
            num = _numeric(values)
            if num is not None:
                values = [values[i] for i in np.argsort(num)]
                num = np.sort(num)
            xpos = dict(zip(values, num if num is not None else range(len(values)), strict=True))
            series: dict[str, list[Group]] = {}
            for g in groups:
                rest = ", ".join(f"{k}={v}" for k, v in g.params.items() if k != key)
                series.setdefault(rest, []).append(g)
            fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
            what = set()
            offsets = np.linspace(-0.08, 0.08, len(series)) if len(series) > 1 else [0.0]
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
                ax.errorbar(
                    x,
                    y,
                    yerr=np.nan_to_num(np.array(e)),
                    fmt="o-" if num is not None else "o",
                    capsize=3,
                    label=rest or None,
                )
            exact = [g.stats.exact for g in groups if math.isfinite(g.stats.exact)]
            if exact:
                ax.axhline(
                    exact[0],
                    color="C3",
                    ls="--",
                    lw=1.2,
                    label=f"{exact_word(groups[0].reference)} {_fmt(exact[0], 7)}",
                )
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
                    _save(
                        fig,
                        outdir
                        / f"scan_{slug(system)}_{slug(method)}_{slug(estimate)}_{slug(key)}.png",
                    ),
                    "scan",
                    f"{system}, {method}: {estimate} against {key}",
                    "Points: group means; error bars: " + " or ".join(sorted(what)) + "; "
                    "dashed line: exact value.",
                    sorted({summary.records[i].path for g in groups for i in g.records}),
                )
            )
    return figures


# ---------------------------------------------------------------------------------------------
# per-file figures


def _estimates_of(f: FileResult) -> dict[str, tuple[float, float, float]]:
    """estimate name -> (value, error, exact) of a file's file-level records."""
    return {r.estimate: (r.value, r.error, r.exact) for r in f.records if r.member < 0}


def _run_title(f: FileResult) -> str:
    """``system: <dir>/<file>`` naming the run of a per-file figure."""
    system = f.records[0].system if f.records else ""
    return f"{system}: {'/'.join(Path(f.path).parts[-2:])}"


def _zoom_limits(x: np.ndarray, curves: np.ndarray, errors: np.ndarray, lo: float, hi: float):
    """y-limits of the curves (with error bands) inside lo <= x <= hi, padded by 10%."""
    inside = (x >= lo) & (x <= hi)
    if not inside.any():
        return None
    ylo = np.nanmin(curves[:, inside] - errors[:, inside])
    yhi = np.nanmax(curves[:, inside] + errors[:, inside])
    pad = 0.1 * (yhi - ylo) or 0.01
    return ylo - pad, yhi + pad


def binder_plot(f: FileResult, path: Path) -> Figure:
    """Binder cumulants U_L against the coupling for every size (left) and a zoom on the
    crossing of the two largest sizes (right)."""
    d = f.curves["binder"]
    system = json.loads(f.config_json).get("system", "")
    xlabel = "hopping coupling beta" if system == "phi4" else "coupling K = J / k_B T"
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
    x, u_all, e_all = d["coupling"], np.asarray(d["binder"]), np.asarray(d["binder_error"])
    name, (_, _, exact) = next(iter(_estimates_of(f).items()), ("", (np.nan,) * 3))
    crossing = None
    if "crossing" in d and len(d["crossing"]):
        crossing = (float(d["crossing"][-1]), float(d["crossing_error"][-1]))
    for panel, ax in enumerate(axes):
        for k, L in enumerate(d["sizes"]):
            label = f"L = {int(L)}" if panel == 0 else None
            ax.plot(x, u_all[k], color=f"C{k}", label=label)
            ax.fill_between(
                x, u_all[k] - e_all[k], u_all[k] + e_all[k], color=f"C{k}", alpha=0.25, lw=0
            )
        if crossing is not None and math.isfinite(crossing[0]):
            c, ce = crossing
            L1, L2 = (int(v) for v in d["pairs"][-1])
            ax.axvspan(c - ce, c + ce, color="0.5", alpha=0.3, lw=0)
            label = f"crossing L = {L1}, {L2}: {paren(c, ce)}" if panel == 0 else None
            ax.axvline(c, color="0.3", lw=1, label=label)
        if math.isfinite(exact):
            word = exact_word(next((r.reference for r in f.records), ""))
            label = f"{word} {name} = {_fmt(exact, 7)}" if panel == 0 else None
            ax.axvline(exact, color="C3", ls="--", lw=1.2, label=label)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Binder cumulant U_L = 1 - <m^4>/(3<m^2>^2)")
    axes[0].set_title("all couplings")
    centre = crossing[0] if crossing and math.isfinite(crossing[0]) else exact
    if math.isfinite(centre):
        half = max(6 * (crossing[1] if crossing and math.isfinite(crossing[1]) else 0.0),
                   0.06 * (x.max() - x.min()))  # fmt: skip
        if math.isfinite(exact):
            half = max(half, 1.5 * abs(exact - centre))
        lo, hi = centre - half, centre + half
        axes[1].set_xlim(lo, hi)
        if (lim := _zoom_limits(x, u_all, e_all, lo, hi)) is not None:
            axes[1].set_ylim(*lim)
        axes[1].set_title("zoom on the crossing")
    else:
        axes[1].set_visible(False)
    fig.suptitle(f"Binder cumulants, {_run_title(f)}")
    fig.legend(loc="outside lower center", ncols=3, fontsize=8)
    return Figure(
        _save(fig, path),
        "binder",
        f"Binder cumulants of {f.path}",
        "Lines: Binder cumulant per size with its bootstrap error band (left: whole sweep, "
        "right: zoom); grey: crossing of the two largest sizes and its error; dashed: exact "
        "critical point.",
        [f.path],
    )


def helicity_plot(f: FileResult, path: Path) -> Figure:
    """Helicity modulus against T for every size, with 2T/pi and the T_BKT estimate."""
    d = f.curves["helicity"]
    fig, ax = plt.subplots(figsize=(8, 4.6), layout="constrained")
    tmin, tmax = np.nanmin(d["temperature"]), np.nanmax(d["temperature"])
    for k, L in enumerate(d["sizes"]):
        ax.errorbar(
            d["temperature"][k],
            d["helicity"][k],
            yerr=d["helicity_error"][k],
            fmt="o-",
            ms=3,
            capsize=2,
            color=f"C{k}",
            label=f"L = {int(L)}",
        )
    t = np.linspace(tmin, tmax, 50)
    ax.plot(t, 2 * t / np.pi, "k--", lw=1.2, label="2T / pi")
    name, (value, error, exact) = next(iter(_estimates_of(f).items()), ("", (np.nan,) * 3))
    if math.isfinite(value):
        ax.axvspan(value - error, value + error, color="0.5", alpha=0.3, lw=0)
        ax.axvline(value, color="0.3", lw=1, label=f"{name} = {paren(value, error)}")
    if math.isfinite(exact):
        ax.axvline(exact, color="C3", ls=":", lw=1.5, label=f"literature {_fmt(exact, 6)}")
    ax.set_xlabel("temperature T [J / k_B]")
    ax.set_ylabel("helicity modulus Upsilon_L [J]")
    ax.set_title(f"Helicity modulus, {_run_title(f)}")
    fig.legend(loc="outside right upper", fontsize=8)
    ax.grid(alpha=0.3)
    return Figure(
        _save(fig, path),
        "helicity",
        f"Helicity modulus of {f.path}",
        "Points: helicity modulus per size; dashed: the universal jump line 2T/pi; grey: "
        "T_BKT from the Weber-Minnhagen fit with its error; dotted: literature value.",
        [f.path],
    )


def continuum_plot(f: FileResult, path: Path) -> Figure:
    """E0 and the gap against a^2 with the fit in powers of a and the a = 0 estimate."""
    from rgpipe.physics.oscillator import extrapolate_continuum

    d = f.curves["continuum"]
    powers = tuple(json.loads(f.config_json).get("powers", [0, 2]))
    est = _estimates_of(f)
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
            ax.axhline(exact, color="C3", ls="--", lw=1.2, label=f"exact {_fmt(exact, 7)}")
        ax.set_xlabel("a^2 (lattice spacing squared)")
        ax.set_ylabel(f"{label} (hbar = 1)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Continuum extrapolation, {_run_title(f)}")
    return Figure(
        _save(fig, path),
        "continuum",
        f"Continuum extrapolation of {f.path}",
        f"Points: runs at several lattice spacings; line and band: weighted fit in powers "
        f"{list(powers)} of a; square: the a = 0 value; dashed: exact diagonalisation.",
        [f.path],
    )


def flow_plot(f: FileResult, path: Path) -> Figure:
    """The learned flow f_0(J0, 0, ..., 0) of every member, with the critical points."""
    d = f.curves["flow"]
    exact = next((r.exact for r in f.records if r.estimate == "J_c"), float("nan"))
    fig, ax = plt.subplots(figsize=(6.8, 4.6), layout="constrained")
    J0, flow = d["J0"], d["f"]
    for m in range(flow.shape[0]):
        ax.plot(
            J0, flow[m, :, 0], color="C0", lw=0.8, alpha=0.5, label="members" if m == 0 else None
        )
    if flow.shape[0] > 1:
        ax.plot(J0, np.nanmean(flow[:, :, 0], axis=0), color="C0", lw=2, label="mean over members")
    ax.axhline(0.0, color="k", lw=0.8)
    jc = np.asarray(d["J_c"], float)
    ax.plot(
        jc,
        np.zeros_like(jc),
        "o",
        color="C1",
        ms=6,
        mfc="none",
        zorder=4,
        label="J_c per member (critical surface on the Ising axis)",
    )
    fp_x = [
        fp[k, 0]
        for fp, rel in zip(d["fixed_points"], d["n_relevant"], strict=True)
        for k in range(len(fp))
        if rel[k] == 1
    ]
    if fp_x:
        ax.plot(
            fp_x,
            np.zeros(len(fp_x)),
            "x",
            color="C2",
            ms=8,
            mew=2,
            zorder=5,
            label="critical fixed points J*_0 (one relevant direction)",
        )
    if math.isfinite(exact):
        ax.axvline(exact, color="C3", ls="--", lw=1.2, label=f"exact J_c = {_fmt(exact, 7)}")
    n = flow.shape[-1]
    ax.set_xlabel("Ising coupling J0 (other couplings 0)")
    ax.set_ylabel("learned flow f_0(J) = J0' - J0")
    ax.set_title(
        f"Learned RG flow, {_run_title(f)}\n{flow.shape[0]} members, "
        f"{n} coupling{'s' if n > 1 else ''}"
    )
    ax.legend(fontsize=8, loc="best", framealpha=0.95)
    ax.grid(alpha=0.3)
    return Figure(
        _save(fig, path),
        "flow",
        f"Learned RG flow of {f.path}",
        "Thin lines: f_0 of each ensemble member on the Ising axis J = (J0, 0, ...); thick: "
        "their mean; circles: each member's J_c; crosses: first components of the critical "
        "fixed points; dashed: exact J_c.",
        [f.path],
    )


PER_FILE = {
    "binder": binder_plot,
    "helicity": helicity_plot,
    "continuum": continuum_plot,
    "flow": flow_plot,
}
"""Per-file figure makers by curve kind."""


def make_plots(summary: Summary, outdir: str | Path) -> list[Figure]:
    """Write every figure into ``outdir``; return them in report order."""
    outdir = Path(outdir)
    figures: list[Figure] = []
    if (fig := bias_overview(summary, outdir)) is not None:
        figures.append(fig)
    figures += estimate_boxplots(summary, outdir)
    figures += hyperparameter_scans(summary, outdir)
    files = {f.path: f for f in summary.files}
    done: set[tuple[str, str]] = set()
    used: dict[str, str] = {}  # file slug -> path

    def name_of(path: str) -> str:
        base = name = _file_slug(path)
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
        for kind, maker in PER_FILE.items():
            if kind in f.curves and (f.path, kind) not in done:
                done.add((f.path, kind))
                figures.append(maker(f, outdir / f"{kind}_{name_of(f.path)}.png"))
    return figures
