"""Bias statistics across runs: collect critical-point and training files, group, summarise.

Inputs are rgpipe result files whose stage is ``critical`` or ``train*`` (e.g. ``train_mlrg``),
opened with :func:`rgpipe.store.open_result`.  Every file is read by one dask task
(:func:`collect`), on a ``dask.distributed`` cluster when a scheduler address is given and on the
local threaded scheduler otherwise, into a :class:`FileResult`: the file's provenance, one
:class:`Record` per estimate (or per ensemble member, when the file stores per-member values under
``/models/<estimate>``) and the curves the plots need.

A record is *failed* when its value is not finite, its estimate group says ``converged = False``,
or its file cannot be opened (:class:`rgpipe.store.StoreError`); failed records are counted in
their group (``n_failed``), never dropped.  Unreadable files have no system or method; they form
the group :data:`UNREADABLE`.

:func:`aggregate` groups the records by system, method, estimate and every configuration key
whose value differs between the files of the same (system, method), the seed and paths excepted
(the swept hyper-parameters), and computes per group (:class:`GroupStats`): n, mean, standard
deviation, standard error, bias against the exact value, relative bias, a bootstrap confidence
interval of the mean, the error-weighted mean and chi^2 consistency checks.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import numpy as np
from dask.callbacks import Callback

from rgpipe.config import canonical_json
from rgpipe.progress import Progress
from rgpipe.store import StoreError, file_sha256, open_result

CONFIDENCE = 0.95
"""Confidence level of the bootstrap interval of the mean."""

EXCLUDED_KEYS = frozenset({"seed", "seeds", "out", "output", "inputs", "path", "paths", "files"})
"""Configuration keys (last dotted component) that never define a group: seeds and paths."""

UNREADABLE = ("(unreadable)", "-", "-")
"""(system, method, estimate) of the records standing for files that could not be opened."""

STAGE_SYSTEMS = {"train_mlrg": "ising/lieb"}
"""System of training stages whose files carry no ``system`` attribute (MLRG learns the
Lieb-lattice Ising model; its exact J_c is arccosh(1 + sqrt 2)/2)."""


@dataclass
class Record:
    """One estimate of one run (a file, or one member of an ensemble file).

    Attributes:
        system: ``<system>/<lattice>`` (or ``<system>``), e.g. ``ising/lieb``.
        method: estimator, e.g. ``binder_crossing`` or ``mlrg``.
        estimate: estimate name, e.g. ``K_c``.
        value: the estimate (NaN if the run failed).
        error: its standard error (NaN where the run gives none, e.g. one ensemble member).
        exact: exact or literature value (NaN if unknown).
        reference: source of ``exact``.
        converged: the file's ``converged`` flag (True when absent and the value is finite).
        status: ``ok``, ``nan``, ``not_converged`` or ``unreadable``.
        seed: seed of the run (of the member for ensembles; -1 unknown).
        member: index of the member in its ensemble file (-1 for a file-level estimate).
        path: the file.
        stage: the file's stage.
        units: units of the estimate (empty if not stored).
        config_json: canonical JSON of the file's configuration (root ``config_json``).
        config_sha256: the file's ``config_sha256``.
        file_sha256: sha256 of the file's bytes.
        git_revision: the file's ``git_revision``.
        message: why the record failed (empty if ok).
    """

    system: str
    method: str
    estimate: str
    value: float
    error: float
    exact: float
    reference: str
    converged: bool
    status: str
    seed: int
    member: int
    path: str
    stage: str
    units: str = ""
    config_json: str = "{}"
    config_sha256: str = ""
    file_sha256: str = ""
    git_revision: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the record enters the statistics."""
        return self.status == "ok"


@dataclass
class FileResult:
    """What one task read from one file.

    Attributes:
        path: the file, as given.
        status: ``ok``, ``unreadable`` (StoreError) or ``skipped`` (another stage).
        message: the error for unreadable or skipped files.
        stage, sha256, git_revision, config_sha256, config_json: provenance ('' if unknown).
        records: the file's records.
        curves: plot data by kind (``binder``, ``helicity``, ``continuum``, ``flow``), each a
            dictionary of numpy arrays and scalars (see :func:`_read_curves`).
    """

    path: str
    status: str
    message: str = ""
    stage: str = ""
    sha256: str = ""
    git_revision: str = ""
    config_sha256: str = ""
    config_json: str = "{}"
    records: list[Record] = field(default_factory=list)
    curves: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class GroupStats:
    """Statistics of one group.

    Attributes:
        n_runs: records in the group (ok + failed).
        n: ok records (finite, converged).
        n_failed: failed records (NaN, not converged, unreadable).
        mean, std, sem: mean, standard deviation (ddof = 1) and standard error std/sqrt(n)
            of the ok values (std, sem NaN for n < 2).
        exact: exact value (NaN unknown); bias = mean - exact, relative_bias = bias/|exact|.
        bias_error: error of the mean and of the bias: sem for n >= 2, the run's own error
            for a single run (NaN if it has none).
        ci_low, ci_high: bootstrap confidence interval of the mean (level ``confidence``,
            BCa; NaN for n < 2).
        n_weighted: ok records with a finite positive error.
        weighted_mean, weighted_error: sum(x/s^2)/sum(1/s^2) and 1/sqrt(sum(1/s^2)).
        chi2_exact, dof_exact, p_exact: sum((x - exact)^2/s^2) over the n_weighted runs,
            dof = n_weighted, and its chi^2 survival probability (are the runs consistent
            with the exact value within their errors?).
        chi2_internal, dof_internal: sum((x - weighted_mean)^2/s^2), dof = n_weighted - 1
            (are the runs consistent with each other?).
    """

    n_runs: int
    n: int
    n_failed: int
    mean: float
    std: float
    sem: float
    exact: float
    bias: float
    bias_error: float
    relative_bias: float
    ci_low: float
    ci_high: float
    confidence: float
    n_weighted: int
    weighted_mean: float
    weighted_error: float
    chi2_exact: float
    dof_exact: int
    p_exact: float
    chi2_internal: float
    dof_internal: int


@dataclass
class Group:
    """Records sharing system, method, estimate and swept hyper-parameters.

    Attributes:
        system, method, estimate: as in :class:`Record`.
        params: swept key (short readable name) -> value as text, in label order.
        label: ``key=value, key=value`` (empty when nothing is swept).
        records: indices into :attr:`Summary.records`.
        stats: the statistics.
        reference, units: of the estimate (first record that has them).
    """

    system: str
    method: str
    estimate: str
    params: dict[str, str]
    label: str
    records: list[int]
    stats: GroupStats
    reference: str = ""
    units: str = ""

    @property
    def title(self) -> str:
        """``system method estimate [label]``, for tables and plots."""
        return f"{self.system} {self.method} {self.estimate}" + (
            f" [{self.label}]" if self.label else ""
        )


@dataclass
class Summary:
    """The aggregated result: groups, all records, all files."""

    groups: list[Group]
    records: list[Record]
    files: list[FileResult]
    n_boot: int
    seed: int
    confidence: float = CONFIDENCE

    def group_of(self) -> np.ndarray:
        """(n_records,) index of each record's group."""
        out = np.full(len(self.records), -1, dtype=np.int64)
        for gi, g in enumerate(self.groups):
            out[g.records] = gi
        return out


# ---------------------------------------------------------------------------------------------
# reading one file


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def _scalar(value: Any) -> float:
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.size == 1 else float("nan")


def _system(attrs: Mapping[str, Any], config: Mapping[str, Any], stage: str) -> str:
    system = attrs.get("system", config.get("system"))
    if system is None:
        return STAGE_SYSTEMS.get(stage, "unknown")
    lattice = attrs.get("lattice", config.get("lattice"))
    return f"{_text(system)}/{_text(lattice)}" if lattice else _text(system)


def _method(est_attrs: Mapping[str, Any], config: Mapping[str, Any], stage: str) -> str:
    if "method" in est_attrs:
        return _text(est_attrs["method"])
    if isinstance(config.get("method"), str):
        return config["method"]
    return stage.removeprefix("train_")


def _status(value: float, converged: bool) -> str:
    if not math.isfinite(value):
        return "nan"
    return "ok" if converged else "not_converged"


def _estimate_records(fh: Any, base: dict[str, Any], config: dict[str, Any]) -> list[Record]:
    """Records of every ``/estimates/<name>`` group; per member where ``/models/<name>`` holds
    one value per ensemble member (``/models/seed`` their seeds)."""
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
        common = {
            **{k: v for k, v in base.items() if k != "seed"},
            "system": _system(fh.attrs, config, base["stage"]),
            "method": _method(attrs, config, base["stage"]),
            "estimate": name,
            "exact": _scalar(attrs.get("exact", np.nan)),
            "reference": _text(attrs.get("reference", "")),
            "units": _text(attrs.get("units", "")),
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


def _read_curves(fh: Any) -> dict[str, dict[str, Any]]:
    """Plot data of a file, by kind.

    * ``binder``: coupling (G,), sizes (S,), binder and binder_error (S, G); pairs (P, 2),
      crossing and crossing_error (P,) when ``/crossings`` exists.
    * ``helicity``: sizes (S,), temperature, helicity, helicity_error (S, T).
    * ``continuum``: a (P,), energy, energy_error, gap, gap_error (P,).
    * ``flow``: J0 (G,), f (M, G, n), seed (M,), J_c (M,), fixed_points: list of (k, n)
      arrays, n_relevant: list of (k,) arrays (per member, in ``seed`` order).
    """
    out: dict[str, dict[str, Any]] = {}
    cv = fh["curves"] if "curves" in fh else None
    if cv is not None and {"coupling", "sizes", "binder", "binder_error"} <= set(cv):
        d = {k: np.asarray(cv[k][()]) for k in ("coupling", "sizes", "binder", "binder_error")}
        if "crossings" in fh and {"pairs", "estimate", "error"} <= set(fh["crossings"]):
            cr = fh["crossings"]
            d["pairs"] = np.asarray(cr["pairs"][()]).reshape(-1, 2)
            d["crossing"] = np.atleast_1d(cr["estimate"][()])
            d["crossing_error"] = np.atleast_1d(cr["error"][()])
        out["binder"] = d
    if cv is not None and {"sizes", "temperature", "helicity", "helicity_error"} <= set(cv):
        keys = ("sizes", "temperature", "helicity", "helicity_error")
        out["helicity"] = {k: np.asarray(cv[k][()]) for k in keys}
    if "points" in fh and "a" in fh["points"]:
        out["continuum"] = {k: np.asarray(v[()]) for k, v in fh["points"].items()}
    if "flow" in fh and {"J0", "f"} <= set(fh["flow"]):
        d = {"J0": np.asarray(fh["flow/J0"][()]), "f": np.asarray(fh["flow/f"][()])}
        if d["f"].ndim == 2:  # (G, n) of a single model
            d["f"] = d["f"][None]
        models = fh["models"] if "models" in fh else {}
        seeds = np.atleast_1d(models["seed"][()]) if "seed" in models else np.arange(len(d["f"]))
        d["seed"] = seeds
        d["J_c"] = (
            np.atleast_1d(models["J_c"][()]) if "J_c" in models else np.full(len(seeds), np.nan)
        )
        fps, rel = [], []
        for s in seeds:
            key = f"fixed_points/{int(s)}"
            if key in models and "J" in models[key]:
                fps.append(np.atleast_2d(models[key]["J"][()]))
                rel.append(
                    np.atleast_1d(models[key]["n_relevant"][()])
                    if "n_relevant" in models[key]
                    else np.full(len(fps[-1]), -1)
                )
            else:
                fps.append(np.zeros((0, d["f"].shape[-1])))
                rel.append(np.zeros(0, dtype=np.int64))
        d["fixed_points"], d["n_relevant"] = fps, rel
        out["flow"] = d
    return out


def read_file(path: str) -> FileResult:
    """Read one result file (one dask task): provenance, records, plot data.

    Never raises for a bad file: a :class:`StoreError` gives ``status = 'unreadable'`` and
    one failed record in the group :data:`UNREADABLE`; a file of another stage gives
    ``status = 'skipped'`` and no record.
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
            stage="",
            file_sha256=sha,
            message=str(exc),
        )
        return FileResult(path, "unreadable", str(exc), sha256=sha, records=[rec])
    with fh:
        attrs = fh.attrs
        stage = _text(attrs.get("stage", ""))
        result = FileResult(
            path,
            "ok",
            stage=stage,
            sha256=sha,
            git_revision=_text(attrs.get("git_revision", "")),
            config_sha256=_text(attrs.get("config_sha256", "")),
            config_json=_text(attrs.get("config_json", "{}")),
        )
        if stage != "critical" and not stage.startswith("train"):
            result.status, result.message = "skipped", f"stage {stage!r} is not aggregated"
            return result
        config = json.loads(result.config_json)
        base = {
            "path": path,
            "stage": stage,
            "seed": int(attrs.get("seed", -1)),
            "config_json": result.config_json,
            "config_sha256": result.config_sha256,
            "file_sha256": sha,
            "git_revision": result.git_revision,
        }
        result.records = _estimate_records(fh, base, config)
        result.curves = _read_curves(fh)
    return result


class _DaskProgress(Callback):
    """A dask local-scheduler callback counting finished tasks on a :class:`Progress`."""

    def __init__(self, progress: Progress):
        super().__init__()
        self.progress = progress

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        self.progress.update()


def collect(
    paths: Sequence[str | Path], scheduler: str | None = None, progress: bool = True
) -> list[FileResult]:
    """Read every file with dask, one delayed task per file, in the order given.

    Args:
        paths: result files (duplicates are read once).
        scheduler: address of a ``dask.distributed`` scheduler (e.g. ``tcp://host:8786``);
            None uses the local threaded scheduler.
        progress: report progress on stderr (a bar on a terminal, lines in logs).
    """
    unique = list(dict.fromkeys(str(p) for p in paths))
    tasks = [dask.delayed(read_file, pure=True)(p) for p in unique]
    with Progress(len(tasks), "aggregate: files read", enabled=progress) as prog:
        if scheduler:
            from distributed import Client, as_completed

            with Client(scheduler) as client:
                futures = client.compute(tasks)
                for _ in as_completed(futures):
                    prog.update()
                return list(client.gather(futures))
        with _DaskProgress(prog):
            return list(dask.compute(*tasks, scheduler="threads"))


# ---------------------------------------------------------------------------------------------
# grouping


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested configuration -> {dotted key: canonical JSON of the value}."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_config(value, name + "."))
        else:
            out[name] = canonical_json(value)
    return out


def _hyper_parameters(config_json: str) -> dict[str, str]:
    flat = flatten_config(json.loads(config_json))
    return {k: v for k, v in flat.items() if k.rsplit(".", 1)[-1] not in EXCLUDED_KEYS}


def swept_keys(configs: Iterable[str]) -> list[str]:
    """Dotted keys whose value differs between the configurations (JSON texts), seeds and
    paths excepted; a key missing from some configurations counts as differing."""
    flats = [_hyper_parameters(c) for c in dict.fromkeys(configs)]
    keys = sorted({k for f in flats for k in f})
    return [k for k in keys if len({f.get(k) for f in flats}) > 1]


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """The shortest dotted suffix of each key that is unique among ``keys``."""
    out = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            cand = ".".join(parts[-n:])
            others = [k for k in keys if k != key]
            if not any(k == cand or k.endswith("." + cand) for k in others):
                out[key] = cand
                break
        else:
            out[key] = key
    return out


def _display(value_json: str | None) -> str:
    if value_json is None:
        return "none"
    value = json.loads(value_json)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "none" if value is None else str(value)


def _sort_value(text: str) -> tuple:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


# ---------------------------------------------------------------------------------------------
# statistics


def bootstrap_ci(
    values: np.ndarray, n_boot: int, rng: np.random.Generator, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """BCa bootstrap interval of the mean (scipy.stats.bootstrap); NaN for fewer than two
    values; a point interval when all values are equal."""
    from scipy.stats import bootstrap

    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return float("nan"), float("nan")
    if np.ptp(x) == 0.0:
        return float(x[0]), float(x[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap(
            (x,),
            np.mean,
            n_resamples=n_boot,
            confidence_level=confidence,
            method="BCa",
            vectorized=True,
            rng=rng,
        )
    ci = res.confidence_interval
    return float(ci.low), float(ci.high)


def group_statistics(
    values: np.ndarray,
    errors: np.ndarray,
    exact: float,
    n_failed: int,
    n_boot: int,
    rng: np.random.Generator,
    confidence: float = CONFIDENCE,
) -> GroupStats:
    """Statistics of the ok values of one group (see :class:`GroupStats`).

    Args:
        values: (n,) finite values of the ok runs.
        errors: (n,) their standard errors (NaN or <= 0 where unknown).
        exact: exact value (NaN unknown).
        n_failed: failed runs of the group (counted only).
        n_boot: bootstrap resamples.
        rng: generator of the bootstrap.
    """
    from scipy.stats import chi2 as chi2_dist

    x = np.asarray(values, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    n = x.size
    nan = float("nan")
    mean = float(x.mean()) if n else nan
    std = float(x.std(ddof=1)) if n > 1 else nan
    sem = std / math.sqrt(n) if n > 1 else nan
    bias = mean - exact
    rel = bias / abs(exact) if math.isfinite(exact) and exact != 0.0 else nan
    lo, hi = bootstrap_ci(x, n_boot, rng, confidence)
    has = np.isfinite(e) & (e > 0)
    nw = int(has.sum())
    wmean = werr = chi2_ex = p_ex = chi2_in = nan
    if nw:
        w = 1.0 / e[has] ** 2
        wmean = float(np.sum(w * x[has]) / np.sum(w))
        werr = float(1.0 / math.sqrt(np.sum(w)))
        chi2_in = float(np.sum(w * (x[has] - wmean) ** 2)) if nw > 1 else nan
        if math.isfinite(exact):
            chi2_ex = float(np.sum(w * (x[has] - exact) ** 2))
            p_ex = float(chi2_dist.sf(chi2_ex, nw))
    return GroupStats(
        n_runs=n + int(n_failed),
        n=n,
        n_failed=int(n_failed),
        mean=mean,
        std=std,
        sem=sem,
        exact=float(exact),
        bias=bias,
        bias_error=sem if n > 1 else (werr if n == 1 else nan),
        relative_bias=rel,
        ci_low=lo,
        ci_high=hi,
        confidence=confidence,
        n_weighted=nw,
        weighted_mean=wmean,
        weighted_error=werr,
        chi2_exact=chi2_ex,
        dof_exact=nw if math.isfinite(chi2_ex) else 0,
        p_exact=p_ex,
        chi2_internal=chi2_in,
        dof_internal=max(nw - 1, 0),
    )


def _group_exact(records: Sequence[Record]) -> float:
    """The common exact value of a group (NaN if unknown or ambiguous)."""
    vals = {r.exact for r in records if math.isfinite(r.exact)}
    if len(vals) > 1:
        print(
            f"rgpipe aggregate: records of {records[0].system} {records[0].estimate} disagree on "
            f"the exact value {sorted(vals)}; the bias is left NaN",
            file=sys.stderr,
        )
        return float("nan")
    return vals.pop() if vals else float("nan")


def _group_rng(seed: int, key: str) -> np.random.Generator:
    """A bootstrap generator depending only on the seed and the group's identity."""
    words = np.frombuffer(hashlib.sha256(key.encode()).digest()[:16], dtype=np.uint32)
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, words)]))


def aggregate(
    files: Sequence[FileResult], n_boot: int = 9999, seed: int = 0, confidence: float = CONFIDENCE
) -> Summary:
    """Group the records of ``files`` and compute every group's statistics.

    Groups are ordered by system, method, estimate and swept values (numbers numerically).
    """
    records = [r for f in files for r in f.records]
    configs: dict[tuple[str, str], list[str]] = {}
    for r in records:
        configs.setdefault((r.system, r.method), []).append(r.config_json)
    swept = {sm: swept_keys(c) for sm, c in configs.items()}
    names = {sm: short_names(k) for sm, k in swept.items()}
    buckets: dict[tuple, list[int]] = {}
    for i, r in enumerate(records):
        sm = (r.system, r.method)
        hp = _hyper_parameters(r.config_json)
        values = tuple(_display(hp.get(k)) for k in swept[sm])
        buckets.setdefault((r.system, r.method, r.estimate, values), []).append(i)

    def order(key: tuple) -> tuple:
        return (key[0] == UNREADABLE[0], *key[:3], tuple(_sort_value(v) for v in key[3]))

    groups = []
    for key in sorted(buckets, key=order):
        system, method, estimate, values = key
        sm = (system, method)
        short = [names[sm][k] for k in swept[sm]]
        params = dict(zip(short, values, strict=True))
        label = ", ".join(f"{k}={v}" for k, v in params.items())
        idx = sorted(buckets[key], key=lambda i: (records[i].seed, records[i].member, i))
        recs = [records[i] for i in idx]
        ok = [r for r in recs if r.ok]
        stats = group_statistics(
            np.array([r.value for r in ok]),
            np.array([r.error for r in ok]),
            _group_exact(recs),
            len(recs) - len(ok),
            n_boot,
            _group_rng(seed, f"{system}|{method}|{estimate}|{label}"),
            confidence,
        )
        groups.append(
            Group(
                system,
                method,
                estimate,
                params,
                label,
                idx,
                stats,
                reference=next((r.reference for r in recs if r.reference), ""),
                units=next((r.units for r in recs if r.units), ""),
            )
        )
    return Summary(groups, records, list(files), int(n_boot), int(seed), confidence)


# ---------------------------------------------------------------------------------------------
# tables

SUMMARY_COLUMNS: dict[str, str] = {
    "group": "index of the group (row)",
    "system": "system/lattice",
    "method": "estimator",
    "estimate": "estimate name",
    "label": "swept hyper-parameters of the group, key=value joined by ', '",
    "params_json": "swept hyper-parameters as a JSON object",
    "units": "units of the estimate",
    "n_runs": "runs (records) in the group, ok + failed",
    "n": "ok runs entering the statistics",
    "n_failed": "failed runs: NaN estimate, converged = False or unreadable file",
    "mean": "mean of the ok values",
    "std": "standard deviation of the ok values (ddof = 1)",
    "sem": "standard error of the mean, std/sqrt(n)",
    "exact": "exact or literature value (NaN unknown)",
    "reference": "source of the exact value",
    "bias": "mean - exact",
    "bias_error": "error of the mean and the bias: sem (n >= 2) or the single run's error",
    "relative_bias": "(mean - exact)/|exact|",
    "ci_low": "lower end of the bootstrap confidence interval of the mean (BCa)",
    "ci_high": "upper end of the bootstrap confidence interval of the mean (BCa)",
    "confidence": "confidence level of the interval",
    "n_weighted": "ok runs with a finite positive error",
    "weighted_mean": "error-weighted mean sum(x/s^2)/sum(1/s^2)",
    "weighted_error": "its error 1/sqrt(sum(1/s^2))",
    "chi2_exact": "sum((x - exact)^2/s^2) over the weighted runs",
    "dof_exact": "degrees of freedom of chi2_exact (= n_weighted)",
    "p_exact": "chi^2 survival probability of chi2_exact",
    "chi2_internal": "sum((x - weighted_mean)^2/s^2)",
    "dof_internal": "degrees of freedom of chi2_internal (n_weighted - 1)",
    "files": "the group's input files, joined by ';'",
}
"""Columns of the summary table (one row per group) and their meaning; followed by one column
``hp.<key>`` per swept hyper-parameter (empty where a group's system/method has no such key)."""

RECORD_COLUMNS: dict[str, str] = {
    "group": "index of the record's group in the summary table",
    "system": "system/lattice",
    "method": "estimator",
    "estimate": "estimate name",
    "value": "the run's estimate (NaN if it failed)",
    "error": "its standard error (NaN where none)",
    "exact": "exact or literature value (NaN unknown)",
    "reference": "source of the exact value",
    "converged": "the run converged (1) or not (0)",
    "status": "ok, nan, not_converged or unreadable",
    "message": "why the run failed",
    "seed": "seed of the run or ensemble member (-1 unknown)",
    "member": "index in the ensemble file (-1: file-level estimate)",
    "path": "the result file",
    "stage": "stage that wrote the file",
    "config_sha256": "sha256 of the file's configuration",
    "config_json": "the file's configuration (canonical JSON)",
    "file_sha256": "sha256 of the file's bytes",
    "git_revision": "git revision of the code that wrote the file",
}
"""Columns of the per-run table (one row per run and estimate)."""

FILE_COLUMNS: dict[str, str] = {
    "path": "the input file",
    "status": "ok, unreadable or skipped (stage not aggregated)",
    "message": "the error of an unreadable or skipped file",
    "stage": "stage that wrote the file",
    "sha256": "sha256 of the file's bytes",
    "git_revision": "git revision of the code that wrote the file",
    "config_sha256": "sha256 of the file's configuration",
}
"""Columns of the input-file table."""


def summary_rows(summary: Summary) -> list[dict[str, Any]]:
    """One dictionary per group with the keys of :data:`SUMMARY_COLUMNS` and ``hp.<key>``."""
    hp_names = sorted({k for g in summary.groups for k in g.params})
    rows = []
    for gi, g in enumerate(summary.groups):
        s = g.stats
        row: dict[str, Any] = {
            "group": gi,
            "system": g.system,
            "method": g.method,
            "estimate": g.estimate,
            "label": g.label,
            "params_json": json.dumps(g.params),
            "units": g.units,
            "reference": g.reference,
            "files": ";".join(dict.fromkeys(summary.records[i].path for i in g.records)),
        }
        row = {name: row[name] if name in row else getattr(s, name) for name in SUMMARY_COLUMNS}
        row.update({f"hp.{k}": g.params.get(k, "") for k in hp_names})
        rows.append(row)
    return rows


def record_rows(summary: Summary) -> list[dict[str, Any]]:
    """One dictionary per record with the keys of :data:`RECORD_COLUMNS`."""
    group = summary.group_of()
    rows = []
    for i, r in enumerate(summary.records):
        row = {k: getattr(r, k) for k in RECORD_COLUMNS if k != "group"}
        row["group"] = int(group[i])
        row["converged"] = int(r.converged)
        rows.append({k: row[k] for k in RECORD_COLUMNS})
    return rows


def file_rows(summary: Summary) -> list[dict[str, Any]]:
    """One dictionary per input file with the keys of :data:`FILE_COLUMNS`."""
    return [{k: getattr(f, k) for k in FILE_COLUMNS} for f in summary.files]
