"""Reading one result file for the aggregate stage: provenance, records, plot data.

Inputs are rgpipe result files whose stage is ``critical`` or ``train*`` (a learned-method
family's training files), opened with :func:`rgpipe.store.open_result`.  A file gives one
:class:`~rgpipe.analysis.records.Record` per estimate (or per ensemble member, when the file
stores per-member values under ``/models/<estimate>``); its plot data are read by the
Monte Carlo curve kinds or by the family that wrote the file (:mod:`.curves`).  A Monte
Carlo file (stage ``mc``) gives no record but its estimates with exact values
(:mod:`.mc_reader`), checked against them by :mod:`.validation`.

A file is *unreadable* when it cannot be opened (:class:`rgpipe.store.StoreError`) or any of
its datasets or attributes cannot be read (a damaged compressed chunk, :mod:`.readable`):
it gives one failed record naming the file and what is broken.  A record is *failed* when
its value is not finite, its estimate group says ``converged = False``, or its file is
unreadable.

Reference values: an estimate's ``exact`` attribute is exact when its attribute
``reference_kind`` is ``exact`` and a literature value when it is anything else; files
without ``reference_kind`` (written before it) are read by their ``reference`` text: a
literature value says "literature" there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rgpipe.analysis import curves, families
from rgpipe.analysis.mc_reader import mc_comparisons
from rgpipe.analysis.readable import unreadable
from rgpipe.analysis.records import UNREADABLE, FileResult, Record
from rgpipe.store import StoreError, file_sha256, open_result


def text(value: Any) -> str:
    """An attribute as text (bytes decoded)."""
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def _scalar(value: Any) -> float:
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.size == 1 else float("nan")


def reference_kind(exact: float, reference: str, declared: str | None = None) -> str:
    """``none`` without a finite reference value, else ``exact`` or ``literature``.

    Args:
        exact: the reference value.
        reference: its source text.
        declared: the estimate's ``reference_kind`` attribute (None when absent): ``exact``
            is exact, anything else is a literature value.
    """
    if not math.isfinite(exact):
        return "none"
    if declared is not None:
        return "exact" if declared.strip().lower() == "exact" else "literature"
    return "literature" if "literature" in reference.lower() else "exact"


def _system(attrs: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    system = attrs.get("system", config.get("system"))
    if system is None:
        return "unknown"
    lattice = attrs.get("lattice", config.get("lattice"))
    return f"{text(system)}/{text(lattice)}" if lattice else text(system)


def _method(est_attrs: Mapping[str, Any], config: Mapping[str, Any], stage: str) -> str:
    if "method" in est_attrs:
        return text(est_attrs["method"])
    if isinstance(config.get("method"), str):
        return config["method"]
    return stage.removeprefix("train_")


def _status(value: float, converged: bool) -> str:
    if not math.isfinite(value):
        return "nan"
    return "ok" if converged else "not_converged"


def estimate_records(fh: Any, base: dict[str, Any], config: dict[str, Any]) -> list[Record]:
    """Records of every ``/estimates/<name>`` group; per member where ``/models/<name>`` holds
    one value per ensemble member (``/models/seed`` their seeds).

    Args:
        fh: the open file.
        base: the fields every record of the file shares (path, stage, seed, provenance,
            family).
        config: the file's configuration.
    """
    out: list[Record] = []
    if "estimates" not in fh:
        return out
    models = fh["models"] if "models" in fh else None
    member_seeds = None
    if models is not None and "seed" in models:
        member_seeds = np.atleast_1d(models["seed"][()]).astype(np.int64)
    for name, grp in fh["estimates"].items():
        if not hasattr(grp, "keys") or "mean" not in grp:
            continue
        attrs = dict(grp.attrs)
        exact = _scalar(attrs.get("exact", np.nan))
        reference = text(attrs.get("reference", ""))
        declared = text(attrs["reference_kind"]) if "reference_kind" in attrs else None
        common = {
            **{k: v for k, v in base.items() if k != "seed"},
            "system": _system(fh.attrs, config),
            "method": _method(attrs, config, base["stage"]),
            "estimate": name,
            "exact": exact,
            "reference": reference,
            "reference_kind": reference_kind(exact, reference, declared),
            "units": text(attrs.get("units", "")),
        }
        file_converged = bool(attrs.get("converged", True))
        per_member = (
            models is not None
            and member_seeds is not None
            and name in models
            and models[name].shape == member_seeds.shape
        )
        if per_member:
            values = np.asarray(models[name][()], dtype=np.float64)
            for i, (v, s) in enumerate(zip(values, member_seeds, strict=True)):
                status = _status(float(v), True)
                out.append(
                    Record(
                        **common,
                        value=float(v),
                        error=float("nan"),
                        converged=bool(np.isfinite(v)),
                        status=status,
                        seed=int(s),
                        member=i,
                        message="" if status == "ok" else f"member {i} (seed {s}): no estimate",
                    )
                )
            continue
        means = np.atleast_1d(np.asarray(grp["mean"][()], dtype=np.float64))
        errors = np.full_like(means, np.nan)
        if "error_of_mean" in grp:
            errors = np.broadcast_to(
                np.asarray(grp["error_of_mean"][()], dtype=np.float64), means.shape
            )
        for i, (v, e) in enumerate(zip(means, errors, strict=True)):
            status = _status(float(v), file_converged)
            message = {"nan": "estimate is NaN", "not_converged": "converged = False"}.get(
                status, ""
            )
            out.append(
                Record(
                    **common,
                    value=float(v),
                    error=float(e),
                    converged=file_converged and bool(np.isfinite(v)),
                    status=status,
                    seed=base["seed"],
                    member=-1 if means.size == 1 else i,
                    message=message,
                )
            )
    return out


def _unreadable(path: str, sha: str, message: str, stage: str = "") -> FileResult:
    """The result of a file that cannot be read: one failed record in :data:`UNREADABLE`
    whose message says why."""
    system, method, estimate = UNREADABLE
    rec = Record(
        system=system,
        method=method,
        estimate=estimate,
        value=float("nan"),
        error=float("nan"),
        exact=float("nan"),
        reference="",
        converged=False,
        status="unreadable",
        seed=-1,
        member=-1,
        path=path,
        stage=stage,
        file_sha256=sha,
        message=message,
    )
    return FileResult(path, "unreadable", message, stage=stage, sha256=sha, records=[rec])


def _broken_message(path: str, broken: list[str]) -> str:
    """``<path>: cannot be read: <what>`` naming up to three broken datasets or attributes."""
    more = f"; and {len(broken) - 3} more" if len(broken) > 3 else ""
    return f"{path}: cannot be read: " + "; ".join(broken[:3]) + more


def read_file(path: str) -> FileResult:
    """Read one result file (one dask task): provenance, records, plot data.

    Never raises for a bad file: a :class:`StoreError`, or a dataset or attribute that
    cannot be read, gives ``status = 'unreadable'`` and one failed record in the group
    :data:`UNREADABLE`; a file of another stage gives ``status = 'skipped'`` and no record;
    a Monte Carlo file gives no record but its comparisons with exact values.
    """
    sha = ""
    if Path(path).is_file():
        try:
            sha = file_sha256(path)
        except OSError:
            sha = ""
    try:
        fh = open_result(path)
    except StoreError as exc:
        return _unreadable(path, sha, str(exc))
    with fh:
        attrs = fh.attrs
        stage = text(attrs.get("stage", ""))
        result = FileResult(
            path,
            "ok",
            stage=stage,
            sha256=sha,
            git_revision=text(attrs.get("git_revision", "")),
            config_sha256=text(attrs.get("config_sha256", "")),
            config_json=text(attrs.get("config_json", "{}")),
        )
        if stage != "mc" and stage != "critical" and not stage.startswith("train"):
            result.status, result.message = "skipped", f"stage {stage!r} is not aggregated"
            return result
        family = None
        if stage != "mc":
            family, result.message = families.family_of(
                text(attrs.get("family", "")), stage, text(attrs.get("method", ""))
            )
            result.family = "" if family is None else family.name
            if family is not None and stage == family.stage and family.aggregate == "critical":
                result.status = "skipped"
                result.message = (
                    f"the {family.name} family is aggregated through its critical-point files "
                    f"(python -m rgpipe critical --method {family.critical.method})"
                )
                return result
        if broken := unreadable(fh):
            return _unreadable(path, sha, _broken_message(path, broken), stage)
        config = json.loads(result.config_json)
        if stage == "mc":
            result.comparisons, note = mc_comparisons(fh, path, _system(attrs, config))
            result.message = note
            return result
        base = {
            "path": path,
            "stage": stage,
            "seed": int(attrs.get("seed", -1)),
            "config_json": result.config_json,
            "config_sha256": result.config_sha256,
            "file_sha256": sha,
            "git_revision": result.git_revision,
            "family": result.family,
        }
        result.records = estimate_records(fh, base, config)
        result.curves = curves.read_curves(fh, family)
    return result
