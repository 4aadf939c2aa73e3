"""Test helpers: the repository root, running rgpipe as a user would, reading files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def user_env() -> dict[str, str]:
    """Environment of a user shell with the project's interpreter first on PATH."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_rgpipe(*args: str, cwd: Path | None = None, check: bool = True, timeout: float = 600):
    """Run ``python -m rgpipe ARGS`` in a subprocess; return the CompletedProcess."""
    proc = subprocess.run(
        [sys.executable, "-m", "rgpipe", *args],
        cwd=cwd or ROOT,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"rgpipe {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def datasets(path) -> dict[str, np.ndarray]:
    """Every dataset of an HDF5 file, by name."""
    out = {}
    with h5py.File(path, "r") as fh:
        fh.visititems(
            lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None
        )
    return out


def science(path, ignore_attrs=()) -> dict[str, object]:
    """Every dataset and attribute of a result file outside ``/provenance`` (where the
    volatile facts live), by name (attributes as ``@group/name``), except the root
    attributes in ``ignore_attrs``."""
    out: dict[str, object] = {}
    with h5py.File(path, "r") as fh:
        out.update({f"@/{k}": v for k, v in fh.attrs.items() if k not in ignore_attrs})

        def visit(name, obj):
            if name == "provenance" or name.startswith("provenance/"):
                return
            out.update({f"@{name}/{k}": v for k, v in obj.attrs.items()})
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]

        fh.visititems(visit)
    return out


def assert_same_science(a, b, ignore_attrs=()) -> None:
    """Two result files agree bit for bit outside ``/provenance``."""
    sa, sb = science(a, ignore_attrs), science(b, ignore_attrs)
    assert sa.keys() == sb.keys(), sorted(sa.keys() ^ sb.keys())
    for name in sorted(sa):
        np.testing.assert_array_equal(sa[name], sb[name], err_msg=name)
