"""``python -m rgpipe inspect FILE``: the tree, the provenance and the estimates of a file.

Estimates are printed with their reference value where the file holds one (``exact`` or
``literature``, its source listed once under ``references``) and the pull
(mean - reference)/error; array estimates as a table over their parameter or time axis
(head and tail beyond ``--rows`` rows) with the largest |pull| and, where errors are NaN,
how many and the reason the file stores.  Dimensionless quantities (units ``1``) show no
unit, and statistics over independent seeds no tau_int (0.5 by construction).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import h5py
import numpy as np

from rgpipe.runtime import positive_int
from rgpipe.store import (
    DIGEST_ATTR,
    StoreError,
    content_digest,
    file_sha256,
    open_result,
    read_stats,
)


def _fmt_value(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"array{value.shape} {value.dtype}"
    return str(value)


def _tree(fh: h5py.File, out: TextIO) -> None:
    def visit(name: str, obj: h5py.HLObject) -> None:
        depth = name.count("/")
        pad = "  " * (depth + 1)
        leaf = name.rsplit("/", 1)[-1]
        if isinstance(obj, h5py.Dataset):
            extra = f", {obj.compression}" if obj.compression else ""
            print(f"{pad}{leaf}  {obj.shape} {obj.dtype}{extra}", file=out)
        else:
            print(f"{pad}{leaf}/", file=out)

    print("/", file=out)
    fh.visititems(visit)


def _attributes(fh: h5py.File, out: TextIO) -> None:
    print("\nattributes:", file=out)
    for key in sorted(fh.attrs):
        value = fh.attrs[key]
        if key in ("config_json", "package_versions", "inputs_json"):
            value = json.dumps(json.loads(value), sort_keys=True)
        print(f"  {key} = {_fmt_value(value)}", file=out)
    if "provenance" in fh:
        for key in sorted(fh["provenance"].attrs):
            print(f"  provenance.{key} = {_fmt_value(fh['provenance'].attrs[key])}", file=out)


ROWS = 12
"""Rows of an array estimate printed in full; a longer one shows its head and tail."""


@dataclass(frozen=True)
class _Reference:
    """An estimate's reference value(s) (broadcast to its mean), source and kind."""

    values: np.ndarray
    source: str
    kind: str
    missing: str


@dataclass(frozen=True)
class _Estimate:
    """What ``inspect`` shows of one ``/estimates/<name>`` group (arrays of the mean's shape)."""

    name: str
    mean: np.ndarray
    error: np.ndarray
    tau: np.ndarray | None
    units: str
    reference: _Reference | None
    status: np.ndarray | None
    meaning: dict[int, str]
    error_model: str
    members: str


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _units(attrs: Mapping[str, object]) -> str:
    """The units attribute, empty for a dimensionless quantity (``1``, or a text saying
    ``dimensionless``)."""
    units = _text(attrs.get("units", "")).strip()
    return "" if units in ("", "1") or "dimensionless" in units else units


def _kind(declared: object, source: str) -> str:
    """``exact`` or ``literature``: the declared ``reference_kind``, or for files written
    before it, literature where the source says so (as the aggregate stage reads them)."""
    if declared is not None:
        return "exact" if _text(declared).strip().lower() == "exact" else "literature"
    return "literature" if "literature" in source.lower() else "exact"


def _reference(grp: h5py.Group, shape: tuple[int, ...]) -> _Reference | None:
    """The ``exact`` dataset (MC files) or attribute (critical and training files)."""
    if "exact" in grp:
        node = grp["exact"]
        attrs = node.attrs
        values = np.asarray(node[()], dtype=np.float64)
    elif "exact" in grp.attrs:
        attrs = grp.attrs
        values = np.asarray(grp.attrs["exact"], dtype=np.float64)
    else:
        return None
    values = np.broadcast_to(values, shape)
    if not np.isfinite(values).any():
        return None
    source = _text(attrs.get("reference", ""))
    missing = _text(attrs.get("missing", ""))
    return _Reference(values, source, _kind(attrs.get("reference_kind"), source), missing)


def _estimate(name: str, grp: h5py.Group) -> _Estimate:
    st = read_stats(grp)
    mean = np.asarray(st.mean, dtype=np.float64)
    error = np.broadcast_to(np.asarray(st.error_of_mean, dtype=np.float64), mean.shape)
    tau = np.broadcast_to(np.asarray(st.tau_int, dtype=np.float64), mean.shape)
    model = _text(grp.attrs.get("error_model", ""))
    status, meaning = None, {}
    if "status" in grp:
        status = np.broadcast_to(np.asarray(grp["status"][()]), mean.shape)
        meaning = {int(k): v for k, v in json.loads(grp["status"].attrs["meaning"]).items()}
    return _Estimate(
        name=name,
        mean=mean,
        error=error,
        # tau_int is 0.5 by construction for statistics over independent seeds (and absent
        # in fits): shown only for Gamma-method estimates of a Markov chain
        tau=None if model or not np.isfinite(tau).any() else tau,
        units=_units(grp.attrs),
        reference=_reference(grp, mean.shape),
        status=status,
        meaning=meaning,
        error_model=model,
        members=(
            f"{int(grp.attrs['n_valid'])}/{int(grp.attrs['n_models'])} seeds"
            if "n_valid" in grp.attrs and "n_models" in grp.attrs
            else ""
        ),
    )


def _pulls(est: _Estimate) -> np.ndarray:
    """(mean - reference) / error where all three are finite (NaN elsewhere)."""
    if est.reference is None:
        return np.full(est.mean.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        pull = (est.mean - est.reference.values) / est.error
    return np.where(np.isfinite(pull), pull, np.nan)


def _axis(fh: h5py.File, est: _Estimate) -> tuple[str, np.ndarray] | None:
    """The axis a 1-D estimate runs along: the swept parameter, ``tau_<name>`` or another
    1-D dataset of ``/parameters`` of its length."""
    if est.mean.ndim != 1 or "parameters" not in fh:
        return None
    par = fh["parameters"]
    swept = _text(par.attrs.get("parameter", ""))
    names = [swept, f"tau_{est.name}", *par]
    for key in dict.fromkeys(n for n in names if n in par):
        values = np.asarray(par[key][()])
        if values.ndim == 1 and len(values) == len(est.mean):
            return key, values
    return None


class _Notes:
    """Numbered reference sources, printed once after the estimates."""

    def __init__(self) -> None:
        self.texts: dict[str, int] = {}

    def cite(self, ref: _Reference) -> str:
        number = self.texts.setdefault(ref.source or "(no source recorded)", len(self.texts) + 1)
        return f"{ref.kind} [{number}]"

    def print(self, out: TextIO) -> None:
        if self.texts:
            print("references:", file=out)
            for text, number in self.texts.items():
                print(f"  [{number}] {text}", file=out)


def _fmt(x: float, spec: str) -> str:
    return "nan" if not np.isfinite(x) else format(x, spec)


def _why_nan(est: _Estimate, where: np.ndarray) -> list[tuple[int, str]]:
    """(number of points, stored reason) of the points ``where`` (a NaN error), by reason."""
    if not where.any():
        return []
    if est.status is None:
        return [(int(where.sum()), "no reason stored")]
    codes = np.atleast_1d(est.status)[where]
    return [
        (int(np.sum(codes == c)), f"[{c}] {est.meaning.get(int(c), 'no reason stored')}")
        for c in np.unique(codes)
    ]


def _scalar(est: _Estimate, width: int, notes: _Notes, out: TextIO) -> None:
    m, e = float(est.mean), float(est.error)
    line = f"  {est.name:{width}s}  {_fmt(m, '.8g')} +- {_fmt(e, '.2g')}"
    if est.tau is not None:
        line += f" [{_fmt(float(est.tau), '.3g')}]"
    if est.units:
        line += f" {est.units}"
    if est.members:
        line += f" ({est.members})"
    if est.reference is not None:
        ref = float(est.reference.values)
        line += f"; {notes.cite(est.reference)} {_fmt(ref, '.8g')}"
        pull = float(_pulls(est))
        if np.isfinite(pull):
            line += f", pull {pull:+.2f}"
    print(line, file=out)
    for _, why in _why_nan(est, np.atleast_1d(~np.isfinite(est.error))):
        print(f"  {'':{width}s}  (error NaN: {why})", file=out)


def _rows(n: int, limit: int) -> list[int | None]:
    """Indices to print: all up to ``limit``, else ``limit`` of them, head and tail around a
    gap (None)."""
    if n <= limit:
        return list(range(n))
    head = max(1, limit // 2)
    tail = max(1, limit - head)
    return [*range(head), None, *range(n - tail, n)]


def _array(fh: h5py.File, est: _Estimate, notes: _Notes, out: TextIO, limit: int = ROWS) -> None:
    n = est.mean.size
    axis = _axis(fh, est)
    label = axis[0] if axis else "index"
    head = f"  {est.name}"
    if est.units:
        head += f" ({est.units})"
    head += f", {n} points" + (f" over {label}" if axis else f", shape {est.mean.shape}")
    pull = _pulls(est)
    if est.reference is not None:
        n_ref = int(np.isfinite(est.reference.values).sum())
        head += f"; {notes.cite(est.reference)}" + (f" at {n_ref}" if n_ref < n else "")
        if np.isfinite(pull).any():
            worst = float(np.nanmax(np.abs(pull)))
            head += f", max |pull| {worst:.2f} over {int(np.isfinite(pull).sum())}"
    print(head + ":", file=out)
    if est.mean.ndim == 1:
        w = max(12, len(label))
        cols = [f"{label:>{w}s}", f"{'mean':>15s}", f"{'error':>8s}"]
        cols += [f"{'tau_int':>7s}"] * (est.tau is not None)
        cols += [f"{est.reference.kind:>15s}", f"{'pull':>6s}"] if est.reference else []
        cols += [f"{'status':>6s}"] * (est.status is not None)
        print("    " + " ".join(cols), file=out)
        x = axis[1] if axis else np.arange(n)
        rows = _rows(n, limit)
        for i in rows:
            if i is None:
                print(f"    {'...':>{w}s} ({n - len(rows) + 1} rows not shown)", file=out)
                continue
            row = [
                f"{_fmt(float(x[i]), '.6g'):>{w}s}",
                f"{_fmt(est.mean[i], '.8g'):>15s}",
                f"{_fmt(est.error[i], '.2g'):>8s}",
            ]
            row += [f"{_fmt(est.tau[i], '.3g'):>7s}"] if est.tau is not None else []
            if est.reference is not None:
                row += [f"{_fmt(est.reference.values[i], '.8g'):>15s}"]
                row += [f"{_fmt(pull[i], '+.2f'):>6s}"]
            row += [f"{int(est.status[i]):>6d}"] if est.status is not None else []
            print("    " + " ".join(row), file=out)
    bad_mean, bad_err = ~np.isfinite(est.mean), ~np.isfinite(est.error)
    if bad_err.any():
        print(
            f"    NaN error at {int(bad_err.sum())} of {n} points "
            f"(NaN mean at {int(bad_mean.sum())}):",
            file=out,
        )
        for count, why in _why_nan(est, bad_err):
            print(f"      {count} x {why}", file=out)
    if est.reference is not None and est.reference.missing:
        print(f"    {est.reference.kind} value missing: {est.reference.missing}", file=out)


def _title(fh: h5py.File, items: list[_Estimate]) -> str:
    """The estimates' heading: what the columns are, and the parameter of a one-point job."""
    title = "estimates (mean +- error"
    if any(e.tau is not None for e in items):
        title += " [tau_int]"
    if any(e.reference is not None for e in items):
        title += "; pull = (mean - reference)/error"
    title += ")"
    par = fh["parameters"] if "parameters" in fh else None
    swept = _text(par.attrs.get("parameter", "")) if par is not None else ""
    if swept and swept in par and par[swept].ndim == 0:
        title += f" at {swept} = {float(par[swept][()]):.6g}"
    return title + ":"


def _estimates(fh: h5py.File, out: TextIO, limit: int = ROWS) -> None:
    """Every estimate: scalars one per line, arrays as a table over their parameter or time
    axis (head and tail beyond ``limit`` rows), with references, pulls and NaN reasons."""
    if "estimates" not in fh:
        return
    items = [
        _estimate(name, grp)
        for name, grp in fh["estimates"].items()
        if isinstance(grp, h5py.Group) and "mean" in grp
    ]
    if not items:
        return
    print("\n" + _title(fh, items), file=out)
    notes = _Notes()
    width = max(len(e.name) for e in items)
    for est in items:
        if est.mean.ndim == 0:
            _scalar(est, width, notes, out)
        else:
            _array(fh, est, notes, out, limit)
    models: dict[str, list[str]] = {}
    for est in items:
        if est.error_model:
            models.setdefault(est.error_model, []).append(est.name)
    for model, names in models.items():
        print(f"errors of {', '.join(names)}: {model}", file=out)
    notes.print(out)


def _summary_table(fh: h5py.File, out: TextIO) -> None:
    """The group table of an ``aggregate`` summary file: per group the runs, the mean and
    its standard error, the reference (exact or literature, with its source) and the bias,
    and the bootstrap interval where there is one."""
    if "summary" not in fh:
        return
    t = fh["summary"]

    def col(name: str, default: object = "") -> np.ndarray:
        if name not in t:
            return np.full(len(t["group"]), default, dtype=object)
        ds = t[name]
        return ds.asstr()[()] if ds.dtype.kind == "O" else ds[()]

    print(
        "\nsummary (mean +- its standard error over the runs; bias = mean - reference):", file=out
    )
    notes = _Notes()
    refs, kinds = col("reference"), col("reference_kind", None)
    for i in range(len(col("group"))):
        name = f"{col('system')[i]} {col('method')[i]} {col('estimate')[i]}"
        label = col("label")[i]
        if label and label != "-":
            name += f" [{label}]"
        line = (
            f"  {name}: n={col('n')[i]} failed={col('n_failed')[i]} "
            f"mean={col('mean')[i]:.6g} +- {_fmt(col('bias_error')[i], '.2g')}"
        )
        units = _units({"units": col("units")[i]})
        line += f" {units}" if units else ""
        exact = float(col("exact")[i])
        kind = kinds[i] if kinds[i] is not None else _kind(None, refs[i])
        if np.isfinite(exact) and kind != "none":
            ref = _Reference(np.asarray(exact), refs[i], _kind(kind, refs[i]), "")
            line += f"; {notes.cite(ref)} {exact:.6g}, bias {col('bias')[i]:+.3g}"
        lo, hi = float(col("ci_low")[i]), float(col("ci_high")[i])
        if np.isfinite(lo) and np.isfinite(hi):
            line += f", {float(col('confidence', 0.95)[i]):.0%} CI [{lo:.6g}, {hi:.6g}]"
        print(line, file=out)
    notes.print(out)


def describe(
    path: str, out: TextIO = sys.stdout, estimates_only: bool = False, rows: int = ROWS
) -> None:
    """Print the tree, root attributes, provenance and estimates of an rgpipe file (array
    estimates in full up to ``rows`` points, else their head and tail)."""
    with open_result(path) as fh:
        print(f"{path}  (stage {fh.attrs['stage']}, schema {fh.attrs['schema_version']})", file=out)
        if not estimates_only:
            _tree(fh, out)
            _attributes(fh, out)
        _estimates(fh, out, rows)
        _summary_table(fh, out)


def verify(path: str) -> list[str]:
    """Problems of a result file's integrity: its content against the digest recorded when
    it was written (:func:`rgpipe.store.content_digest`), and each recorded input against
    what was recorded when it was read (an rgpipe input by its content digest, recomputed
    now; any other file by the sha256 of its bytes).  Empty when sound.
    """
    problems = []
    with open_result(path) as fh:
        recorded = fh.attrs.get(DIGEST_ATTR)
        if recorded is None:
            problems.append(f"{path}: no {DIGEST_ATTR} recorded (written by an older rgpipe)")
        elif content_digest(fh) != recorded:
            problems.append(
                f"{path}: content changed after it was written (digest {recorded[:12]}... "
                f"recorded, {content_digest(fh)[:12]}... now)"
            )
        inputs = json.loads(fh.attrs.get("inputs_json", "[]"))
    for item in inputs:
        src = Path(item["path"])
        if not src.exists():
            problems.append(f"{path}: input {item['path']} is missing")
        elif _current(src, "content_sha256" in item) != item.get(
            "content_sha256", item.get("sha256")
        ):
            problems.append(
                f"{path}: input {item['path']} changed since it was read (stale result, "
                "or an altered input)"
            )
    return problems


def _current(path: Path, rgpipe_file: bool) -> str | None:
    """The content digest of an rgpipe file as it is now, or the sha256 of another file."""
    if not rgpipe_file:
        return file_sha256(path)
    try:
        with open_result(path) as fh:
            return content_digest(fh)
    except StoreError:
        return None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="rgpipe HDF5 files")
    p.add_argument("--estimates", action="store_true", help="print only the estimates")
    p.add_argument(
        "--rows",
        type=positive_int,
        default=ROWS,
        help="rows of an array estimate printed in full; a longer one shows its head and "
        f"tail [default: {ROWS}]",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="check each file's content against its recorded digest and its recorded input "
        "files against their sha256; exit 1 naming every problem",
    )


def run(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            if args.verify:
                problems = verify(path)
                for line in problems:
                    print(f"rgpipe inspect: {line}", file=sys.stderr)
                if problems:
                    status = 1
                else:
                    print(f"{path}: verified (content and {_n_inputs(path)} input(s))")
            else:
                describe(path, estimates_only=args.estimates, rows=args.rows)
        except StoreError as exc:
            print(f"rgpipe inspect: {exc}", file=sys.stderr)
            status = 1
    return status


def _n_inputs(path: str) -> int:
    with open_result(path) as fh:
        return len(json.loads(fh.attrs.get("inputs_json", "[]")))
