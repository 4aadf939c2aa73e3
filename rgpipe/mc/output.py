"""The HDF5 layout of a Monte Carlo result (any system), and its writer.

One file holds one job: a sweep over one control parameter (the coupling K for the
Ising model) at fixed size and seed.  Layout::

    /parameters/<name>              control parameter values, shape () or (n_p,)
    /parameters/<axis>              other axes of the data (e.g. Euclidean time tau)
    /observables/<obs>              measurement series, shape (n_meas,) or (n_p, n_meas)
    /estimates/<est>/{mean, error_of_mean, variance, tau_int}   shape () or (n_p,), or with
                                    a further axis (e.g. tau) for an array estimate
    /estimates/<est>/exact          reference value, the shape of mean (NaN where unknown);
                                    attrs reference (source), reference_kind (exact or
                                    literature), missing (why some are NaN)
    /estimates/<est>/status         int8, the shape of mean: 0 where mean and error are
                                    estimated, else a code; attr meaning (JSON: code -> why)
    /samples/<what>                 stored configurations (n_cfg, ...) or (n_p, n_cfg, ...)
    /diagnostics/<name>             per-point facts (acceptance, cluster sizes)
    /provenance/timings/<name>      per-point wall times and rates (volatile)
    /provenance                     volatile facts (time, host, command), see rgpipe.store

A job with a single parameter value stores scalars (no leading axis); a sweep stores
arrays over the parameter axis.  Every dataset and estimate group carries ``units`` and
``description`` attributes.  ``exact`` is written for the estimates a driver has references
for (:mod:`rgpipe.mc.reference`), ``status`` for those whose error (or mean) can be
undefined at some points: an error that cannot be estimated is NaN, never 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rgpipe.mc.reference import Reference
from rgpipe.stats import Stats
from rgpipe.store import create_result, write_stats


@dataclass(frozen=True)
class Status:
    """Where an estimate's mean and error are estimated, and why not elsewhere.

    Attributes:
        codes: int8, the shape of the estimate's mean with its leading parameter axis
            (n_p, ...): 0 where mean and error are estimated, else an index into
            ``meanings``.
        meanings: what each code means (``meanings[0]`` is ``ok``).
    """

    codes: np.ndarray
    meanings: tuple[str, ...]

    def meaning_json(self) -> str:
        """The ``meaning`` attribute: JSON object code -> meaning, for the codes used and 0."""
        used = sorted({0, *np.unique(self.codes).tolist()})
        return json.dumps({str(c): self.meanings[c] for c in used})


@dataclass
class MCResult:
    """Everything one Monte Carlo job produced, with a leading parameter axis (n_p).

    Attributes:
        parameter: name of the swept control parameter (e.g. ``coupling``).
        values: float64 (n_p,) parameter values.
        series: name -> float64 (n_p, n_meas) measurement series.
        estimates: name -> Stats with arrays of shape (n_p,).
        meta: name -> (units, description) for series and estimates.
        samples: name -> (n_p, n_cfg, ...) stored configurations.
        sample_attrs: attributes of the samples group (layout description).
        diagnostics: name -> (n_p,) arrays.
        attrs: extra attributes of the root ``/parameters`` group (system facts).
        axes: name -> 1-D arrays of other data axes (written next to the parameter).
        point_parameters: name -> (n_p,) further per-point parameters (e.g. the
            continuum-form equivalents of each beta), written next to the parameter.
        timings: name -> (n_p,) wall times and rates (volatile: written under /provenance,
            so that a rerun with the same seed is identical everywhere else).
        references: estimate name -> its reference values (:class:`Reference`, shape of
            the estimate's mean).
        status: estimate name -> where its mean and error are undefined, and why.
    """

    parameter: str
    values: np.ndarray
    series: dict[str, np.ndarray] = field(default_factory=dict)
    estimates: dict[str, Stats] = field(default_factory=dict)
    meta: dict[str, tuple[str, str]] = field(default_factory=dict)
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    sample_attrs: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, np.ndarray] = field(default_factory=dict)
    point_parameters: dict[str, np.ndarray] = field(default_factory=dict)
    timings: dict[str, np.ndarray] = field(default_factory=dict)
    references: dict[str, Reference] = field(default_factory=dict)
    status: dict[str, Status] = field(default_factory=dict)


def _squeeze(a: Any, single: bool) -> np.ndarray:
    a = np.asarray(a)
    return a[0] if single else a


def write_mc(path: str | Path, result: MCResult, *, job: dict[str, Any], seed: int) -> None:
    """Write ``result`` atomically to ``path`` with the job's provenance.

    Raises:
        ValueError: a reference or status of no estimate, or of another shape than its
            estimate's mean (nothing is written).
    """
    unknown = ({*result.references} | {*result.status}) - {*result.estimates}
    if unknown:
        raise ValueError(f"references or status of no estimate: {sorted(unknown)}")
    single = len(result.values) == 1
    with create_result(path, stage="mc", config=job, seed=seed) as fh:
        par = fh.create_group("parameters")
        par.attrs.update(result.attrs)
        par.attrs["parameter"] = result.parameter
        par.create_dataset(result.parameter, data=_squeeze(result.values, single))
        for name, values in result.point_parameters.items():
            if name != result.parameter:
                par.create_dataset(name, data=_squeeze(values, single))
        for name, axis in result.axes.items():
            par.create_dataset(name, data=np.asarray(axis))
        obs = fh.create_group("observables")
        for name, data in result.series.items():
            ds = obs.create_dataset(
                name, data=_squeeze(data, single), chunks=True, compression="gzip", shuffle=True
            )
            units, desc = result.meta.get(name, ("", ""))
            ds.attrs.update({"units": units, "description": desc})
        est = fh.create_group("estimates")
        for name, st in result.estimates.items():
            units, desc = result.meta.get(name, ("", ""))
            squeezed = Stats(
                *(_squeeze(getattr(st, f), single) for f in Stats.__dataclass_fields__)
            )
            grp = write_stats(est, name, squeezed, {"units": units, "description": desc})
            _write_annotations(grp, result, name, np.shape(squeezed.mean), single)
        if result.samples:
            smp = fh.create_group("samples")
            smp.attrs.update(result.sample_attrs)
            cfg_ndim = len(result.sample_attrs.get("shape", ()))
            for name, data in result.samples.items():
                data = _squeeze(data, single)
                lead = data.ndim - cfg_ndim
                chunks = (1,) * lead + data.shape[lead:] if data.size else None
                smp.create_dataset(
                    name,
                    data=data,
                    chunks=chunks,
                    compression="gzip",
                    compression_opts=4,
                    shuffle=True,
                )
        dia = fh.create_group("diagnostics")
        for name, data in result.diagnostics.items():
            dia.create_dataset(name, data=_squeeze(data, single))
        tim = fh["provenance"].create_group("timings")
        for name, data in result.timings.items():
            tim.create_dataset(name, data=_squeeze(data, single))


def _write_annotations(grp: Any, result: MCResult, name: str, shape: tuple, single: bool) -> None:
    """``exact`` and ``status`` of one estimate group, checked against its mean's shape."""
    ref, st = result.references.get(name), result.status.get(name)
    if ref is not None:
        values = _squeeze(np.asarray(ref.values, dtype=np.float64), single)
        if values.shape != shape:
            raise ValueError(f"reference of {name}: shape {values.shape}, mean {shape}")
        grp.create_dataset("exact", data=values).attrs.update(ref.attrs())
    if st is not None:
        codes = _squeeze(np.asarray(st.codes, dtype=np.int8), single)
        if codes.shape != shape:
            raise ValueError(f"status of {name}: shape {codes.shape}, mean {shape}")
        grp.create_dataset("status", data=codes).attrs["meaning"] = st.meaning_json()


def _concat(parts: list[Any]) -> Any:
    """Join per-point pieces along the leading (parameter) axis."""
    first = parts[0]
    if isinstance(first, Stats):
        return Stats(
            *(
                np.concatenate([np.atleast_1d(getattr(p, f)) for p in parts])
                for f in Stats.__dataclass_fields__
            )
        )
    if isinstance(first, dict):
        return {k: _concat([p[k] for p in parts]) for k in first}
    if isinstance(first, np.ndarray):
        return np.concatenate(parts, axis=0)
    return first


def run_point_by_point(
    run: Any, job: dict[str, Any], key: str, desc: str, progress: bool = True
) -> dict[str, Any]:
    """Run a sweep driver one parameter point at a time, reporting progress.

    Only for drivers whose points are independent chains with their own random streams
    (keyed by the point's value), so the joined result equals a single call with every
    point.  Array fields of the driver's output are joined along their first axis.

    Args:
        run: the driver, ``run(job) -> dict``.
        job: the job; ``job[key]`` is the list of parameter values.
        key: the swept key (e.g. ``couplings``).
        desc: label of the progress report.
    """
    from rgpipe.progress import Progress

    parts = []
    with Progress(len(job[key]), desc, enabled=progress) as prog:
        for value in job[key]:
            parts.append(run({**job, key: [value]}))
            prog.update()
    per_run = {"job", "attrs", "meta", "sample_attrs", "parameter", "n_sites"}
    out = {k: parts[0][k] if k in per_run else _concat([p[k] for p in parts]) for k in parts[0]}
    if "job" in out:
        out["job"] = {**out["job"], key: list(job[key])}
    return out
