"""Ensembles of independently seeded MLRG models: training, statistics, HDF5 output.

* :func:`train_ensemble` trains the models of a list of seeds, ``models_per_batch`` at a time in
  one vectorised batch (fewer if the exact-KL tensors would exceed :data:`MAX_ELEMENTS`), and
  returns a picklable dictionary.  It is the unit of work an MPI layer
  distributes: give each rank a slice of the seeds, gather the dictionaries, combine them with
  :func:`merge_results` (a model's result depends only on its seed and the hyper-parameters).
* :func:`ensemble_statistics`: mean, standard error and standard deviation *across seeds* of
  the per-model J_c, nu and J*_0.  The models are independent by construction (separate seeds,
  no shared state), so the error of the mean is ``std / sqrt(N)`` (ddof = 1) and ``tau_int`` is
  0.5 by construction; the Gamma method's autocorrelation window would only fit noise to an
  arbitrary seed order.  Models without a critical fixed point (NaN) are left out and counted.
* :func:`write_result` writes one HDF5 file through :func:`rgpipe.store.create_result`.

Layout of the file (stage ``train_mlrg``)::

    /estimates/J_c/{mean,error_of_mean,variance,tau_int,std}   Ising-axis crossing (tables)
    /estimates/nu/{...}                                        1/y at the critical fixed point
    /estimates/J_star0/{...}                                   first component of J*
        attrs: definition, n_models, n_valid, exact (J_c, nu), bias, relative_bias
    /models/seed (M,), J_c (M,), nu (M,), J_star (M, n), J_star0 (M,), lambda_relevant (M,),
           eigenvalues_real (M, n), eigenvalues_imag (M, n), crossing_distance (M,),
           final_loss (M,), train_seconds (M,), analysis_seconds (M,)
    /models/fixed_points/<seed>/{J (k, n), n_relevant (k,)}
    /models/weights/<k> (M, ...) trained parameters (``train.model_from_weights``)
    /flow/J0 (G,) Ising-axis grid, /flow/f (M, G, n) learned f(J0, 0, ..., 0)
    /loss/epoch (E,), /loss/value (M, E) training loss, /loss/hmc_acceptance (M, E)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from rgpipe.learn.mlrg.clusters import PLAQUETTE
from rgpipe.learn.mlrg.exact import J_C_EXACT, NU_EXACT
from rgpipe.learn.mlrg.params import resolve_params
from rgpipe.learn.mlrg.representation import representation
from rgpipe.learn.mlrg.train import train_group
from rgpipe.stats import Stats

STAGE = "train_mlrg"
"""Stage name written to the result file."""

PER_MODEL_SCALARS = (
    "J_c",
    "J_star0",
    "nu",
    "lambda_relevant",
    "crossing_distance",
    "train_seconds",
    "analysis_seconds",
)
PER_MODEL_VECTORS = ("J_star", "eigenvalues_real", "eigenvalues_imag")


def train_ensemble(params: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """Train one model per seed (vectorised ``models_per_batch`` at a time) and analyse them.

    Args:
        params: hyper-parameters (missing keys take their defaults, see :mod:`.params`).
        seeds: distinct non-negative integers.

    Returns:
        Picklable dictionary: ``params`` (resolved), ``seeds`` (list), ``models`` (list of
        per-model dictionaries, see :func:`.train.train_group`).
    """
    p = resolve_params(params)
    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    models: list[dict[str, Any]] = []
    step = min(p["models_per_batch"], max_models_per_batch(p))
    for i in range(0, len(seeds), step):
        models += train_group(p, seeds[i : i + step])
    return {"params": p, "seeds": seeds, "models": models}


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


def merge_results(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Combine results of disjoint seed lists trained with the same parameters (e.g. MPI ranks).

    Models are ordered by seed.
    """
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


def seed_statistics(values: np.ndarray) -> tuple[Stats, float, int]:
    """Statistics of independent per-seed values, NaNs left out.

    Returns:
        (Stats(mean, error_of_mean = std/sqrt(N), variance, tau_int = 0.5), std, N valid).
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return Stats(np.nan, np.nan, np.nan, 0.5), np.nan, 0
    mean = float(x.mean())
    if n == 1:
        return Stats(mean, np.nan, np.nan, 0.5), np.nan, 1
    var = float(x.var(ddof=1))
    std = float(np.sqrt(var))
    return Stats(mean, std / np.sqrt(n), var, 0.5), std, n


def ensemble_statistics(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Across-seed statistics of J_c, nu and J*_0.

    Returns:
        ``{name: {mean, error_of_mean, std, n_valid, bias, relative_bias}}`` with bias against
        the exact J_c (for J_c and J*_0) or nu = 1.
    """
    out = {}
    for name, exact in (("J_c", J_C_EXACT), ("nu", NU_EXACT), ("J_star0", J_C_EXACT)):
        st, std, n = seed_statistics(np.array([m[name] for m in results["models"]]))
        out[name] = {
            "mean": float(st.mean),
            "error_of_mean": float(st.error_of_mean),
            "std": float(std),
            "variance": float(st.variance),
            "n_valid": int(n),
            "n_models": len(results["models"]),
            "exact": exact,
            "bias": float(st.mean - exact),
            "relative_bias": float((st.mean - exact) / exact),
        }
    return out


_DEFINITIONS = {
    "J_c": "crossing of the learned critical surface with the Ising axis J = (J0, 0, ...); "
    "for one coupling the critical fixed point",
    "nu": "ln(b) / ln(lambda) at the critical fixed point, b = sqrt(2)",
    "J_star0": "first (A1-A1) component of the critical fixed point J*",
}


def write_result(
    path: str | Path,
    params: dict[str, Any],
    results: dict[str, Any],
    *,
    world_size: int = 1,
    inputs: Iterable[str | Path] = (),
    job: dict[str, Any] | None = None,
) -> Path:
    """Write the ensemble to one HDF5 file (atomically, through :func:`rgpipe.store.create_result`).

    Args:
        path: output file.
        params: the hyper-parameters (stored, resolved, as the config slice of the file).
        results: output of :func:`train_ensemble` or :func:`merge_results`.
        world_size: number of MPI ranks that trained the ensemble.
        inputs: input files to hash into the provenance.
        job: the job's configuration slice (hyper-parameters, seed, n_models, mode) to
            store as the file's config; default ``{"mlrg": params, "seeds": seeds}``.

    Returns:
        The path written.
    """
    from rgpipe.store import create_result, write_stats

    p = resolve_params(params)
    if results["params"] != p:
        raise ValueError("results were trained with other parameters than the ones given")
    models = results["models"]
    if not models:
        raise ValueError("no models to write")
    n = representation(p["representation"], p["frame"]).n_couplings
    stats = ensemble_statistics(results)
    config = dict(job) if job is not None else {"mlrg": p, "seeds": list(results["seeds"])}
    with create_result(
        path,
        stage=STAGE,
        config=config,
        seed=int(results["seeds"][0]),
        world_size=world_size,
        inputs=inputs,
    ) as fh:
        fh.attrs.update({"system": "ising", "lattice": "lieb", "method": "mlrg"})
        fh.attrs["representation"] = p["representation"]
        fh.attrs["n_couplings"] = n
        est = fh.create_group("estimates")
        for name, s in stats.items():
            st = Stats(s["mean"], s["error_of_mean"], s["variance"], 0.5)
            grp = write_stats(est, name, st)
            grp.create_dataset("std", data=np.float64(s["std"]))
            grp.attrs.update(
                {
                    "definition": _DEFINITIONS[name],
                    "n_models": s["n_models"],
                    "n_valid": s["n_valid"],
                    "exact": s["exact"],
                    "bias": s["bias"],
                    "relative_bias": s["relative_bias"],
                    "error_model": "independent seeds: std(ddof=1)/sqrt(n_valid)",
                }
            )
        grp = fh.create_group("models")
        grp.create_dataset("seed", data=np.array([m["seed"] for m in models], dtype=np.int64))
        for key in PER_MODEL_SCALARS:
            grp.create_dataset(key, data=np.array([m[key] for m in models], dtype=np.float64))
        for key in PER_MODEL_VECTORS:
            grp.create_dataset(key, data=np.stack([m[key] for m in models]).astype(np.float64))
        grp.create_dataset("final_loss", data=np.array([m["loss"][-1] for m in models]))
        grp["J_c"].attrs["units"] = "coupling (dimensionless, J / k_B T)"
        wgrp = grp.create_group("weights")
        wgrp.attrs["order"] = "RGModel.parameters(): W_1..W_L (M, fan_in, fan_out), b_1..b_L"
        for k in range(len(models[0]["weights"])):
            wgrp.create_dataset(f"{k:02d}", data=np.stack([m["weights"][k] for m in models]))
        fps = grp.create_group("fixed_points")
        for m in models:
            g = fps.create_group(str(m["seed"]))
            g.create_dataset(
                "J", data=np.asarray(m["fixed_points"], dtype=np.float64).reshape(-1, n)
            )
            g.create_dataset("n_relevant", data=np.asarray(m["fixed_point_relevant"], np.int64))
        flow = fh.create_group("flow")
        flow.create_dataset("J0", data=models[0]["flow_grid"])
        flow.create_dataset("f", data=np.stack([m["flow"] for m in models]))
        flow.attrs["definition"] = "f(J) = J' - J at J = (J0, 0, ..., 0); f has shape (M, G, n)"
        loss = fh.create_group("loss")
        loss.create_dataset("epoch", data=np.arange(len(models[0]["loss"]), dtype=np.int64))
        loss.create_dataset("value", data=np.stack([m["loss"] for m in models]))
        loss.create_dataset("hmc_acceptance", data=np.stack([m["hmc_acceptance"] for m in models]))
        loss.attrs["loss"] = p["loss"]
        loss.attrs["units"] = "nats (KL) or free-energy difference (CD), mean over chains"
    return Path(path)
