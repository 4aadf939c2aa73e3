"""Bias statistics across runs: group the records of every file and summarise each group.

The aggregate stage reads every critical-point and training file (:func:`.collect.collect`,
one dask task per file, :func:`.reader.read_file`) into
:class:`~rgpipe.analysis.records.FileResult` objects, then :func:`aggregate` groups their
records by system, method, estimate and every configuration key whose value differs between
the files of the same (system, method), the seed and paths excepted (the swept
hyper-parameters, :mod:`.grouping`), and computes per group (:mod:`.group_stats`): n, mean,
standard deviation, standard error, bias against the reference value, relative bias, a
bootstrap confidence interval of the mean, the error-weighted mean and chi^2 consistency
checks (none against a literature value).  :mod:`.tables` turns the result into rows.

Failed records (NaN, not converged, unreadable file) are counted in their group
(``n_failed``), never dropped.  Unreadable files have no system or method; they form the
group :data:`~rgpipe.analysis.records.UNREADABLE`.

Monte Carlo files give no records: their estimates are checked against the exact values of
the same finite lattice (:func:`.validation.validate`) and enter no group.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rgpipe.analysis.group_stats import (
    group_exact,
    group_reference_kind,
    group_rng,
    group_statistics,
)
from rgpipe.analysis.grouping import display, hyper_parameters, short_names, sort_value, swept_keys
from rgpipe.analysis.records import CONFIDENCE, UNREADABLE, FileResult, Group, Summary
from rgpipe.analysis.validation import validate


def aggregate(
    files: Sequence[FileResult], n_boot: int = 9999, seed: int = 0, confidence: float = CONFIDENCE
) -> Summary:
    """Group the records of ``files`` and compute every group's statistics.

    Groups are ordered by system, method, estimate and swept values (numbers numerically);
    the Monte Carlo files' checks by system, estimate and file.
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
        hp = hyper_parameters(r.config_json)
        values = tuple(display(hp.get(k)) for k in swept[sm])
        buckets.setdefault((r.system, r.method, r.estimate, values), []).append(i)

    def order(key: tuple) -> tuple:
        return (key[0] == UNREADABLE[0], *key[:3], tuple(sort_value(v) for v in key[3]))

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
        kind = group_reference_kind(recs)
        stats = group_statistics(
            np.array([r.value for r in ok]),
            np.array([r.error for r in ok]),
            group_exact(recs),
            len(recs) - len(ok),
            n_boot,
            group_rng(seed, f"{system}|{method}|{estimate}|{label}"),
            confidence,
            literature=kind == "literature",
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
                reference_kind=kind,
                family=next((r.family for r in recs if r.family), ""),
            )
        )
    checks, rollups = validate([c for f in files for c in f.comparisons])
    return Summary(
        groups, records, list(files), int(n_boot), int(seed), confidence, checks, rollups
    )
