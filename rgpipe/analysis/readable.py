"""Finding what of an open HDF5 file cannot be read: damaged compressed chunks, dataset
storage that is gone or garbled, attributes that cannot be decoded.

:func:`rgpipe.store.open_result` walks the object tree (damaged metadata fails there) but
reads no data; :func:`unreadable` reads every attribute and every dataset's values, chunk
by chunk (or in slabs of at most :data:`SLAB_BYTES` for contiguous data), so a file the
aggregate stage reads is either whole or reported with what is broken, never a raw HDF5
traceback halfway through.  Silent damage (a flipped bit inside uncompressed numbers)
reads without error and is not found here (``python -m rgpipe inspect --verify`` compares
the file's content digest).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np

SLAB_BYTES = 64 * 2**20
"""Largest block of a contiguous dataset read at once (bounded memory for big files)."""


def _slabs(ds: h5py.Dataset) -> Iterator[Any]:
    """Selections covering ``ds``: its chunks, or slabs along the first axis."""
    if ds.shape is None or ds.size == 0 or ds.ndim == 0:
        yield ()
        return
    if ds.chunks is not None:
        yield from ds.iter_chunks()
        return
    row = max(1, ds.dtype.itemsize * int(np.prod(ds.shape[1:], dtype=np.int64)))
    step = max(1, SLAB_BYTES // row)
    for start in range(0, ds.shape[0], step):
        yield np.s_[start : start + step]


def _dataset_error(ds: h5py.Dataset) -> str:
    """Why ``ds`` cannot be read ('' when every value reads)."""
    try:
        for sel in _slabs(ds):
            ds[sel]
    except Exception as exc:  # any failure of the HDF5 library or a filter: unreadable
        return f"{type(exc).__name__}: {exc}"
    return ""


def _attrs_error(node: Any) -> tuple[str, str]:
    """(attribute name, why) of the first attribute of ``node`` that cannot be read."""
    try:
        names = list(node.attrs)
    except Exception as exc:
        return "", f"{type(exc).__name__}: {exc}"
    for key in names:
        try:
            node.attrs[key]
        except Exception as exc:
            return key, f"{type(exc).__name__}: {exc}"
    return "", ""


def unreadable(fh: h5py.File) -> list[str]:
    """What of ``fh`` cannot be read, one text per dataset or attribute, e.g.
    ``dataset /observables/energy: OSError: Can't synchronously read data (filter returned
    failure during read)``; empty when everything reads."""
    out: list[str] = []

    def visit(name: str, node: Any) -> None:
        key, why = _attrs_error(node)
        if why:
            out.append(f"attribute {key!r} of /{name}: {why}")
        if isinstance(node, h5py.Dataset) and (why := _dataset_error(node)):
            out.append(f"dataset /{name}: {why}")

    key, why = _attrs_error(fh)
    if why:
        out.append(f"root attribute {key!r}: {why}")
    try:
        fh.visititems(visit)
    except Exception as exc:  # the object tree itself broke while walking it
        out.append(f"object tree: {type(exc).__name__}: {exc}")
    return out
