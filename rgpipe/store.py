"""HDF5 result files: one job writes one file, atomically, self-describing.

Conventions (see README, "HDF5 files"):

* the file is written as ``<name>.tmp`` and renamed with :func:`os.replace` only after
  the writer finished without error, so a final name never holds a half-written file;
* root attributes carry the provenance every reader can rely on: ``rgpipe_version``,
  ``schema_version``, ``stage``, ``config_json`` (canonical JSON of the configuration
  slice the job depends on), ``config_sha256``, ``git_revision``, ``package_versions``
  (JSON), ``seed``, ``world_size``, ``slurm_job_id``, ``inputs_json`` (input files with
  their sha256) and ``complete``;
* volatile facts (time, host, command line, duration) live in the ``/provenance`` group
  so that two runs with the same seed differ only there;
* statistics are groups holding ``mean``, ``error_of_mean``, ``variance`` and ``tau_int``.

Readers go through :func:`open_result`, which opens read-only and fails with a message
naming the file when it is missing, truncated, corrupt, foreign or of another schema.
HDF5 file locking can be switched off on network file systems by exporting
``HDF5_USE_FILE_LOCKING=FALSE`` (honoured by the HDF5 library itself).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from rgpipe import __version__
from rgpipe.config import canonical_json, config_hash
from rgpipe.runtime import PROCESS_START, rerun_command
from rgpipe.stats import Stats

SCHEMA_VERSION = 1
"""Version of the file layout; bumped on any incompatible change."""

_TRACKED_PACKAGES = (
    "numpy",
    "scipy",
    "h5py",
    "numba",
    "torch",
    "snakemake",
    "mpi4py",
    "jsonschema",
)


class StoreError(OSError):
    """A result file is missing, unreadable, foreign or of an unsupported schema."""


@cache
def git_revision() -> str:
    """Git commit of the rgpipe source tree (``+dirty`` if modified), or ``unknown``.

    ``RGPIPE_GIT_REVISION`` overrides the lookup (for installs outside a checkout).
    """
    if env := os.environ.get("RGPIPE_GIT_REVISION"):
        return env
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


@cache
def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages whose behaviour the results depend on."""
    out = {"python": platform.python_version()}
    for name in _TRACKED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def file_sha256(path: str | Path) -> str:
    """sha256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


DIGEST_ATTR = "content_sha256"
"""Root attribute holding :func:`content_digest` of the file as written."""


def input_record(path: str | Path) -> dict[str, str]:
    """What a result records of one input file: its path and, for an rgpipe result, the
    content digest it was written with (equal for two runs of one job, unlike the bytes,
    which hold the volatile /provenance); the bytes' sha256 for any other file."""
    try:
        with h5py.File(path, "r") as fh:
            digest = fh.attrs.get(DIGEST_ATTR)
    except OSError:
        digest = None
    if digest is not None:
        return {"path": str(path), "content_sha256": str(digest)}
    return {"path": str(path), "sha256": file_sha256(path)}


def root_attributes(
    stage: str,
    config: Mapping[str, Any],
    seed: int | None,
    world_size: int = 1,
    inputs: Iterable[str | Path] = (),
) -> dict[str, Any]:
    """The provenance attributes every result file carries at its root."""
    return {
        "rgpipe_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "stage": stage,
        "config_json": canonical_json(config),
        "config_sha256": config_hash(config),
        "git_revision": git_revision(),
        "package_versions": canonical_json(package_versions()),
        "seed": -1 if seed is None else int(seed),
        "world_size": int(world_size),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID", "none"),
        "inputs_json": canonical_json([input_record(p) for p in inputs]),
    }


def check_output(path: str | Path) -> Path:
    """Fail before any work when ``path`` cannot become an output file.

    Creates the parent directory if needed (as the final write would).

    Raises:
        StoreError: naming the path: it is a directory, its parent is a file, or the
            directory is not writable.
    """
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path}: is a directory; give a file name for the output")
    parent = path.parent
    for up in (parent, *parent.parents):
        if up.exists():
            if not up.is_dir():
                raise StoreError(f"{path}: {up} is a file, not a directory")
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create its directory: {exc}") from exc
    if not os.access(parent, os.W_OK):
        raise StoreError(f"{path}: the directory {parent} is not writable")
    return path


_UNDIGESTED = frozenset(
    {DIGEST_ATTR, "complete", "git_revision", "package_versions", "slurm_job_id", "world_size"}
)
"""Root attributes the digest leaves out: itself, the flag set after it, and the facts of
the run rather than of its result (code revision, package versions, Slurm job, ranks)."""


def _attr_bytes(value: Any) -> bytes:
    """A canonical byte form of an attribute value."""
    if isinstance(value, bytes):
        return b"b" + value
    if isinstance(value, str):
        return b"s" + value.encode()
    arr = np.asarray(value)
    if arr.dtype.kind == "O":
        return b"o" + repr(arr.tolist()).encode()
    return f"a{arr.dtype.str}{arr.shape}".encode() + np.ascontiguousarray(arr).tobytes()


def content_digest(fh: h5py.File) -> str:
    """sha256 over every dataset (name, dtype, shape, values) and every attribute outside
    ``/provenance``, in name order; the root attributes of :data:`_UNDIGESTED` excepted.

    Volatile facts live in ``/provenance``, so two runs of one job with one seed have the
    same digest; any change to the science content (an estimate overwritten in place, a
    damaged chunk) changes it.
    """
    h = hashlib.sha256()

    def attrs(name: str, node: Any, skip: frozenset[str] = frozenset()) -> None:
        for key in sorted(node.attrs):
            if key not in skip:
                h.update(f"@{name}/{key}=".encode() + _attr_bytes(node.attrs[key]))

    attrs("", fh, _UNDIGESTED)
    names: list[str] = []
    fh.visit(names.append)
    for name in sorted(names):
        if name == "provenance" or name.startswith("provenance/"):
            continue
        node = fh[name]
        attrs(name, node)
        if isinstance(node, h5py.Dataset):
            data = np.asarray(node[()])
            h.update(f"#{name}:{data.dtype.str}{data.shape}".encode())
            if data.dtype.kind == "O":
                h.update(repr(data.tolist()).encode())
            else:
                h.update(np.ascontiguousarray(data).tobytes())
    return h.hexdigest()


@contextlib.contextmanager
def create_result(
    path: str | Path,
    *,
    stage: str,
    config: Mapping[str, Any],
    seed: int | None,
    world_size: int = 1,
    inputs: Iterable[str | Path] = (),
) -> Iterator[h5py.File]:
    """Open ``path`` for writing through a temporary name; rename on success.

    Yields an open :class:`h5py.File` with the root attributes already set.  If the
    body raises (or the process is interrupted), the temporary file is removed and
    ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fh = h5py.File(tmp, "w")
    try:
        fh.attrs.update(root_attributes(stage, config, seed, world_size, inputs))
        fh.attrs["complete"] = False
        prov = fh.create_group("provenance")
        prov.attrs["created_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        prov.attrs["host"] = socket.gethostname()
        prov.attrs["command"] = rerun_command()
        prov.attrs["python_executable"] = sys.executable
        yield fh
        prov.attrs["process_seconds"] = time.time() - PROCESS_START
        fh.attrs[DIGEST_ATTR] = content_digest(fh)
        fh.attrs["complete"] = True
        fh.flush()
        fh.close()
        with open(tmp, "rb") as raw:
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        fh.close()
        tmp.unlink(missing_ok=True)
        raise


def write_stats(
    parent: h5py.Group, name: str, stats: Stats, attrs: Mapping[str, Any] | None = None
) -> h5py.Group:
    """Write an estimate as ``parent/name/{mean,error_of_mean,variance,tau_int}``."""
    grp = parent.create_group(name)
    for field in ("mean", "error_of_mean", "variance", "tau_int"):
        grp.create_dataset(field, data=np.asarray(getattr(stats, field), dtype=np.float64))
    if attrs:
        grp.attrs.update(attrs)
    return grp


def read_stats(group: h5py.Group) -> Stats:
    """Inverse of :func:`write_stats` (missing fields read as NaN)."""
    vals = {
        f: (group[f][()] if f in group else np.nan)
        for f in ("mean", "error_of_mean", "variance", "tau_int")
    }
    return Stats(**vals)


def open_result(path: str | Path, stage: str | None = None) -> h5py.File:
    """Open an rgpipe result read-only, after checking it is complete and readable.

    Raises:
        StoreError: naming the file, if it is missing, not HDF5 (truncated or corrupt),
            not written by rgpipe, incomplete, of another schema version or stage.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such file")
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a result file")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise StoreError(
            f"{path}: not a readable HDF5 file (truncated or corrupt?): {exc}"
        ) from exc
    try:
        attrs = fh.attrs
        if "schema_version" not in attrs or "rgpipe_version" not in attrs:
            raise StoreError(f"{path}: not an rgpipe result file (no schema_version attribute)")
        version = int(attrs["schema_version"])
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{path}: schema version {version}, but this rgpipe {__version__} reads "
                f"version {SCHEMA_VERSION}"
            )
        if not bool(attrs.get("complete", False)):
            raise StoreError(f"{path}: incomplete file (the writer did not finish)")
        if stage is not None and attrs.get("stage") != stage:
            raise StoreError(f"{path}: written by stage {attrs.get('stage')!r}, expected {stage!r}")
        fh.visit(lambda _name: None)  # walks the whole object tree: catches damaged metadata
    except StoreError:
        fh.close()
        raise
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        fh.close()
        raise StoreError(f"{path}: corrupt HDF5 content: {exc}") from exc
    return fh


def read_config(fh: h5py.File) -> dict[str, Any]:
    """The configuration slice stored in a result file."""
    return json.loads(fh.attrs["config_json"])
