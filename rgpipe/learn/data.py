"""Read-only, rank-sharded access to the configurations a Monte Carlo file stores.

Learned methods train on the configurations the ``mc`` stage writes (see
:mod:`rgpipe.store` and the README, "Result files")::

    /parameters                attrs: ``parameter`` (name of the control parameter),
                               ``system``, ``lattice``, ``L`` or ``n_tau``, ...
    /parameters/<parameter>    control parameter values, () or (n_p,)
    /parameters/<other>        further per-point parameters, () or (n_p,)
    /samples                   attrs: ``shape``, ``layout``, ...
    /samples/<what>            configurations (n_cfg, *shape) or (n_p, n_cfg, *shape)

What the systems store today (the names are read from the file, never assumed):

* ``ising``: ``spins``, int8 +-1, ``[y, x]`` (square, L x L) or
  ``[sublattice (corner, horizontal bond, vertical bond), y, x]`` (Lieb, 3 x L x L);
  control parameter ``coupling`` (K = J/T);
* ``xy``: ``angles``, float64 radians in [0, 2 pi), ``[y, x]`` (square) or ``[x]`` (ring);
  control parameter ``coupling`` (K = J/T);
* ``phi4``: ``phi``, float64 field in the lattice normalisation, ``[y, x]``; control
  parameter ``beta`` (hopping coupling), with ``lam`` etc. per point;
* ``oscillator`` (0+1D field): stores **no** configurations; asking for them fails.

:func:`read_samples` opens a file read-only, picks one parameter point and reads only
one rank's contiguous block of its configurations with one HDF5 hyperslab: a rank holds
and decompresses only the chunks of its block (the writer stores one configuration per
chunk), never the whole dataset.  :func:`iter_batches` shuffles a rank's block
into minibatches.

Errors: :class:`SamplesError` (a :class:`ValueError`) when the file cannot answer the
request (no configurations, an unknown sample name, a parameter value not in the file,
another system); :class:`rgpipe.store.StoreError` (an :class:`OSError`) when the file is
missing, truncated, corrupt, not an rgpipe file or not a Monte Carlo result.  Both name
the file, and the former also the HDF5 key.  Nothing is ever written.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from rgpipe.store import StoreError, open_result

COUPLING_RTOL = 1e-9
"""Relative tolerance within which a requested parameter value matches a stored one."""

_NO_CONFIGURATIONS = {
    "oscillator": (
        "the oscillator (0+1D field) Monte Carlo stores no configurations in this version of rgpipe"
    ),
}
"""Systems whose Monte Carlo job cannot store configurations, with the reason."""


class SamplesError(ValueError):
    """A Monte Carlo file cannot answer a request; the message names the file and key."""


@dataclass(frozen=True)
class Samples:
    """One rank's block of the configurations stored at one parameter point.

    Attributes:
        configurations: (n_local, *shape) configurations in the file's dtype (int8 spins,
            float64 angles in radians or phi^4 fields); n_local may be 0.
        indices: int64 (n_local,) indices of these configurations among the n_total
            stored at this point (consecutive).
        n_total: configurations stored at this point (over every rank).
        system: ``/parameters`` attribute ``system`` (``ising``, ``xy``, ``phi4``).
        lattice: ``/parameters`` attribute ``lattice``, or None if the file has none.
        size: linear size ``L`` (cells per side for the Lieb lattice) or ``n_tau``, or
            None if the file has neither.
        coupling: the stored value of the control parameter at this point (dimensionless).
        parameter: name of the control parameter (``coupling`` = K, or phi^4 ``beta``).
        point: index of this point on the file's parameter axis, or None when the file
            holds a single point (no parameter axis).
        layout: ``/samples`` attribute ``layout`` (axes of one configuration, e.g.
            ``[y, x]``), or None if absent.
        what: name of the sample dataset (``/samples/<what>``).
        path: the file.
        parameters: everything else ``/parameters`` holds, at this point: its attributes
            except ``parameter`` (``system``, ``lattice``, ``L``, ``n_spins``, ``update``,
            ...) and its other datasets (phi^4 ``lam``, ``m0sq``, ``lambda0``,
            ``field_scale``), numpy scalars as Python scalars.
        sample_attrs: attributes of the ``/samples`` group (``shape``, ``layout``,
            ``units``, ``measurement_index`` (n_total,) over every rank, ...).
        rank, n_ranks: the shard: this block is the ``rank``-th of ``n_ranks``.
    """

    configurations: np.ndarray
    indices: np.ndarray
    n_total: int
    system: str
    lattice: str | None
    size: int | None
    coupling: float
    parameter: str
    point: int | None
    layout: str | None
    what: str
    path: Path
    parameters: dict[str, Any]
    sample_attrs: dict[str, Any]
    rank: int
    n_ranks: int

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one configuration."""
        return tuple(self.configurations.shape[1:])

    def __len__(self) -> int:
        """n_local, the configurations of this rank."""
        return len(self.configurations)


def shard_bounds(n_total: int, rank: int, size: int) -> tuple[int, int]:
    """[start, stop) of ``rank``'s contiguous block of an even split of n_total items.

    The first ``n_total % size`` ranks get one item more; blocks are disjoint, in rank
    order, and cover range(n_total).  With more ranks than items the last blocks are
    empty (start == stop).

    Raises:
        ValueError: if size < 1 or rank is not in 0..size-1, or n_total < 0.
    """
    n_total, rank, size = operator.index(n_total), operator.index(rank), operator.index(size)
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if not 0 <= rank < size:
        raise ValueError(f"rank must be in 0..{size - 1}, got {rank}")
    if n_total < 0:
        raise ValueError(f"n_total must be >= 0, got {n_total}")
    base, extra = divmod(n_total, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def read_samples(
    path: str | Path,
    *,
    systems: Iterable[str] | str | None = None,
    what: str | None = None,
    coupling: float | None = None,
    rank: int = 0,
    size: int = 1,
) -> Samples:
    """Read this rank's share of the configurations stored at one parameter point.

    Args:
        path: a Monte Carlo result file (stage ``mc``).
        systems: accepted values of the file's ``system`` (any if None).
        what: the sample dataset ``/samples/<what>``; None takes the only one.
        coupling: a value of the file's control parameter (``/parameters`` attribute
            ``parameter``: K for Ising/XY, ``beta`` for phi^4), matched to a stored value
            within a relative tolerance :data:`COUPLING_RTOL`; None only when the file
            holds a single point.
        rank, size: this rank and the number of ranks; the rank reads block ``rank`` of
            :func:`shard_bounds` (empty when there are more ranks than configurations).

    Raises:
        ValueError: bad ``rank``/``size`` (before the file is opened).
        StoreError: the file is missing, truncated, corrupt, foreign or not from ``mc``.
        SamplesError: no ``/samples`` (no configurations stored), no ``/samples/<what>``,
            ``coupling`` not in the file (or None for a sweep), another system, or a
            layout this reader does not recognise.
    """
    shard_bounds(0, rank, size)  # validates rank and size before any I/O
    path = Path(path)
    accepted = (systems,) if isinstance(systems, str) else systems
    with open_result(path, stage="mc") as fh:
        group = _parameters_group(fh, path)
        system = _system(group, path, accepted)
        parameter, values, sweep = _control_parameter(group, path)
        index = _match(path, parameter, values, coupling)
        point = index if sweep else None
        ds = _sample_dataset(fh, path, system, what)
        n_total = _n_configurations(ds, path, len(values), point)
        start, stop = shard_bounds(n_total, rank, size)
        block = _read_block(ds, path, point, start, stop)
        sample_attrs = {k: _plain(v) for k, v in ds.parent.attrs.items()}
        attrs = group.attrs
        return Samples(
            configurations=block,
            indices=np.arange(start, stop, dtype=np.int64),
            n_total=n_total,
            system=system,
            lattice=_plain(attrs["lattice"]) if "lattice" in attrs else None,
            size=_size(attrs),
            coupling=float(values[index]),
            parameter=parameter,
            point=point,
            layout=sample_attrs.get("layout"),
            what=ds.name.rsplit("/", 1)[-1],
            path=path,
            parameters=_point_parameters(group, parameter, point, len(values)),
            sample_attrs=sample_attrs,
            rank=rank,
            n_ranks=size,
        )


def iter_batches(
    samples: Samples, batch: int, rng: np.random.Generator, *, drop_last: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of shuffled minibatches of a rank's configurations.

    Every configuration of ``samples`` appears once per epoch, in the order of
    ``rng.permutation``.  Ranks' blocks differ by at most one configuration, so a
    data-parallel trainer that needs the same number of steps on every rank must bound
    the steps itself (e.g. at ``(n_total // size) // batch`` with ``drop_last``).

    Args:
        samples: this rank's block (:func:`read_samples`).
        batch: configurations per minibatch (>= 1).
        rng: the generator that draws the order (advanced by one permutation).
        drop_last: leave out the last, smaller minibatch.

    Yields:
        (configurations (b, *shape), indices int64 (b,)): b = batch, except possibly
        the last minibatch.
    """
    batch = operator.index(batch)
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    n = len(samples)
    order = rng.permutation(n)
    stop = n - n % batch if drop_last else n
    for first in range(0, stop, batch):
        sel = order[first : first + batch]
        yield samples.configurations[sel], samples.indices[sel]


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _parameters_group(fh: h5py.File, path: Path) -> h5py.Group:
    group = fh.get("parameters")
    if not isinstance(group, h5py.Group):
        raise SamplesError(f"{path}: no /parameters group (not a Monte Carlo result?)")
    return group


def _system(group: h5py.Group, path: Path, accepted: Iterable[str] | None) -> str:
    """The file's system, checked against the accepted ones."""
    if "system" not in group.attrs:
        raise SamplesError(f"{path}: /parameters has no attribute 'system'")
    system = str(group.attrs["system"])
    if accepted is not None:
        accepted = list(accepted)
        if system not in accepted:
            raise SamplesError(
                f"{path}: /parameters attribute 'system' is {system!r}, expected one of {accepted}"
            )
    return system


def _control_parameter(group: h5py.Group, path: Path) -> tuple[str, np.ndarray, bool]:
    """(name, float64 (n_p,) values, whether the file has a parameter axis)."""
    name = group.attrs.get("parameter")
    if name is None:
        raise SamplesError(f"{path}: /parameters has no attribute 'parameter'")
    name = str(name)
    ds = group.get(name)
    if not isinstance(ds, h5py.Dataset) or ds.ndim > 1:
        raise SamplesError(
            f"{path}: /parameters/{name} (the control parameter) is missing or not of "
            f"shape () or (n_p,)"
        )
    return name, np.atleast_1d(np.asarray(ds[()], dtype=np.float64)), ds.ndim == 1


def _match(path: Path, parameter: str, values: np.ndarray, coupling: float | None) -> int:
    """Index of the stored value equal to ``coupling`` (within COUPLING_RTOL)."""
    stored = [float(v) for v in values]
    key = f"/parameters/{parameter}"
    if coupling is None:
        if len(stored) == 1:
            return 0
        raise SamplesError(
            f"{path}: {key} holds {len(stored)} points {stored}; pass coupling= one of them"
        )
    hits = [i for i, v in enumerate(stored) if math.isclose(v, coupling, rel_tol=COUPLING_RTOL)]
    if not hits:
        raise SamplesError(
            f"{path}: {parameter} = {coupling!r} is not in {key}, which holds {stored}"
        )
    if len(hits) > 1:
        raise SamplesError(
            f"{path}: {parameter} = {coupling!r} matches several points of {key}: "
            f"{[stored[i] for i in hits]}"
        )
    return hits[0]


def _sample_dataset(fh: h5py.File, path: Path, system: str, what: str | None) -> h5py.Dataset:
    """``/samples/<what>``, or the only sample dataset when ``what`` is None."""
    group = fh.get("samples")
    names = (
        sorted(k for k, v in group.items() if isinstance(v, h5py.Dataset))
        if isinstance(group, h5py.Group)
        else []
    )
    if not names:
        reason = _NO_CONFIGURATIONS.get(
            system,
            "no stored configurations: set `configurations` > 0 in the MC ensemble "
            "(--configurations) and rerun the mc stage",
        )
        raise SamplesError(f"{path}: no /samples ({reason})")
    if what is None:
        if len(names) > 1:
            raise SamplesError(f"{path}: /samples holds {names}; pass what= one of them")
        what = names[0]
    elif what not in names:
        raise SamplesError(f"{path}: no /samples/{what}; /samples holds {names}")
    return group[what]


def _n_configurations(ds: h5py.Dataset, path: Path, n_p: int, point: int | None) -> int:
    """Configurations per point, after checking the dataset's leading axes."""
    cfg_shape = ds.parent.attrs.get("shape")
    lead = 1 if point is None else 2
    expected_ndim = lead + (len(cfg_shape) if cfg_shape is not None else ds.ndim - lead)
    if (
        ds.ndim != expected_ndim
        or ds.ndim < lead
        or (point is not None and ds.shape[0] != n_p)
        or (cfg_shape is not None and tuple(ds.shape[lead:]) != tuple(int(s) for s in cfg_shape))
    ):
        want = "(n_cfg, *shape)" if point is None else f"({n_p}, n_cfg, *shape)"
        shape_text = (
            "" if cfg_shape is None else f" with shape = {tuple(int(s) for s in cfg_shape)}"
        )
        raise SamplesError(f"{path}: {ds.name} has shape {ds.shape}, expected {want}{shape_text}")
    return int(ds.shape[lead - 1])


def _read_block(
    ds: h5py.Dataset, path: Path, point: int | None, start: int, stop: int
) -> np.ndarray:
    """Configurations [start, stop) at ``point``, read with one HDF5 hyperslab."""
    selection = (slice(start, stop),) if point is None else (point, slice(start, stop))
    where = f"{start}:{stop}" if point is None else f"{point}, {start}:{stop}"
    try:
        return np.asarray(ds[selection])
    except (OSError, RuntimeError) as exc:
        raise StoreError(f"{path}: cannot read {ds.name}[{where}] (corrupt?): {exc}") from exc


def _size(attrs: h5py.AttributeManager) -> int | None:
    """Linear size L, or the number of time slices n_tau."""
    for key in ("L", "n_tau"):
        if key in attrs:
            return int(attrs[key])
    return None


def _point_parameters(
    group: h5py.Group, parameter: str, point: int | None, n_p: int
) -> dict[str, Any]:
    """``/parameters`` at one point, except the control parameter (see :class:`Samples`).

    In a sweep, a dataset of shape (n_p,) is a per-point parameter and gives its value at
    ``point``; any other dataset (an axis such as the oscillator's ``tau``) is returned
    whole.  The layout itself does not mark which is which.
    """
    out = {k: _plain(v) for k, v in group.attrs.items() if k != "parameter"}
    for name, ds in group.items():
        if name == parameter or not isinstance(ds, h5py.Dataset):
            continue
        per_point = point is not None and ds.shape == (n_p,)
        out[name] = _plain(ds[point] if per_point else ds[()])
    return out
