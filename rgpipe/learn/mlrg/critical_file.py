"""Critical point and exponent of a trained MLRG ensemble, from its stored weights.

``python -m rgpipe critical --method flow --inputs TRAIN.h5`` rebuilds every model of a
training file (:func:`.train.model_from_weights`) and repeats the fixed-point analysis
(:func:`.critical.analyse`): Newton roots of f(J) = 0 from random starts, the Jacobian's
relevant eigenvalue lambda, nu = ln(b)/ln(lambda) with b = sqrt 2, and J_c where the
critical surface crosses the Ising axis.  With the training file's own settings it
reproduces the training job's numbers exactly; the root-finding settings can be changed
without retraining.  Layout::

    /estimates/<name>/{mean, error_of_mean, variance, tau_int, std}   the estimates of
        :func:`.output.describe`: J_c, nu, and J_c_minus_optimum, nu_minus_optimum (one
        coupling) or J_star0 (several)
        attrs: method, exact, reference, converged, n_models, n_valid, definition
    /models/{seed, <name>} (M,), J_star (M, n)
    /flow/{J0 (G,), f (M, G, n)}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rgpipe.learn.ensemble import ERROR_MODEL, seed_statistics
from rgpipe.learn.mlrg.critical import analyse
from rgpipe.learn.mlrg.output import describe
from rgpipe.learn.mlrg.params import resolve_params
from rgpipe.learn.mlrg.representation import representation
from rgpipe.learn.mlrg.train import box, model_from_weights, rg_map, seed_streams
from rgpipe.stats import Stats
from rgpipe.store import create_result, open_result, write_stats


def read_training(path: str | Path) -> tuple[dict[str, Any], list[int], list[list[np.ndarray]]]:
    """(hyper-parameters, seeds, per-model weights) of an MLRG training file."""
    with open_result(path, stage="train_mlrg") as fh:
        cfg = json.loads(fh.attrs["config_json"])
        names = set(resolve_params())
        params = cfg["mlrg"] if "mlrg" in cfg else {k: v for k, v in cfg.items() if k in names}
        seeds = [int(s) for s in fh["models/seed"][()]]
        keys = sorted(fh["models/weights"])
        stacked = [fh["models/weights"][k][()] for k in keys]
    weights = [[w[m] for w in stacked] for m in range(len(seeds))]
    return resolve_params(params), seeds, weights


def analyse_training(
    path: str | Path, overrides: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[int], list[Any], np.ndarray, np.ndarray]:
    """Re-analyse the models of a training file.

    Returns:
        (params, seeds, per-model summaries, flow grid (G,), flow (M, G, n)).
    """
    params, seeds, weights = read_training(path)
    params = resolve_params({**params, **(overrides or {})})
    rep = representation(params["representation"], params["frame"])
    model = rg_map(model_from_weights(params, weights, dtype=torch.float64), params)
    low, high = box(params, rep.n_couplings)
    summaries = analyse(
        model,
        low,
        high,
        [seed_streams(s)["analysis"] for s in seeds],
        n_starts=params["root_starts"],
        tol=params["root_tol"],
        crossing={
            "n_grid": params["crossing_grid"],
            "n_steps": params["crossing_steps"],
            "escape": params["crossing_escape"],
        },
        gauge=rep.gauge_matrices(),
    )
    grid = np.linspace(low[0], high[0], params["flow_grid_points"])
    Jg = torch.zeros(len(seeds), len(grid), rep.n_couplings, dtype=torch.float64)
    Jg[..., 0] = torch.as_tensor(grid)
    flow = model.flow(Jg, create_graph=False).detach().numpy()
    return params, seeds, summaries, grid, flow


def write_critical(
    out: str | Path, train_file: str | Path, overrides: dict[str, Any] | None = None
) -> dict[str, Stats]:
    """Analyse a training file and write the critical-point file; return the estimates."""
    params, seeds, summaries, grid, flow = analyse_training(train_file, overrides)
    per_model = [{"J_c": s.J_c, "nu": s.nu, "J_star0": s.J_star[0]} for s in summaries]
    described = describe(params)
    values = {
        name: np.array(info.values(name, per_model), dtype=np.float64)
        for name, info in described.items()
    }
    config = {"method": "flow", "mlrg": params, "seeds": seeds}
    estimates = {}
    with create_result(
        out, stage="critical", config=config, seed=seeds[0], inputs=[train_file]
    ) as fh:
        fh.attrs.update({"system": "ising", "lattice": "lieb", "method": "mlrg", "family": "mlrg"})
        est = fh.create_group("estimates")
        for name, v in values.items():
            st, std, n_valid = seed_statistics(v)
            info = described[name]
            grp = write_stats(est, name, st)
            grp.create_dataset("std", data=np.float64(std))
            grp.attrs.update(
                {
                    "method": "mlrg_flow",
                    "definition": info.definition,
                    "exact": info.exact,
                    "reference": info.reference,
                    "reference_kind": info.kind,
                    "converged": bool(n_valid > 0),
                    "n_models": len(seeds),
                    "n_valid": n_valid,
                    "units": info.units,
                    "error_model": ERROR_MODEL,
                }
            )
            estimates[name] = st
        models = fh.create_group("models")
        models.create_dataset("seed", data=np.array(seeds, dtype=np.int64))
        for name, v in values.items():
            models.create_dataset(name, data=v)
        models.create_dataset("J_star", data=np.stack([np.asarray(s.J_star) for s in summaries]))
        fl = fh.create_group("flow")
        fl.create_dataset("J0", data=grid)
        fl.create_dataset("f", data=flow)
    return estimates
