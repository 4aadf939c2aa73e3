"""Ensembles of independently seeded MLRG models: vectorised groups, in-process training.

* :func:`seed_groups` (the family's ``groups`` hook) cuts the seeds into vectorised groups of
  ``models_per_batch`` models (fewer if the exact-KL tensors would exceed
  :data:`MAX_ELEMENTS`); the runner (:mod:`rgpipe.learn.runner`) trains them over ranks.
* :func:`train_ensemble` trains a list of seeds in this process and returns a picklable
  dictionary; :func:`merge_results` combines those of disjoint seed lists (a model's result
  depends only on its seed and the hyper-parameters); :func:`ensemble_statistics` and
  :func:`write_result` summarise and write them like a training job does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rgpipe.learn.mlrg.clusters import PLAQUETTE
from rgpipe.learn.mlrg.params import resolve_params
from rgpipe.learn.mlrg.representation import representation

MAX_ELEMENTS = 2**24
"""Largest (models x chains x enumerated states x components) tensor of one KL batch (float32:
64 MB per tensor); bigger batches are split, which does not change any model's result."""


def max_models_per_batch(params: dict[str, Any]) -> int:
    """How many models fit in one vectorised batch under :data:`MAX_ELEMENTS` (exact KL)."""
    if params["loss"] != "kl" or params["block"] != PLAQUETTE:
        return params["models_per_batch"]  # CD, or a cluster's few hundred histogram bins
    from rgpipe.learn.mlrg.exact_kl import symmetric_orbits

    rep = representation(params["representation"], params["frame"])
    reps, _ = symmetric_orbits(rep)
    per_model = params["batch"] * len(reps) * rep.d
    return max(1, MAX_ELEMENTS // per_model)


def seed_groups(params: dict[str, Any], seeds: list[int]) -> list[list[int]]:
    """The vectorised groups of a job (independent of the number of ranks)."""
    step = min(params["models_per_batch"], max_models_per_batch(params))
    return [seeds[i : i + step] for i in range(0, len(seeds), step)]


def train_ensemble(params: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """Train one model per seed in this process (vectorised as :func:`seed_groups` says).

    Args:
        params: hyper-parameters (missing keys take their defaults, see :mod:`.spec`).
        seeds: distinct non-negative integers.

    Returns:
        Picklable dictionary: ``params`` (resolved), ``seeds`` (list), ``models`` (list of
        per-model dictionaries, see :func:`.train.train_group`).
    """
    from rgpipe.learn.mlrg.train import train_group

    p = resolve_params(params)
    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    models: list[dict[str, Any]] = []
    for group in seed_groups(p, seeds):
        models += train_group(p, group)
    return {"params": p, "seeds": seeds, "models": models}


def merge_results(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Combine results of disjoint seed lists trained with the same parameters (models
    ordered by seed)."""
    parts = list(parts)
    if not parts:
        raise ValueError("nothing to merge")
    params = parts[0]["params"]
    for part in parts[1:]:
        if part["params"] != params:
            raise ValueError("cannot merge results trained with different parameters")
    models = sorted((m for part in parts for m in part["models"]), key=lambda m: m["seed"])
    seeds = [m["seed"] for m in models]
    if len(set(seeds)) != len(seeds):
        raise ValueError("the parts share seeds")
    return {"params": params, "seeds": seeds, "models": models}


def ensemble_statistics(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Across-seed statistics of J_c, nu and J*_0 (:func:`rgpipe.learn.ensemble.
    estimate_statistics`: mean, error_of_mean, std, n_valid, bias against the exact value)."""
    from rgpipe.learn.ensemble import estimate_statistics
    from rgpipe.learn.mlrg.output import describe

    return estimate_statistics(results["models"], describe(resolve_params(results.get("params"))))


def write_result(
    path: str | Path,
    params: dict[str, Any],
    results: dict[str, Any],
    *,
    world_size: int = 1,
    inputs: Iterable[str | Path] = (),
    job: dict[str, Any] | None = None,
) -> Path:
    """Write an ensemble as a training job does (:func:`rgpipe.learn.runner.write_training`).

    Args:
        path: output file.
        params: the hyper-parameters the results were trained with.
        results: output of :func:`train_ensemble` or :func:`merge_results`.
        world_size: number of MPI ranks that trained the ensemble.
        inputs: input files to hash into the provenance.
        job: the job's configuration slice to store; default ``{"mlrg": params, "seeds":
            seeds}``.
    """
    from rgpipe.learn import registry
    from rgpipe.learn.runner import write_training

    p = resolve_params(params)
    if results["params"] != p:
        raise ValueError("results were trained with other parameters than the ones given")
    config = dict(job) if job is not None else {"mlrg": p, "seeds": list(results["seeds"])}
    return write_training(
        registry.get("mlrg"),
        path,
        p,
        config,
        results["models"],
        world_size,
        [str(i) for i in inputs],
    )
