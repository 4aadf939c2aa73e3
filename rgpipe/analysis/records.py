"""The data of the aggregate stage: runs (:class:`Record`), files, groups, their statistics.

A :class:`Record` is one estimate of one run; :class:`FileResult` is what one dask task read
from one file; :class:`Group` holds the records that share system, method, estimate and swept
hyper-parameters with their :class:`GroupStats`; :class:`Summary` is the whole result, with
the checks of the Monte Carlo files against exact values (:mod:`.validation`), which are
validation, not estimates: they enter no group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rgpipe.analysis.validation import Check, Comparison, RollUp

CONFIDENCE = 0.95
"""Confidence level of the bootstrap interval of the mean."""

UNREADABLE = ("(unreadable)", "-", "-")
"""(system, method, estimate) of the records standing for files that could not be opened."""

REFERENCE_KINDS = ("exact", "literature", "none")
"""What a record's reference value is: exact (a bias in units of the error is meaningful), a
literature value of unknown accuracy (only the bias and the relative bias are), or none."""


@dataclass
class Record:
    """One estimate of one run (a file, or one member of an ensemble file).

    Attributes:
        system: ``<system>/<lattice>`` (or ``<system>``), e.g. ``ising/lieb``.
        method: estimator, e.g. ``binder_crossing``.
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
        reference_kind: one of :data:`REFERENCE_KINDS`.
        family: the learned-method family that wrote the file ('' for Monte Carlo files).
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
    reference_kind: str = "none"
    family: str = ""

    @property
    def ok(self) -> bool:
        """True when the record enters the statistics."""
        return self.status == "ok"


@dataclass
class FileResult:
    """What one task read from one file.

    Attributes:
        path: the file, as given.
        status: ``ok``, ``unreadable`` (StoreError, or a dataset or attribute that cannot be
            read) or ``skipped`` (another stage).
        message: the error for unreadable or skipped files; for an ok file, what of it could
            not be read (e.g. the curves of an unregistered family) or compared (a Monte
            Carlo file without exact values).
        stage, sha256, git_revision, config_sha256, config_json: provenance ('' if unknown).
        family: the learned-method family that wrote the file ('' for Monte Carlo files).
        records: the file's records.
        curves: plot data by kind (e.g. ``binder``; a family's own kinds for its files), each
            a dictionary of numpy arrays and scalars (see :mod:`rgpipe.analysis.curves`).
        comparisons: a Monte Carlo file's estimates with exact values (no records).
    """

    path: str
    status: str
    message: str = ""
    stage: str = ""
    sha256: str = ""
    git_revision: str = ""
    config_sha256: str = ""
    config_json: str = "{}"
    family: str = ""
    records: list[Record] = field(default_factory=list)
    curves: dict[str, dict[str, Any]] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)


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
            with the exact value within their errors?); NaN, 0, NaN against a literature
            value, whose own error is unknown.
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
        reference_kind: one of :data:`REFERENCE_KINDS` (``literature`` if any record with a
            reference value says so).
        family: the learned-method family of the records ('' for Monte Carlo).
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
    reference_kind: str = "none"
    family: str = ""

    @property
    def title(self) -> str:
        """``system method estimate [label]``, for tables and plots."""
        return f"{self.system} {self.method} {self.estimate}" + (
            f" [{self.label}]" if self.label else ""
        )

    @property
    def literature(self) -> bool:
        """True when the reference value is a literature value (no bias in units of errors)."""
        return self.reference_kind == "literature"


@dataclass
class Summary:
    """The aggregated result: groups, all records, all files, and the Monte Carlo files'
    checks against exact values (per file and estimate, and rolled up per system and
    estimate; :func:`rgpipe.analysis.validation.validate`)."""

    groups: list[Group]
    records: list[Record]
    files: list[FileResult]
    n_boot: int
    seed: int
    confidence: float = CONFIDENCE
    checks: list[Check] = field(default_factory=list)
    rollups: list[RollUp] = field(default_factory=list)

    def group_of(self) -> np.ndarray:
        """(n_records,) index of each record's group."""
        out = np.full(len(self.records), -1, dtype=np.int64)
        for gi, g in enumerate(self.groups):
            out[g.records] = gi
        return out
