"""Training loop: one vectorised group of independently seeded MLRG models.

Per epoch, for all M models at once (seed 002 section II, with the fixes listed in the notes):

1. ``hmc_transitions`` Metropolis-adjusted HMC transitions of the persistent coupling chains of
   each model, on U(J) = beta(epoch) ||f_theta(J)||^2 in the box (:mod:`.hmc`), with the
   leapfrog step adapted per model between transitions towards ``hmc_target_acceptance``; a
   fraction ``hmc_uniform_fraction`` of the ``batch`` chains is instead redrawn uniformly in
   the box every epoch (exact samples of beta = 0), which keeps the map trained on the whole
   box (the Ising-axis crossing follows the flow far from the fixed points), and a fraction
   ``axis_fraction`` is redrawn on the current map's trajectories from the Ising axis (the
   path the crossing analysis follows); with ``gauge_fix`` every chain is folded into one
   gauge domain and the HMC potential uses the gauge-fixed map (:mod:`.gauge`);
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
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rgpipe.learn import streams
from rgpipe.learn.family import TrainContext
from rgpipe.learn.mlrg.clusters import exact_loss
from rgpipe.learn.mlrg.contrastive import ContrastiveLoss
from rgpipe.learn.mlrg.critical import analyse
from rgpipe.learn.mlrg.gauge import GaugeFixedMap, canonicalise
from rgpipe.learn.mlrg.hmc import adapt_step_size, beta_at, flow_potential, hmc_transition
from rgpipe.learn.mlrg.networks import RGModel
from rgpipe.learn.mlrg.params import resolve_params
from rgpipe.learn.mlrg.representation import representation

STREAMS = ("init", "chains", "loss", "analysis")
"""Names of the per-seed random streams, in SeedSequence spawn order."""

DATA_STREAMS = ("chains", "loss")
"""The streams that draw a data-parallel rank's own chains."""


def seed_streams(seed: int) -> dict[str, torch.Generator]:
    """The four independent torch generators of one model seed (:data:`STREAMS`)."""
    return streams.seed_streams(seed, STREAMS)


def box(params: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) bounds of the coupling box, shape (n,) each."""
    low = np.full(n, params["j_range_other"][0])
    high = np.full(n, params["j_range_other"][1])
    low[0], high[0] = params["j_range_ising"]
    return low, high


def rg_map(model: RGModel, params: dict[str, Any]) -> RGModel | GaugeFixedMap:
    """The map the analysis and the HMC potential use: the model itself, or the model composed
    with the gauge fixing (``params["gauge_fix"]``, resolved parameters)."""
    if params["gauge_fix"] == "none":
        return model
    rep = representation(params["representation"], params["frame"])
    return GaugeFixedMap(model, rep.gauge_matrices())


def axis_trajectories(
    rg: RGModel | GaugeFixedMap,
    u: torch.Tensor,
    low: torch.Tensor,
    high: torch.Tensor,
    max_steps: int,
    start_range: tuple[float, float] | None = None,
) -> torch.Tensor:
    """Points on the current maps' trajectories from the Ising axis.

    Args:
        rg: the maps (M models).
        u: (M, K, 2) uniforms in [0, 1): the first places the start J0 in ``start_range``
            (default [low_0, high_0)), the second the number of steps t in
            0 .. max_steps - 1.
        low, high: (n,) the box; points leaving it are clamped to it, non-finite ones
            restart on the axis.
        start_range: (a, b) interval of the starting J0 (coupling units).

    Returns:
        (M, K, n) the t-th iterate of (J0, 0, ..., 0), no gradient.
    """
    M, K, _ = u.shape
    n = low.shape[0]
    a, b = (float(low[0]), float(high[0])) if start_range is None else start_range
    start = torch.zeros(M, K, n, dtype=low.dtype)
    start[..., 0] = a + (b - a) * u[..., 0].to(low.dtype)
    steps = (u[..., 1] * max_steps).long().clamp(max=max_steps - 1)
    J = start
    with torch.no_grad():
        for t in range(int(steps.max()) if steps.numel() else 0):
            nxt = (J + rg.flow(J, create_graph=False)).detach()
            nxt = torch.where(torch.isfinite(nxt).all(-1, keepdim=True), nxt, start)
            J = torch.where((steps > t)[..., None], torch.maximum(torch.minimum(nxt, high), low), J)
    return J


def _draw(
    sampler: Callable[..., torch.Tensor],
    shape: tuple[int, ...],
    streams: list[dict[str, torch.Generator]],
    key: str,
    dtype: torch.dtype,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """One draw of ``shape`` per model from its stream ``key``: (M, *shape).

    ``sampler`` is ``torch.rand`` or ``torch.randn``; each model's draw is written straight
    into its slice of ``out`` (allocated when None; the same numbers as a stack of separate
    draws, without the copy and, when ``out`` is reused, without touching fresh memory: both
    cost a contrastive epoch a fifth of its time)."""
    if out is None:
        out = torch.empty((len(streams), *shape), dtype=dtype)
    for i, s in enumerate(streams):
        sampler(*shape, generator=s[key], dtype=dtype, out=out[i])
    return out


def build_model(params: dict[str, Any], seeds: list[int], dtype: torch.dtype) -> RGModel:
    """The untrained batch of models for ``seeds`` (initialised from their init streams)."""
    rep = representation(params["representation"], params["frame"])
    gens = [seed_streams(s)["init"] for s in seeds]
    return RGModel(
        params["target"],
        rep.n_couplings,
        params["hidden"],
        params["activation"],
        gens,
        dtype,
    )


def model_from_weights(
    params: dict[str, Any], weights: list[list[np.ndarray]], dtype: torch.dtype = torch.float64
) -> RGModel:
    """Rebuild trained models from their ``weights`` (one list per model, as returned by
    :func:`train_group` or stored in the result file), e.g. to re-run the analysis."""
    p = resolve_params(params)
    n = representation(p["representation"], p["frame"]).n_couplings
    gens = [torch.Generator().manual_seed(0) for _ in weights]
    model = RGModel(p["target"], n, p["hidden"], p["activation"], gens, dtype)
    with torch.no_grad():
        for k, param in enumerate(model.parameters()):
            param.copy_(torch.as_tensor(np.stack([w[k] for w in weights]), dtype=dtype))
    return model


def rank_streams(seed: int, rank: int, size: int) -> dict[str, torch.Generator]:
    """The random streams of one model seed on one data-parallel rank: ``chains`` and
    ``loss`` (the data each rank draws) keyed by (rank, size), ``init`` and ``analysis`` those
    of the seed (:func:`rgpipe.learn.streams.rank_streams`)."""
    return streams.rank_streams(seed, STREAMS, DATA_STREAMS, rank, size)


class GroupTrainer:
    """Training of one vectorised group of models, one epoch at a time, resumable.

    The complete state (weights, optimiser, coupling chains, HMC step sizes, every random
    generator, the loss history and the epoch counter) is :meth:`state_dict`, so a run
    restored with :meth:`load_state_dict` continues bit for bit like an unbroken one.

    Data parallelism (``world`` with torch.distributed initialised and several ranks): each
    rank keeps ``batch / size`` of every model's coupling chains and draws them from its own
    streams; the models are wrapped in DistributedDataParallel, which averages the gradients
    of the per-rank mean losses, i.e. the gradient of the mean over all chains.

    Args:
        params: hyper-parameters (see :mod:`.params`; missing keys take their defaults).
        seeds: one non-negative integer per model.
        world: the ranks (:class:`rgpipe.parallel.World`); None for one process.
    """

    def __init__(self, params: dict[str, Any], seeds: list[int], world: Any = None):
        p = resolve_params(params)
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise ValueError("a group needs at least one seed")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct, got {seeds}")
        self.p, self.seeds = p, seeds
        self.rank = world.rank if world is not None and world.torch_initialised else 0
        self.size = world.size if world is not None and world.torch_initialised else 1
        if p["batch"] % self.size:
            raise ValueError(
                f"batch = {p['batch']} chains cannot be split evenly over {self.size} ranks"
            )
        self.dtype = torch.float64 if p["dtype"] == "float64" else torch.float32
        self.rep = representation(p["representation"], p["frame"])
        n, M = self.rep.n_couplings, len(seeds)
        B = p["batch"] // self.size
        self.n, self.M, self.B, self.E = n, M, B, p["epochs"]
        self.streams = [rank_streams(s, self.rank, self.size) for s in seeds]
        self.model = RGModel(
            p["target"],
            n,
            p["hidden"],
            p["activation"],
            [s["init"] for s in self.streams],
            self.dtype,
        )
        self.net = self.model
        if self.size > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(self.model)
        low_np, high_np = box(p, n)
        self.low_np, self.high_np = low_np, high_np
        self.low = torch.as_tensor(low_np, dtype=self.dtype)
        self.high = torch.as_tensor(high_np, dtype=self.dtype)
        J = _draw(torch.rand, (B, n), self.streams, "chains", torch.float64)
        self.J = (self.low + (self.high - self.low) * J.to(self.dtype)).contiguous()
        self.rg = rg_map(self.model, p)
        self.gauge = self.rg.mats if isinstance(self.rg, GaugeFixedMap) else None
        self.J = self._fold(self.J)
        if p["loss"] == "kl":
            self.kl, self.cd = exact_loss(self.rep, p["block"], dtype=self.dtype), None
        else:
            self.kl = None
            self.cd = ContrastiveLoss(
                self.rep, p["cd_samples"], p["k_fine"], p["k_coarse"], dtype=self.dtype
            )
            self.n_uniform = self.cd.uniforms_per_chain()
            self.uniforms = torch.empty((M, B, self.n_uniform), dtype=self.dtype)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=p["learning_rate"])
        self.losses = np.empty((M, self.E))
        self.accept = np.zeros((M, self.E))
        self.n_free = round(p["hmc_uniform_fraction"] * B)
        self.n_axis = min(round(p["axis_fraction"] * B), B - self.n_free)
        self.n_fixed = self.n_free + self.n_axis
        self.n_hmc = B - self.n_fixed
        self.eps = torch.full((M, 1, 1), p["hmc_step_size"], dtype=self.dtype)
        self.epoch = 0
        self.train_seconds = 0.0

    @classmethod
    def from_context(cls, ctx: TrainContext) -> GroupTrainer:
        """The family's trainer hook: a group from the runner's context (CPU only)."""
        return cls(ctx.params, ctx.seeds, ctx.world)

    @property
    def step_count(self) -> int:
        """Epochs trained so far."""
        return self.epoch

    def _fold(self, J: torch.Tensor) -> torch.Tensor:
        """J folded into the gauge domain (unchanged without gauge fixing)."""
        return J if self.gauge is None else canonicalise(J, self.gauge).contiguous()

    @property
    def done(self) -> bool:
        """True when every epoch has been trained."""
        return self.epoch >= self.E

    def step(self) -> None:
        """Train one epoch (HMC transitions of the chains, then one optimiser step)."""
        t0 = time.perf_counter()
        p, epoch, streams = self.p, self.epoch, self.streams
        n, B, dtype = self.n, self.B, self.dtype
        low, high = self.low, self.high
        beta = beta_at(epoch, self.E, p["beta_final"], p["beta_schedule"], p["anneal_fraction"])
        if self.n_free:
            fresh = _draw(torch.rand, (self.n_free, n), streams, "chains", torch.float64)
            fresh = self._fold(low + (high - low) * fresh.to(dtype))
            self.J = torch.cat([fresh, self.J[:, self.n_free :]], dim=1)
        if self.n_axis:
            u = _draw(torch.rand, (self.n_axis, 2), streams, "chains", torch.float64)
            on_axis = axis_trajectories(self.rg, u, low, high, p["axis_steps"], p["axis_range"])
            on_axis = self._fold(on_axis)
            self.J = torch.cat(
                [self.J[:, : self.n_free], on_axis, self.J[:, self.n_fixed :]], dim=1
            )
        if self.n_hmc:
            potential = flow_potential(self.rg, beta)
            for _ in range(p["hmc_transitions"]):
                mom = _draw(torch.randn, (self.n_hmc, n), streams, "chains", dtype)
                logu = _draw(torch.rand, (self.n_hmc,), streams, "chains", dtype)
                J_hmc, acc = hmc_transition(
                    self.J[:, self.n_fixed :],
                    potential,
                    mom,
                    logu.log(),
                    self.eps,
                    p["hmc_leapfrog_steps"],
                    low,
                    high,
                )
                self.J = torch.cat([self.J[:, : self.n_fixed], self._fold(J_hmc)], dim=1)
                rate = acc.to(torch.float64).mean(-1)
                self.accept[:, epoch] += rate.numpy() / p["hmc_transitions"]
                if p["hmc_target_acceptance"] > 0 and beta > 0:
                    self.eps = adapt_step_size(
                        self.eps, rate.to(dtype)[:, None, None], p["hmc_target_acceptance"]
                    )
        lr0, lr_end = p["learning_rate"], p["learning_rate"] * p["lr_final_factor"]
        for group in self.opt.param_groups:
            group["lr"] = lr_end + (lr0 - lr_end) * 0.5 * (1 + math.cos(math.pi * epoch / self.E))
        Jp = self.net(self.J)
        if self.kl is not None:
            per_chain = self.kl(self.J, Jp)
        else:
            u = _draw(torch.rand, (B, self.n_uniform), streams, "loss", dtype, self.uniforms)
            per_chain = self.cd(self.J, Jp, u)
        loss = per_chain.mean(-1)  # (M,)
        self.opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        self.opt.step()
        value = loss.detach().to(torch.float64)
        if self.size > 1:  # the logged loss is the mean over every rank's chains
            import torch.distributed as dist

            dist.all_reduce(value)
            value /= self.size
        self.losses[:, epoch] = value.numpy()
        self.epoch += 1
        self.train_seconds += time.perf_counter() - t0

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (see the class docstring)."""
        return {
            "epoch": self.epoch,
            "seeds": list(self.seeds),
            "rank": self.rank,
            "size": self.size,
            "model": copy.deepcopy(self.model.state_dict()),
            "optimizer": copy.deepcopy(self.opt.state_dict()),
            "J": self.J.clone(),
            "eps": self.eps.clone(),
            "generators": [{k: g.get_state() for k, g in s.items()} for s in self.streams],
            "losses": self.losses.copy(),
            "accept": self.accept.copy(),
            "train_seconds": self.train_seconds,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` of the same seeds, rank and world size."""
        if (state["seeds"], state["rank"], state["size"]) != (self.seeds, self.rank, self.size):
            raise ValueError("the checkpoint belongs to other seeds or another world size")
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.J = state["J"].clone()
        self.eps = state["eps"].clone()
        for gens, saved in zip(self.streams, state["generators"], strict=True):
            for name, g in gens.items():
                g.set_state(saved[name])
        self.losses = state["losses"].copy()
        self.accept = state["accept"].copy()
        self.epoch = int(state["epoch"])
        self.train_seconds = float(state["train_seconds"])

    def finish(self) -> list[dict[str, Any]]:
        """Analyse the trained models (float64): one picklable dictionary per model."""
        p, n, M = self.p, self.n, self.M
        low_np, high_np = self.low_np, self.high_np
        t1 = time.perf_counter()
        model64 = rg_map(copy.deepcopy(self.model).to(torch.float64), p)
        crossing = {
            "n_grid": p["crossing_grid"],
            "n_steps": p["crossing_steps"],
            "escape": p["crossing_escape"],
        }
        summaries = analyse(
            model64,
            low_np,
            high_np,
            [s["analysis"] for s in self.streams],
            n_starts=p["root_starts"],
            tol=p["root_tol"],
            crossing=crossing,
            gauge=self.rep.gauge_matrices(),
        )
        grid = np.linspace(low_np[0], high_np[0], p["flow_grid_points"])
        Jg = torch.zeros(M, len(grid), n, dtype=torch.float64)
        Jg[..., 0] = torch.as_tensor(grid)
        flow = model64.flow(Jg, create_graph=False).detach().numpy()
        t_analysis = time.perf_counter() - t1
        weights = [t.detach().to(torch.float64).numpy() for t in self.model.parameters()]
        out = []
        for m, (seed, s) in enumerate(zip(self.seeds, summaries, strict=True)):
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
                    "fixed_point_relevant": np.array(
                        [k for _, k in s.fixed_points], dtype=np.int64
                    ),
                    "loss": self.losses[m].copy(),
                    "hmc_acceptance": self.accept[m].copy(),
                    "flow_grid": grid.copy(),
                    "flow": flow[m].copy(),
                    "hmc_final_step_size": float(self.eps[m, 0, 0]),
                    "weights": [w[m].copy() for w in weights],
                    "train_seconds": self.train_seconds / M,
                    "analysis_seconds": t_analysis / M,
                }
            )
        return out


def train_group(params: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    """Train ``len(seeds)`` models together in one process and analyse them.

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
    if not seeds:
        return []
    trainer = GroupTrainer(params, seeds)
    while not trainer.done:
        trainer.step()
    return trainer.finish()
