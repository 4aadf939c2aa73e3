"""The MLRG part of a training file: what is summarised across seeds, and the rest it writes.

The runner (:func:`rgpipe.learn.runner.write_training`) writes the provenance and, for the
estimates of :func:`describe`, ``/estimates/<name>`` across seeds and ``/models/{seed,
<name>}``; :func:`write_models` adds (stage ``train_mlrg``)::

    /models/lambda_relevant (M,), crossing_distance (M,), J_star (M, n),
           eigenvalues_real (M, n), eigenvalues_imag (M, n), final_loss (M,)
    /models/fixed_points/<seed>/{J (k, n), n_relevant (k,)}
    /models/weights/<k> (M, ...) trained parameters (``train.model_from_weights``)
    /flow/J0 (G,) Ising-axis grid, /flow/f (M, G, n) learned f(J0, 0, ..., 0)
    /loss/epoch (E,), /loss/value (M, E) training loss, /loss/hmc_acceptance (M, E)
    /provenance/train_seconds (M,), analysis_seconds (M,)   wall times (volatile)
"""

from __future__ import annotations

from functools import cache
from typing import Any

import h5py
import numpy as np

from rgpipe.learn.family import Estimate

EXACT_REFERENCE = "J_c = arccosh(1 + sqrt 2)/2 of the Lieb lattice (exact)"
"""The source of the exact J_c."""

PER_MODEL_SCALARS = ("lambda_relevant", "crossing_distance")
"""Per-model numbers written besides the estimates."""

PER_MODEL_TIMES = ("train_seconds", "analysis_seconds")
"""Per-model wall times: volatile facts, written under /provenance (a rerun with the same
seed gives identical datasets everywhere else)."""

PER_MODEL_VECTORS = ("J_star", "eigenvalues_real", "eigenvalues_imag")
"""Per-model vectors (one entry per coupling)."""


@cache
def optimal_critical_point(rep: str, frame: str, block: str) -> tuple[float, float] | None:
    """(J_c, nu) of the exact-KL optimal map of one coupling (the infinite-capacity answer
    the training aims at: its fixed point), or None for several couplings, whose Ising-axis
    crossing costs minutes (``benchmarks/bench_mlrg.py --reference`` computes it)."""
    from rgpipe.learn.mlrg.exact import SCALE_FACTOR, OptimalMap
    from rgpipe.learn.mlrg.representation import representation

    if representation(rep, frame).n_couplings != 1:
        return None
    J, M = OptimalMap(rep, frame, block).fixed_point(np.array([0.8]))
    return float(J[0]), float(np.log(SCALE_FACTOR) / np.log(M[0, 0]))


def describe(params: dict[str, Any]) -> dict[str, Estimate]:
    """The per-model estimates of an MLRG ensemble: J_c and nu against their exact values;
    for one coupling also their deviations from the exact-KL optimal map of the same block
    and representation (:func:`optimal_critical_point`: the training bias, exact value 0),
    and for several couplings J*_0, the first component of the critical fixed point (for
    one coupling it is J_c itself)."""
    from rgpipe.learn.mlrg.exact import J_C_EXACT, NU_EXACT

    out = {
        "J_c": Estimate(
            "crossing of the learned critical surface with the Ising axis J = (J0, 0, ...); "
            "for one coupling the critical fixed point",
            J_C_EXACT,
            EXACT_REFERENCE,
            "coupling (dimensionless, J / k_B T)",
        ),
        "nu": Estimate(
            "ln(b) / ln(lambda) at the critical fixed point, b = sqrt(2)",
            NU_EXACT,
            "nu = 1 of the 2D Ising universality class (exact)",
            "1",
        ),
    }
    optimum = optimal_critical_point(params["representation"], params["frame"], params["block"])
    if optimum is None:
        out["J_star0"] = Estimate(
            "first (A1-A1) component of the critical fixed point J*",
            J_C_EXACT,
            EXACT_REFERENCE,
            "coupling (dimensionless, J / k_B T)",
        )
        return out
    where = f"the exact-KL optimal map of block {params['block']}, {params['representation']}"
    out["J_c_minus_optimum"] = Estimate(
        f"J_c minus the fixed point J* = {optimum[0]:.10f} of {where}: the training bias",
        0.0,
        f"{where} (OptimalMap.fixed_point; exact for this block and representation)",
        "coupling (dimensionless, J / k_B T)",
        of="J_c",
        shift=optimum[0],
    )
    out["nu_minus_optimum"] = Estimate(
        f"nu minus the optimal map's nu = {optimum[1]:.10f} at its fixed point ({where})",
        0.0,
        f"{where} (OptimalMap.fixed_point; exact for this block and representation)",
        "1",
        of="nu",
        shift=optimum[1],
    )
    return out


def write_models(
    fh: h5py.File, params: dict[str, Any], models: list[dict[str, Any]], job: dict[str, Any]
) -> None:
    """Everything of an MLRG training file besides the provenance and the estimates."""
    from rgpipe.learn.mlrg.representation import representation

    n = representation(params["representation"], params["frame"]).n_couplings
    fh.attrs.update({"system": "ising", "lattice": "lieb", "method": "mlrg"})
    fh.attrs["representation"] = params["representation"]
    fh.attrs["n_couplings"] = n
    grp = fh.require_group("models")
    for key in PER_MODEL_SCALARS:
        grp.create_dataset(key, data=np.array([m[key] for m in models], dtype=np.float64))
    for key in PER_MODEL_VECTORS:
        grp.create_dataset(key, data=np.stack([m[key] for m in models]).astype(np.float64))
    grp.create_dataset("final_loss", data=np.array([m["loss"][-1] for m in models]))
    prov = fh.require_group("provenance")
    for key in PER_MODEL_TIMES:
        ds = prov.create_dataset(key, data=np.array([m[key] for m in models], dtype=np.float64))
        ds.attrs["units"] = "s (wall time of the group divided by its size)"
    grp["J_c"].attrs["units"] = "coupling (dimensionless, J / k_B T)"
    wgrp = grp.create_group("weights")
    wgrp.attrs["order"] = "RGModel.parameters(): W_1..W_L (M, fan_in, fan_out), b_1..b_L"
    for k in range(len(models[0]["weights"])):
        wgrp.create_dataset(f"{k:02d}", data=np.stack([m["weights"][k] for m in models]))
    fps = grp.create_group("fixed_points")
    for m in models:
        g = fps.create_group(str(m["seed"]))
        g.create_dataset("J", data=np.asarray(m["fixed_points"], dtype=np.float64).reshape(-1, n))
        g.create_dataset("n_relevant", data=np.asarray(m["fixed_point_relevant"], np.int64))
    flow = fh.create_group("flow")
    flow.create_dataset("J0", data=models[0]["flow_grid"])
    flow.create_dataset("f", data=np.stack([m["flow"] for m in models]))
    flow.attrs["definition"] = "f(J) = J' - J at J = (J0, 0, ..., 0); f has shape (M, G, n)"
    loss = fh.create_group("loss")
    loss.create_dataset("epoch", data=np.arange(len(models[0]["loss"]), dtype=np.int64))
    loss.create_dataset("value", data=np.stack([m["loss"] for m in models]))
    loss.create_dataset("hmc_acceptance", data=np.stack([m["hmc_acceptance"] for m in models]))
    loss.attrs["loss"] = params["loss"]
    loss.attrs["units"] = "nats (KL) or free-energy difference (CD), mean over chains"
