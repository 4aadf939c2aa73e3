"""Training loop: one vectorised group of independently seeded MLRG models.

Per epoch, for all M models at once (seed 002 section II, with the fixes listed in the notes):

1. ``hmc_transitions`` Metropolis-adjusted HMC transitions of the persistent coupling chains of
   each model, on U(J) = beta(epoch) ||f_theta(J)||^2 in the box (:mod:`.hmc`), with the
   leapfrog step adapted per model between transitions towards ``hmc_target_acceptance``; a
   fraction ``hmc_uniform_fraction`` of the ``batch`` chains is instead redrawn uniformly in
   the box every epoch (exact samples of beta = 0), which keeps the map trained on the whole
   box (the Ising-axis crossing follows the flow far from the fixed points);
2. J' = J + f_theta(J) (flow) or J - grad C_theta(J) (monotone) (:mod:`.networks`);
3. loss per model = mean over its chains of the exact KL (:mod:`.exact_kl`) or of the CD loss
   (:mod:`.contrastive`);
4. one Adam step on the sum over models (models do not interact), learning rate decayed with a
   cosine from ``learning_rate`` to ``lr_final_factor * learning_rate``.

Root finding and the exponent are computed once, after training (:mod:`.critical`), in
float64.

Random streams: each seed s owns four ``torch.Generator`` seeded from
``numpy.random.SeedSequence(s).spawn(4)``: network initialisation, HMC chains, CD sampling and
analysis starts.  Every random tensor of a model is drawn from its own streams, so a model's
result depends only on its seed and the hyper-parameters, not on the other models in the group.
Batched kernels may round differently for different group sizes; in float64 (the default) this
stays at 1e-15 after training (measured: J_c of seed 5 alone and inside [4, 5, 6] agree to
3e-16), in float32 training amplifies it to about 1e-4 in J_c for A1.  Reruns with the same
grouping are bit-identical.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import numpy as np
import torch

from rgpipe.learn.mlrg.contrastive import ContrastiveLoss
from rgpipe.learn.mlrg.critical import analyse
from rgpipe.learn.mlrg.exact_kl import ExactKL
from rgpipe.learn.mlrg.hmc import adapt_step_size, beta_at, flow_potential, hmc_transition
from rgpipe.learn.mlrg.networks import RGModel
from rgpipe.learn.mlrg.params import resolve_params
from rgpipe.learn.mlrg.representation import representation

STREAMS = ("init", "chains", "loss", "analysis")
"""Names of the per-seed random streams, in SeedSequence spawn order."""


def seed_streams(seed: int) -> dict[str, torch.Generator]:
    """The four independent torch generators of one model seed."""
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    out = {}
    for name, child in zip(STREAMS, np.random.SeedSequence(int(seed)).spawn(4), strict=True):
        state = int(child.generate_state(1, np.uint64)[0]) & ((1 << 63) - 1)
        out[name] = torch.Generator().manual_seed(state)
    return out


def box(params: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) bounds of the coupling box, shape (n,) each."""
    low = np.full(n, params["j_range_other"][0])
    high = np.full(n, params["j_range_other"][1])
    low[0], high[0] = params["j_range_ising"]
    return low, high


def _stack(draw, streams: list[dict[str, torch.Generator]], key: str) -> torch.Tensor:
    """Stack one draw per model from its stream ``key``."""
    return torch.stack([draw(s[key]) for s in streams])


def build_model(params: dict[str, Any], seeds: list[int], dtype: torch.dtype) -> RGModel:
    """The untrained batch of models for ``seeds`` (initialised from their init streams)."""
    rep = representation(params["representation"])
    streams = [seed_streams(s) for s in seeds]
    return RGModel(
        params["target"],
        rep.n_couplings,
        params["hidden"],
        params["activation"],
        [s["init"] for s in streams],
        dtype,
    )


def model_from_weights(
    params: dict[str, Any], weights: list[list[np.ndarray]], dtype: torch.dtype = torch.float64
) -> RGModel:
    """Rebuild trained models from their ``weights`` (one list per model, as returned by
    :func:`train_group` or stored in the result file), e.g. to re-run the analysis."""
    p = resolve_params(params)
    n = representation(p["representation"]).n_couplings
    gens = [torch.Generator().manual_seed(0) for _ in weights]
    model = RGModel(p["target"], n, p["hidden"], p["activation"], gens, dtype)
    with torch.no_grad():
        for k, param in enumerate(model.parameters()):
            param.copy_(torch.as_tensor(np.stack([w[k] for w in weights]), dtype=dtype))
    return model


def train_group(params: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    """Train ``len(seeds)`` models together and analyse them.

    Args:
        params: hyper-parameters (see :mod:`.params`; missing keys take their defaults).
        seeds: one non-negative integer per model.

    Returns:
        One picklable dictionary per model (numpy arrays and floats):

        - ``seed``; ``J_c`` (Ising-axis crossing); ``J_star`` (n,) critical fixed point and
          ``J_star0`` its first component; ``nu``; ``lambda_relevant``;
          ``eigenvalues_real``/``eigenvalues_imag`` (n,) of dJ'/dJ at J*;
          ``crossing_distance``; ``fixed_points`` (k, n) every fixed point found and
          ``fixed_point_relevant`` (k,) its number of relevant directions;
        - ``loss`` (epochs,) training loss per epoch (nats); ``hmc_acceptance`` (epochs,) of the
          annealed chains; ``hmc_final_step_size``;
        - ``flow_grid`` (G,) J0 values on the Ising axis and ``flow`` (G, n) f(J0, 0, ...);
        - ``weights``: the trained parameters (float64 arrays in ``RGModel.parameters()``
          order: W_1, ..., W_L, b_1, ..., b_L), see :func:`model_from_weights`;
        - ``train_seconds``, ``analysis_seconds``: wall time of the group divided by its size.
    """
    p = resolve_params(params)
    seeds = [int(s) for s in seeds]
    if not seeds:
        return []
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    dtype = torch.float64 if p["dtype"] == "float64" else torch.float32
    rep = representation(p["representation"])
    n, M, B, E = rep.n_couplings, len(seeds), p["batch"], p["epochs"]
    streams = [seed_streams(s) for s in seeds]
    model = RGModel(
        p["target"], n, p["hidden"], p["activation"], [s["init"] for s in streams], dtype
    )
    low_np, high_np = box(p, n)
    low = torch.as_tensor(low_np, dtype=dtype)
    high = torch.as_tensor(high_np, dtype=dtype)

    t0 = time.perf_counter()
    J = _stack(lambda g: torch.rand(B, n, generator=g, dtype=torch.float64), streams, "chains")
    J = (low + (high - low) * J.to(dtype)).contiguous()
    if p["loss"] == "kl":
        kl = ExactKL(rep, dtype=dtype)
        cd = None
    else:
        kl = None
        cd = ContrastiveLoss(rep, p["cd_samples"], p["k_fine"], p["k_coarse"], dtype=dtype)
        n_uniform = cd.uniforms_per_chain()
    opt = torch.optim.Adam(model.parameters(), lr=p["learning_rate"])
    lr0, lr_end = p["learning_rate"], p["learning_rate"] * p["lr_final_factor"]
    losses = np.empty((M, E))
    accept = np.zeros((M, E))
    n_free = round(p["hmc_uniform_fraction"] * B)
    n_hmc = B - n_free
    eps = torch.full((M, 1, 1), p["hmc_step_size"], dtype=dtype)
    target_acc = p["hmc_target_acceptance"]
    for epoch in range(E):
        beta = beta_at(epoch, E, p["beta_final"], p["beta_schedule"], p["anneal_fraction"])
        if n_free:
            fresh = _stack(
                lambda g: torch.rand(n_free, n, generator=g, dtype=torch.float64), streams, "chains"
            )
            J = torch.cat([(low + (high - low) * fresh.to(dtype)), J[:, n_free:]], dim=1)
        if n_hmc:
            potential = flow_potential(model, beta)
            for _ in range(p["hmc_transitions"]):
                mom = _stack(
                    lambda g: torch.randn(n_hmc, n, generator=g, dtype=dtype), streams, "chains"
                )
                logu = _stack(
                    lambda g: torch.rand(n_hmc, generator=g, dtype=dtype), streams, "chains"
                )
                J_hmc, acc = hmc_transition(
                    J[:, n_free:],
                    potential,
                    mom,
                    logu.log(),
                    eps,
                    p["hmc_leapfrog_steps"],
                    low,
                    high,
                )
                J = torch.cat([J[:, :n_free], J_hmc], dim=1)
                rate = acc.to(torch.float64).mean(-1)
                accept[:, epoch] += rate.numpy() / p["hmc_transitions"]
                if target_acc > 0 and beta > 0:
                    eps = adapt_step_size(eps, rate.to(dtype)[:, None, None], target_acc)
        for group in opt.param_groups:
            group["lr"] = lr_end + (lr0 - lr_end) * 0.5 * (1 + math.cos(math.pi * epoch / E))
        Jp = model(J)
        if kl is not None:
            per_chain = kl(J, Jp)
        else:
            u = _stack(
                lambda g: torch.rand(B, n_uniform, generator=g, dtype=dtype), streams, "loss"
            )
            per_chain = cd(J, Jp, u)
        loss = per_chain.mean(-1)  # (M,)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        losses[:, epoch] = loss.detach().to(torch.float64).numpy()
    t_train = time.perf_counter() - t0

    t1 = time.perf_counter()
    model64 = copy.deepcopy(model).to(torch.float64)
    crossing = {
        "n_grid": p["crossing_grid"],
        "n_steps": p["crossing_steps"],
        "escape": p["crossing_escape"],
    }
    summaries = analyse(
        model64,
        low_np,
        high_np,
        [s["analysis"] for s in streams],
        n_starts=p["root_starts"],
        tol=p["root_tol"],
        crossing=crossing,
        gauge=rep.gauge_matrices(),
    )
    grid = np.linspace(low_np[0], high_np[0], p["flow_grid_points"])
    Jg = torch.zeros(M, len(grid), n, dtype=torch.float64)
    Jg[..., 0] = torch.as_tensor(grid)
    flow = model64.flow(Jg, create_graph=False).detach().numpy()
    t_analysis = time.perf_counter() - t1

    weights = [t.detach().to(torch.float64).numpy() for t in model64.parameters()]
    out = []
    for m, (seed, s) in enumerate(zip(seeds, summaries, strict=True)):
        fp = np.array([q for q, _ in s.fixed_points]).reshape(-1, n)
        out.append(
            {
                "seed": seed,
                "J_c": s.J_c,
                "J_star": np.asarray(s.J_star, dtype=np.float64),
                "J_star0": float(s.J_star[0]),
                "nu": s.nu,
                "lambda_relevant": s.lambda_relevant,
                "eigenvalues_real": np.real(s.eigenvalues).astype(np.float64),
                "eigenvalues_imag": np.imag(s.eigenvalues).astype(np.float64),
                "crossing_distance": s.crossing_distance,
                "fixed_points": fp,
                "fixed_point_relevant": np.array([k for _, k in s.fixed_points], dtype=np.int64),
                "loss": losses[m].copy(),
                "hmc_acceptance": accept[m].copy(),
                "flow_grid": grid.copy(),
                "flow": flow[m].copy(),
                "hmc_final_step_size": float(eps[m, 0, 0]),
                "weights": [w[m].copy() for w in weights],
                "train_seconds": t_train / M,
                "analysis_seconds": t_analysis / M,
            }
        )
    return out
