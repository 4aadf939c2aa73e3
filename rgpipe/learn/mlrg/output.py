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


def describe(params: dict[str, Any]) -> dict[str, Estimate]:
    """The per-model estimates of an MLRG ensemble: J_c, nu and J*_0 with exact values."""
    from rgpipe.learn.mlrg.exact import J_C_EXACT, NU_EXACT

    return {
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
        "J_star0": Estimate(
            "first (A1-A1) component of the critical fixed point J*",
            J_C_EXACT,
            EXACT_REFERENCE,
            "coupling (dimensionless, J / k_B T)",
        ),
    }


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
