"""Rerun the jobs of a reference ``results`` directory with this tree; compare bit for bit.

A workflow run leaves one log per job whose first line is the exact command
(``rgpipe: rerun with: python -m rgpipe <stage> ... --out <file>``).  This script reruns
every such command of the chosen stages (``--stages``, default the Monte Carlo, training
and critical-point jobs; one at a time, niced, from the reference directory's parent so
that a job reads the reference's own inputs) into a scratch directory and compares each
new file with the reference: the tree of groups and datasets, every dataset (dtype, shape,
chunking, filters, bytes) and every attribute, outside ``/provenance`` and the volatile
root attributes (:data:`VOLATILE_ROOT`).  Wall-clock timings (:data:`TIMING_DATASETS`, the
timing keys of the oscillator's ``meta_json``) are reported apart: they differ from run to
run.  A training job logged by rank 0 of an MPI run is rerun on one rank: a model's result
depends only on its seed.

Usage::

    python benchmarks/compare_outputs.py --ref /path/to/results --scratch /tmp/rerun
    python benchmarks/compare_outputs.py --ref ... --scratch ... --stages train critical
    python benchmarks/compare_outputs.py --ref ... --scratch ... --no-run  # compare only

Exit status 0 when every file matches (timings aside), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np

PREFIX = "rgpipe: rerun with: "
VOLATILE_ROOT = {
    "git_revision",
    "package_versions",
    "slurm_job_id",
    "world_size",
    "content_sha256",
}
"""Root attributes that describe the run, not the result (and the content digest, which
files written before it existed lack)."""
TIMING_DATASETS = {
    "diagnostics/seconds",
    "diagnostics/spin_updates_per_second",
    "diagnostics/seconds_thermalization",
    "diagnostics/seconds_measurement",
    "diagnostics/seconds_total",
    "diagnostics/sweeps_per_second",
}
"""Wall-clock timings (and rates derived from them)."""
TIMING_META = {
    "seconds_thermalization",
    "seconds_measurement",
    "seconds_total",
    "sweeps_per_second",
}
"""Timing keys of the oscillator's ``/parameters`` attribute ``meta_json``."""


def reference_jobs(ref: Path, stages: list[str]) -> list[tuple[Path, list[str]]]:
    """(reference file, command arguments after ``python -m rgpipe``) of every log of the
    stages (``mc``, ``train``, ``critical``)."""
    logs = sorted(log for stage in stages for log in (ref / "logs" / stage).rglob("*.log"))
    jobs = []
    for log in logs:
        first = log.read_text().splitlines()[0]
        if not first.startswith(PREFIX):
            raise ValueError(f"{log}: first line is not a rerun command: {first!r}")
        argv = shlex.split(first.removeprefix(PREFIX))
        if argv[:3] != ["python", "-m", "rgpipe"]:
            raise ValueError(f"{log}: not a python -m rgpipe command: {first!r}")
        out = argv[argv.index("--out") + 1]
        jobs.append((ref.parent / out, argv[3:]))
    return jobs


def rerun(argv: list[str], out: Path, root: Path, cwd: Path) -> None:
    """Run one command with this tree's rgpipe in ``cwd``, writing ``out``."""
    argv = list(argv)
    argv[argv.index("--out") + 1] = str(out)
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = ["nice", sys.executable, "-m", "rgpipe", *argv]
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=cwd)


def _same_value(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "O":
        return a.tolist() == b.tolist()
    return a.tobytes() == b.tobytes()


def _objects(fh: h5py.File) -> dict[str, Any]:
    out: dict[str, Any] = {"/": fh}
    fh.visititems(lambda name, obj: out.__setitem__(name, obj))
    return {k: v for k, v in out.items() if not k.startswith("provenance")}


def _meta_differences(a: str, b: str) -> tuple[list[str], list[str]]:
    """(differing timing keys, other differing keys) of two ``meta_json`` texts."""
    ja, jb = json.loads(a), json.loads(b)
    keys = sorted(set(ja) | set(jb))
    diff = [k for k in keys if ja.get(k, "<missing>") != jb.get(k, "<missing>")]
    return [k for k in diff if k in TIMING_META], [k for k in diff if k not in TIMING_META]


def compare(ref: Path, new: Path) -> tuple[list[str], list[str], int]:
    """(timing differences, other differences, number of datasets compared)."""
    timing, other = [], []
    n_datasets = 0
    with h5py.File(ref, "r") as fa, h5py.File(new, "r") as fb:
        oa, ob = _objects(fa), _objects(fb)
        for name in sorted(set(oa) ^ set(ob)):
            other.append(f"{name}: only in {'reference' if name in oa else 'new file'}")
        for name in sorted(set(oa) & set(ob)):
            a, b = oa[name], ob[name]
            if type(a) is not type(b):
                other.append(f"{name}: {type(a).__name__} vs {type(b).__name__}")
                continue
            if isinstance(a, h5py.Dataset):
                n_datasets += 1
                layout = ("dtype", "shape", "chunks", "compression", "compression_opts", "shuffle")
                for what in layout:
                    if getattr(a, what) != getattr(b, what):
                        other.append(f"{name}: {what} {getattr(a, what)} vs {getattr(b, what)}")
                if not _same_value(a[()], b[()]):
                    (timing if name in TIMING_DATASETS else other).append(f"{name}: values")
            skip = VOLATILE_ROOT if name == "/" else set()
            for key in sorted((set(a.attrs) | set(b.attrs)) - skip):
                if key not in a.attrs or key not in b.attrs:
                    other.append(f"{name} @{key}: only in one file")
                elif key == "meta_json":
                    t, o = _meta_differences(a.attrs[key], b.attrs[key])
                    timing += [f"{name} @meta_json[{k}]" for k in t]
                    other += [f"{name} @meta_json[{k}]" for k in o]
                elif not _same_value(a.attrs[key], b.attrs[key]):
                    other.append(f"{name} @{key}")
    return timing, other, n_datasets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", type=Path, required=True, help="reference results directory")
    parser.add_argument("--scratch", type=Path, required=True, help="where to write reruns")
    parser.add_argument("--no-run", action="store_true", help="compare existing reruns only")
    parser.add_argument(
        "--stages", nargs="+", default=["mc", "train", "critical"], help="stages to rerun"
    )
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    failed = 0
    ref = args.ref.resolve()
    for ref_file, job in reference_jobs(ref, args.stages):
        rel = ref_file.relative_to(ref.parent)
        new_file = args.scratch.resolve() / rel
        if not args.no_run:
            new_file.parent.mkdir(parents=True, exist_ok=True)
            rerun(job, new_file, root, ref.parent)
        timing, other, n = compare(ref_file, new_file)
        status = "IDENTICAL" if not other else "DIFFERENT"
        failed += bool(other)
        print(f"{status} {rel} ({n} datasets)", flush=True)
        for line in timing:
            print(f"    timing differs: {line}")
        for line in other:
            print(f"    DIFFERS: {line}")
    print(f"{failed} file(s) differ outside timings")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
