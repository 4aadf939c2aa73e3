"""What a learned-method family declares: its parameters and the hooks the stages call.

A family is one package under ``rgpipe/learn/<name>/`` whose module ``family.py`` defines
``FAMILY = Family(...)`` (a family outside the package, e.g. one in a test suite, is any
importable module named in ``RGPIPE_FAMILIES``; see :mod:`.registry`).  From the
declaration the shared layer builds everything else:

* the config schema's ``train.<name>`` studies and the ``<name>_job`` slice
  (:mod:`rgpipe.workflow_config`), the flags of ``python -m rgpipe train <name>``
  (:mod:`.stage`), and the workflow's ``train_<name>`` rule (``workflow/rules/train.smk``);
* the training job (:mod:`.runner`): seeds, random streams, vectorised groups, MPI
  ensembles or DDP, checkpoints, the atomic write and the across-seed statistics of the
  per-model estimates;
* the critical stage's ``--method <critical.method>`` and the aggregate stage's curves,
  figures and ordering of swept values.

Hooks are ``"module:attribute"`` references, imported only when a stage calls them, so
that listing the families (``--help``, the workflow's DAG) imports no torch.

Hook signatures (``params``: the resolved hyper-parameters, a dict):

* ``trainer(ctx: TrainContext) -> Trainer`` (:class:`Trainer` protocol);
* ``write(fh: h5py.File, params, models: list[dict], job: dict) -> None``: the family's
  own groups of the training file (the runner writes the root attributes,
  ``/estimates`` and ``/models/{seed, <estimate>}``);
* ``describe(params) -> dict[str, Estimate]``: the per-model scalars that get across-seed
  statistics, with their exact values;
* ``check(params) -> None``: raises ValueError naming the keys when values conflict;
* ``groups(params, seeds) -> list[list[int]]``: the vectorised groups (default: one model
  each);
* ``cost(params, n_models) -> Cost``: the Slurm runtime and memory request;
* ``critical.run(out, train_file, overrides) -> dict[str, Stats]``;
* ``curves(fh: h5py.File) -> dict[str, dict[str, Any]]``: the plot data of one of the
  family's result files (training or critical), by kind; each kind's data is a dictionary
  of numpy arrays, lists of arrays and scalars (picklable: files are read on dask workers),
  including whatever its plot needs from the file (e.g. a reference value); {} when the
  file has none.  Only kinds with an entry in ``plots`` are drawn;
* ``plots[kind](data: dict[str, Any], path: Path, *, source: str, run: str)
  -> tuple[str, str]``: draws ``data`` (``curves(fh)[kind]``) with matplotlib into the
  PNG file ``path`` (its directory exists; save with ``fig.savefig(path)``, the aggregate
  stage sets the resolution) and closes the figure; ``source`` is the result file as the
  aggregate stage was given it, ``run`` a short name of the run for the figure's heading
  (``"<system>: <dir>/<file>"``); returns the report's (title, caption).  It must not
  import :mod:`rgpipe.analysis`: the aggregate stage makes the figure of the report from
  ``path`` and what it returns;
* ``value_order(key: str, value: str) -> tuple``: sort key of the value (as text) of a
  categorical swept hyper-parameter whose short name (as in the group labels) is ``key``,
  in scan plots; the keys of one hyper-parameter's values must be mutually comparable
  (without the hook: alphabetical).

The aggregate stage finds a file's family by its root attribute ``family`` (written by the
family's writers), else by the stage ``train_<name>`` of a training file, else by a
critical file's root attribute ``method`` naming the family; the system of its estimates
by the root attributes ``system`` and ``lattice`` (else the configuration's, else
``unknown``); an estimate's reference value ``/estimates/<name>`` attribute ``exact`` is
exact unless its attribute ``reference_kind`` is not ``exact`` or, without that attribute,
its ``reference`` says "literature".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from rgpipe.spec import Spec


@dataclass(frozen=True)
class Estimate:
    """A per-model scalar that the runner summarises across seeds.

    Attributes:
        definition: what the number is (one line).
        exact: the exact value (NaN when none is known).
        reference: the source of ``exact``.
        units: units of the value.
        kind: ``exact`` (a bias in units of the error is meaningful) or ``literature`` (an
            approximate value: the aggregate stage reports no such bias).
        of: the per-model result this estimate is made of (default: the estimate's name).
        shift: subtracted from each model's ``of`` value, e.g. the method's own
            infinite-capacity answer, so that the estimate is the training's deviation from
            it (with ``exact`` 0).
    """

    definition: str
    exact: float = float("nan")
    reference: str = "none"
    units: str = ""
    kind: str = "exact"
    of: str = ""
    shift: float = 0.0

    def values(self, name: str, models: Any) -> list[float]:
        """The estimate's per-model values (``models``: the per-model results)."""
        return [float(m[self.of or name]) - self.shift for m in models]


@dataclass(frozen=True)
class Cost:
    """A scheduler request for one training job (one rank).

    Attributes:
        runtime_minutes: wall time.
        memory_mb: memory.
    """

    runtime_minutes: int
    memory_mb: int


@dataclass(frozen=True)
class Critical:
    """How the critical stage re-analyses a family's training file.

    Attributes:
        method: the name of ``python -m rgpipe critical --method``.
        run: hook ``(out, train_file, overrides) -> dict[str, Stats]``.
        overrides: hyper-parameters (of the family's spec) the critical stage may change
            without retraining; they become flags of the critical stage.
    """

    method: str
    run: str
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Data:
    """Monte Carlo configurations a family learns from.

    Attributes:
        systems: the MC systems whose files it reads.
        samples: ``/samples/<name>`` per system, e.g. ``{"ising": "spins"}``.
    """

    systems: tuple[str, ...]
    samples: dict[str, str] = field(default_factory=dict)


@dataclass
class TrainContext:
    """What a trainer is built from.

    Attributes:
        params: resolved hyper-parameters.
        seeds: the models of this group (one seed each).
        world: the data-parallel world (:class:`rgpipe.parallel.World`, torch.distributed
            initialised) in ``ddp`` mode, else None (the group is trained by one process).
        device: the torch device to train on.
        data: this rank's share of the Monte Carlo configurations
            (:class:`rgpipe.learn.data.Samples`), for families with :class:`Data`.
    """

    params: dict[str, Any]
    seeds: list[int]
    world: Any = None
    device: Any = "cpu"
    data: Any = None


class Trainer(Protocol):
    """One vectorised group of models, trained one step at a time, resumable.

    ``state_dict`` must hold everything the loop needs to continue exactly (weights,
    optimiser, chains, every random generator, histories, the step counter), so that a
    resumed run is bit-identical to an unbroken one.  ``finish`` returns one picklable
    dictionary per model with at least ``seed`` and every estimate of
    :attr:`Family.describe`.  A trainer that holds a torch module as ``model`` gets its
    data-parallel replicas compared after training.
    """

    step_count: int

    @property
    def done(self) -> bool: ...

    def step(self) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    def finish(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Family:
    """A learned-method family (see the module docstring for the hooks).

    Attributes:
        name: identifier; the CLI's ``train <name>``, the config's ``train.<name>``, the
            stage ``train_<name>`` and the rule ``train_<name>``.
        title: one line for help texts and the report.
        spec: the hyper-parameters.
        trainer, write, describe: required hooks.
        steps: the hyper-parameter giving the number of training steps per group.
        check, groups, cost: optional hooks (defaults: no check, one model per group,
            :data:`DEFAULT_COST`).
        modes: training modes the family supports (``ensemble``, ``ddp``).
        critical: re-analysis by the critical stage, or None.
        aggregate: which file the aggregate stage reads: ``critical`` or ``train``.
        data: the Monte Carlo data it learns from, or None.
        curves, plots, value_order: the aggregate stage's hooks (optional): the family's
            plot data, one plot hook per kind, the order of categorical swept values.
    """

    name: str
    title: str
    spec: Spec
    trainer: str
    write: str
    describe: str
    steps: str = "epochs"
    check: str | None = None
    groups: str | None = None
    cost: str | None = None
    modes: tuple[str, ...] = ("ensemble", "ddp")
    critical: Critical | None = None
    aggregate: str = "train"
    data: Data | None = None
    curves: str | None = None
    plots: dict[str, str] = field(default_factory=dict)
    value_order: str | None = None

    @property
    def stage(self) -> str:
        """The ``stage`` attribute of its training files."""
        return f"train_{self.name}"

    def hook(self, name: str) -> Any:
        """The object a hook field refers to (imported now), or None when unset."""
        ref = getattr(self, name)
        return None if ref is None else resolve(ref)

    def hook_critical(self, out: Any, train_file: Any, overrides: dict[str, Any]) -> Any:
        """Run the critical analysis hook (``critical.run``) of the family."""
        if self.critical is None:
            raise ValueError(f"the {self.name} family has no critical analysis")
        return resolve(self.critical.run)(out, train_file, overrides)

    def hook_refs(self) -> dict[str, str]:
        """Every hook reference of the family, by field (for tests that import them all)."""
        out = {
            k: getattr(self, k)
            for k in (
                "trainer",
                "write",
                "describe",
                "check",
                "groups",
                "cost",
                "curves",
                "value_order",
            )
        }
        out.update({f"plots.{k}": v for k, v in self.plots.items()})
        if self.critical is not None:
            out["critical.run"] = self.critical.run
        return {k: v for k, v in out.items() if v is not None}


DEFAULT_COST = Cost(runtime_minutes=60, memory_mb=4000)
"""The request of a family without a cost hook."""


def resolve(ref: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module, _, attr = ref.partition(":")
    if not attr:
        raise ValueError(f"hook reference {ref!r} is not of the form 'module:attribute'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
