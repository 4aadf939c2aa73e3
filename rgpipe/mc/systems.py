"""The registry of Monte Carlo systems: what the config, the command line and the workflow
know about each of them.

Each system is one package ``rgpipe/mc/<name>/`` with its options (``spec.py``), its
checks between options (``check.py``) and a driver with one contract::

    run(job: dict, device: str = "auto", progress: bool = True) -> MCResult

taking a job validated by :func:`validate_job` (defaults filled).  From the declarations
this module builds the config schema's ``<name>_ensemble`` and ``<name>_mc_job``
(:func:`schema_defs`, merged into the schema by :func:`rgpipe.workflow_config.load_schema`), the
job as command-line flags (:func:`command_flags`) and the scheduler's cost estimates
(:func:`runtime_minutes`, :func:`memory_mb`).  Drivers are imported only when a job runs,
so that listing the systems (``--help``, the workflow's DAG) imports no numba or torch.
"""

from __future__ import annotations

import importlib
import math
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from rgpipe.config import ConfigError, check_job
from rgpipe.mc import options
from rgpipe.mc.ising import check as ising_check
from rgpipe.mc.ising import spec as ising_spec
from rgpipe.mc.oscillator import check as oscillator_check
from rgpipe.mc.oscillator import spec as oscillator_spec
from rgpipe.mc.phi4 import check as phi4_check
from rgpipe.mc.phi4 import spec as phi4_spec
from rgpipe.mc.xy import check as xy_check
from rgpipe.mc.xy import spec as xy_spec
from rgpipe.spec import Param, Spec, object_schema


@dataclass(frozen=True)
class System:
    """One Monte Carlo system.

    Attributes:
        name: the ``--system`` value, the config's ``mc.<name>`` and the path segment.
        title: what it is (for descriptions).
        spec: its options besides the size and the seed(s), in config order.
        size: the size of one job (``L`` or ``n_tau``).
        sizes: the ensemble's list of sizes, one job each (``sizes`` or ``n_tau``).
        path_letter: the size's letter in output paths (``L~<L>``, ``N~<n_tau>``).
        driver: ``"module:function"`` of the driver (imported when a job runs).
        check: ``check(entry, where, what) -> list[str]``: problems between options of an
            ensemble or a job (defaults filled) that the schema cannot express.
        cross_key: JSON-schema fragment between keys (``allOf``), or None.
        conditional: options without a default that ``cross_key`` governs (not required).
        points: the keys of the swept parameter points (sorted ascending in a job).
        sites: ``sites(entry, size)``: degrees of freedom of one job.
        work_per_site: site updates one sweep costs per site (scheduler estimate).
    """

    name: str
    title: str
    spec: Spec
    size: Param
    sizes: Param
    path_letter: str
    driver: str
    check: Callable[[Mapping[str, Any], str, str], list[str]]
    sites: Callable[[Mapping[str, Any], int], int]
    cross_key: Mapping[str, Any] | None = None
    conditional: tuple[str, ...] = ()
    points: tuple[str, ...] = ()
    work_per_site: int = 1

    @property
    def sizes_key(self) -> str:
        """The ensemble key listing the sizes."""
        return self.sizes.name

    @property
    def job_params(self) -> tuple[Param, ...]:
        """Every option of one job: the size, the spec, the seed."""
        return (self.size, *self.spec.params, options.SEED)

    @property
    def ensemble_params(self) -> tuple[Param, ...]:
        """Every option of a config ensemble: the spec, the sizes, the seeds."""
        return (*self.spec.params, self.sizes, options.SEEDS)

    def required(self) -> list[str]:
        """Options of the spec that must always be given."""
        return [p.name for p in self.spec if p.required and p.name not in self.conditional]

    def run(self, job: dict[str, Any], device: str = "auto", progress: bool = True) -> Any:
        """Import the driver and run a validated job; returns its MCResult."""
        module, function = self.driver.split(":")
        return getattr(importlib.import_module(module), function)(job, device, progress)


def _lattice_sites(entry: Mapping[str, Any], L: int) -> int:
    """Spins of an L x L square lattice, 3 L^2 on the Lieb lattice, L on the ring."""
    if entry.get("lattice") == "ring":
        return L
    return L * L * (3 if entry.get("lattice") == "lieb" else 1)


def _time_slices(entry: Mapping[str, Any], n_tau: int) -> int:
    return n_tau


SYSTEMS: dict[str, System] = {
    s.name: s
    for s in (
        System(
            name="ising",
            title="Ising",
            spec=ising_spec.SPEC,
            size=options.L,
            sizes=options.SIZES,
            path_letter="L",
            driver="rgpipe.mc.ising.driver:run",
            check=ising_check.check,
            sites=_lattice_sites,
            points=("couplings",),
        ),
        System(
            name="xy",
            title="XY",
            spec=xy_spec.SPEC,
            size=options.L,
            sizes=options.SIZES,
            path_letter="L",
            driver="rgpipe.mc.xy.driver:run",
            check=xy_check.check,
            sites=_lattice_sites,
            points=("couplings",),
        ),
        System(
            name="phi4",
            title="2D lattice phi^4",
            spec=phi4_spec.SPEC,
            size=options.L,
            sizes=options.SIZES,
            path_letter="L",
            driver="rgpipe.mc.phi4.driver:run",
            check=phi4_check.check,
            sites=_lattice_sites,
            cross_key=phi4_spec.FORMS,
            conditional=phi4_spec.CONDITIONAL,
            points=("betas", "m0sq"),
            work_per_site=10,
        ),
        System(
            name="oscillator",
            title="0+1D-field",
            spec=oscillator_spec.SPEC,
            size=oscillator_spec.N_TAU,
            sizes=oscillator_spec.N_TAUS,
            path_letter="N",
            driver="rgpipe.mc.oscillator.driver:run",
            check=oscillator_check.check,
            sites=_time_slices,
            cross_key=oscillator_spec.REQUIRES,
            conditional=oscillator_spec.CONDITIONAL,
            work_per_site=10,
        ),
    )
}
"""Every Monte Carlo system, by name."""


def system(name: str) -> System:
    """The system called ``name`` (ValueError naming the known ones otherwise)."""
    try:
        return SYSTEMS[name]
    except KeyError:
        known = ", ".join(SYSTEMS)
        raise ValueError(f"unknown Monte Carlo system {name!r} (one of: {known})") from None


def _with_cross_key(schema: dict[str, Any], s: System) -> dict[str, Any]:
    if s.cross_key is not None:
        schema["allOf"] = [dict(s.cross_key)]
    return schema


@cache
def ensemble_schema(name: str) -> dict[str, Any]:
    """JSON schema of one config ensemble ``mc.<name>.<ensemble>`` (self-contained)."""
    s = system(name)
    description = (
        f"One {s.title} Monte Carlo ensemble: one job (and file) per entry of "
        f"{s.sizes_key} and per seed."
    )
    required = [*s.required(), s.sizes_key]
    return _with_cross_key(object_schema(s.ensemble_params, description, required=required), s)


@cache
def job_schema(name: str) -> dict[str, Any]:
    """JSON schema of one ``python -m rgpipe mc --system <name>`` job (self-contained)."""
    s = system(name)
    description = (
        f"The configuration slice one `python -m rgpipe mc --system {name}` job depends on; "
        "stored canonically (with its sha256) in the job's HDF5 file."
    )
    extra = {"system": {"type": "string", "const": name, "description": "The model."}}
    required = ["system", s.size.name, *s.required()]
    return _with_cross_key(
        object_schema(s.job_params, description, extra=extra, required=required), s
    )


def schema_defs() -> dict[str, dict[str, Any]]:
    """``{"<name>_ensemble": ..., "<name>_mc_job": ...}`` of every system, for ``$defs``."""
    out = {}
    for name in SYSTEMS:
        out[f"{name}_ensemble"] = ensemble_schema(name)
        out[f"{name}_mc_job"] = job_schema(name)
    return out


def check(name: str, entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """The system's checks between options of an ensemble or a job (defaults filled)."""
    return system(name).check(entry, where, what)


def validate_job(job: Mapping[str, Any], name: str | None = None) -> dict[str, Any]:
    """Validate one Monte Carlo job and return a copy with the defaults filled.

    Args:
        job: the options, with ``system``.
        name: the system the job must be of (default: its ``system``).

    Raises:
        ConfigError: ``invalid <name> mc job:`` and one line per problem, naming the option.
    """
    name = name or job.get("system")
    if name not in SYSTEMS:
        raise ConfigError(f"invalid mc job: unknown system {name!r} (one of: {', '.join(SYSTEMS)})")
    kind = f"{name} mc job"
    checked = check_job(job, job_schema(name), kind)
    msgs = check(name, checked, "", "option")
    if msgs:
        raise ConfigError(f"invalid {kind}:\n  " + "\n  ".join(msgs))
    return checked


def ensemble_job(name: str, entry: Mapping[str, Any], size: int, seed: int) -> dict[str, Any]:
    """The job of one size and seed of a config ensemble (defaults filled), as the command
    line rebuilds it: every key but the sizes and seeds, the swept points sorted."""
    s = system(name)
    job = {k: v for k, v in entry.items() if k not in (s.sizes_key, options.SEEDS.name)}
    job.update(system=name, seed=int(seed))
    job[s.size.name] = int(size)
    for key in s.points:
        if key in job:
            job[key] = sorted(job[key])
    return job


def _flag_values(param: Param, value: Any) -> str:
    if param.kind == "float_list":
        return " ".join(repr(float(v)) for v in value)
    if param.is_list:
        return " ".join(shlex.quote(str(v)) for v in value)
    return shlex.quote(str(value))


def command_flags(name: str, job: Mapping[str, Any]) -> str:
    """The job as options of ``python -m rgpipe mc --system <name>``: the size first, then
    every other key in the job's order (``system`` is ``--system``'s; a null value, i.e. an
    automatic setting, is left out)."""
    s = system(name)
    params = {p.name: p for p in s.job_params}
    unknown = sorted(set(job) - set(params) - {"system"})
    if unknown:
        raise ValueError(f"not options of --system {name}: {', '.join(unknown)}")
    keys = [s.size.name] if s.size.name in job else []
    keys += [k for k in job if k not in (s.size.name, "system")]
    parts = []
    for key in keys:
        param, value = params[key], job[key]
        if value is None:
            continue
        if param.kind == "bool":
            parts.append(param.option if value else "--no-" + param.option.removeprefix("--"))
        else:
            parts.append(f"{param.option} {_flag_values(param, value)}")
    return " ".join(parts)


def n_sites(name: str, entry: Mapping[str, Any], size: int) -> int:
    """Degrees of freedom of one job of an ensemble (spins, rotors or time slices)."""
    return system(name).sites(entry, int(size))


def _points(s: System, entry: Mapping[str, Any]) -> int:
    return next((len(entry[k]) for k in s.points if k in entry), 1)


def runtime_minutes(name: str, entry: Mapping[str, Any], size: int) -> int:
    """Generous wall-time estimate of one job of an ensemble (defaults filled), in minutes:
    1e6 site updates/s worst case, times 3; an HMC trajectory or a phi^4 sweep counts
    ``work_per_site`` updates per site."""
    s = system(name)
    sweeps = entry["sweeps"] + entry["thermalization"]
    work = n_sites(name, entry, size) * sweeps * _points(s, entry) * s.work_per_site
    return max(10, math.ceil(3 * work / 1e6 / 60))


def memory_mb(name: str, entry: Mapping[str, Any], size: int) -> int:
    """Memory estimate of one job of an ensemble, in MB: series (up to 12 x 8 B per
    measurement), configurations (8 B per site) and the 0+1D correlator, plus
    interpreter overhead."""
    s = system(name)
    sites = n_sites(name, entry, size)
    configs = entry.get("configurations", 0) * sites
    data = _points(s, entry) * (96 * entry["sweeps"] + 8 * configs + 8 * 4096 * sites) / 1e6
    return int(1000 + 3 * data)


def run(job: dict[str, Any], device: str = "auto", progress: bool = True) -> Any:
    """Run a validated job of any system; returns its :class:`~rgpipe.mc.output.MCResult`."""
    return system(job["system"]).run(job, device, progress)
