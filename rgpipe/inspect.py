"""``python -m rgpipe inspect FILE``: the tree, the provenance and the estimates of a file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

import h5py
import numpy as np

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


def _estimates(fh: h5py.File, out: TextIO) -> None:
    if "estimates" not in fh:
        return
    par_name, par = None, None
    if "parameters" in fh and len(fh["parameters"]):
        par_name = next(iter(fh["parameters"]))
        par = np.atleast_1d(fh["parameters"][par_name][()])
    print("\nestimates (mean +- error_of_mean [tau_int]):", file=out)
    for name in fh["estimates"]:
        grp = fh["estimates"][name]
        if not isinstance(grp, h5py.Group) or "mean" not in grp:
            continue
        st = read_stats(grp)
        means = np.atleast_1d(st.mean)
        errs = np.atleast_1d(st.error_of_mean) * np.ones_like(means)
        taus = np.atleast_1d(st.tau_int) * np.ones_like(means)
        units = grp.attrs.get("units", "")
        exact = grp.attrs.get("exact")
        ref = (
            f"  (exact {exact:.8g}: {grp.attrs.get('reference', '')})" if exact is not None else ""
        )
        for i, (m, e, t) in enumerate(zip(means, errs, taus, strict=True)):
            at = (
                f" at {par_name}={par[i]:.6g}" if par is not None and len(par) == len(means) else ""
            )
            tau = f" [{t:.3g}]" if np.isfinite(t) else ""
            print(f"  {name:20s}{at}: {m:.8g} +- {e:.2g}{tau} {units}{ref}", file=out)


def _summary_table(fh: h5py.File, out: TextIO) -> None:
    """The group table of an ``aggregate`` summary file."""
    if "summary" not in fh:
        return
    t = fh["summary"]

    def col(name: str) -> np.ndarray:
        ds = t[name]
        return ds.asstr()[()] if ds.dtype.kind == "O" else ds[()]

    print("\nsummary (mean +- standard error of the mean over runs; bias against exact):", file=out)
    for i in range(len(col("group"))):
        mean, err, exact = col("mean")[i], col("bias_error")[i], col("exact")[i]
        name = f"{col('system')[i]} {col('method')[i]} {col('estimate')[i]}"
        label = col("label")[i]
        if label and label != "-":
            name += f" [{label}]"
        print(
            f"  {name}: n={col('n')[i]} failed={col('n_failed')[i]} "
            f"mean={mean:.6g} +- {err:.2g} exact={exact:.6g} bias={col('bias')[i]:+.3g} "
            f"95% CI=[{col('ci_low')[i]:.6g}, {col('ci_high')[i]:.6g}]",
            file=out,
        )


def describe(path: str, out: TextIO = sys.stdout, estimates_only: bool = False) -> None:
    """Print the tree, root attributes, provenance and estimates of an rgpipe file."""
    with open_result(path) as fh:
        print(f"{path}  (stage {fh.attrs['stage']}, schema {fh.attrs['schema_version']})", file=out)
        if not estimates_only:
            _tree(fh, out)
            _attributes(fh, out)
        _estimates(fh, out)
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
                describe(path, estimates_only=args.estimates)
        except StoreError as exc:
            print(f"rgpipe inspect: {exc}", file=sys.stderr)
            status = 1
    return status


def _n_inputs(path: str) -> int:
    with open_result(path) as fh:
        return len(json.loads(fh.attrs.get("inputs_json", "[]")))
