"""Annealed Hamiltonian Monte Carlo for the training couplings J.

Training couplings are drawn from ``p(J) ~ exp(-U(J))`` restricted to a box, with
``U(J) = beta ||f_theta(J)||^2`` (seed 002, eq. 7): as beta is annealed from 0 to beta_T the
chains concentrate near the zeros of the flow (the fixed points), where f must be accurate.

One transition (Duane et al. 1987; Betancourt, arXiv:1701.02434):

1. draw momenta p ~ N(0, 1) per chain (all n components);
2. integrate Hamilton's equations with ``n_leapfrog`` leapfrog steps of size ``step_size``;
   a coordinate that leaves the box [low, high] is reflected back and its momentum reversed
   (reflective leapfrog stays volume-preserving and reversible, so it targets p restricted to the
   box exactly);
3. accept the end point with probability ``min(1, exp(H_0 - H_1))``, H = U + |p|^2 / 2 summed
   over the chain's components (one decision per chain); otherwise keep the old point.

Unlike the dlrg reference, the proposal is built on copies (the current state is never modified
before the accept/reject decision), and the Hamiltonian is the total of the chain, not one per
dimension.  Because the network changes every epoch the chains are persistent: each epoch makes
``transitions`` Metropolis-adjusted steps for the current theta and beta.

Random numbers are passed in (momenta and log-uniforms), so the caller controls the streams
(one generator per model in the ensemble).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from rgpipe.learn.mlrg.spec import SCHEDULES


def beta_at(
    epoch: int, n_epochs: int, beta_final: float, schedule: str, anneal_fraction: float
) -> float:
    """Inverse temperature at ``epoch`` (0-based): ramps from 0 to ``beta_final``.

    The ramp ends after ``anneal_fraction * n_epochs`` epochs; beta stays at beta_final after.
    ``logistic`` is a sigmoid centred in the ramp, shifted and scaled to run exactly from 0 to 1.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown beta schedule {schedule!r}; choose from {SCHEDULES}")
    if schedule == "constant":
        return float(beta_final)
    ramp = max(1.0, anneal_fraction * n_epochs)
    t = min(1.0, epoch / ramp)
    if schedule == "linear":
        s = t
    elif schedule == "cosine":
        s = 0.5 * (1.0 - math.cos(math.pi * t))
    else:
        k = 10.0

        def sig(x: float) -> float:
            return 1.0 / (1.0 + math.exp(-k * (x - 0.5)))

        s = (sig(t) - sig(0.0)) / (sig(1.0) - sig(0.0))
    return float(beta_final) * s


def adapt_step_size(
    step_size: torch.Tensor,
    acceptance: torch.Tensor,
    target: float,
    rate: float = 0.05,
    bounds: tuple[float, float] = (1e-5, 1.0),
) -> torch.Tensor:
    """Robbins-Monro update of the leapfrog step between transitions:
    ``log eps += rate (acceptance - target)``, clamped to ``bounds``.

    Adapting between (not within) Metropolis-adjusted transitions keeps every transition exact
    for the current target; the targets move anyway (theta and beta change every epoch).
    """
    new = step_size * torch.exp(rate * (acceptance.to(step_size.dtype) - target))
    return new.clamp(*bounds)


def reflect(
    x: torch.Tensor, p: torch.Tensor, low: torch.Tensor, high: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold positions into [low, high] by mirror reflections, reversing momenta an odd number
    of times for an odd number of reflections (exact for any overshoot)."""
    width = high - low
    k = torch.floor((x - low) / width)
    y = x - low - k * width
    odd = torch.remainder(k, 2.0) == 1.0
    x_new = torch.where(odd, high - y, low + y)
    p_new = torch.where(odd, -p, p)
    return x_new, p_new


PotentialGrad = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""x (..., n) -> (U (...), dU/dx (..., n))."""


def hmc_transition(
    x: torch.Tensor,
    potential_grad: PotentialGrad,
    momentum: torch.Tensor,
    log_uniform: torch.Tensor,
    step_size: float | torch.Tensor,
    n_leapfrog: int,
    low: torch.Tensor | None = None,
    high: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One Metropolis-adjusted HMC transition of independent chains.

    Args:
        x: (..., n) current positions (not modified).
        potential_grad: returns U (...) and its gradient (..., n).
        momentum: (..., n) standard-normal draws.
        log_uniform: (...) logs of uniform(0, 1) draws for the accept/reject step.
        step_size: leapfrog step, a float or a tensor broadcastable to x (e.g. (M, 1, 1) for
            one step size per model).
        n_leapfrog: number of leapfrog steps (>= 1).
        low, high: (n,) box bounds for reflection, or None for an unbounded space.

    Returns:
        (new positions (..., n), accepted (...) bool).
    """
    if n_leapfrog < 1:
        raise ValueError("n_leapfrog must be >= 1")
    x0 = x.detach()
    u0, g = potential_grad(x0)
    p = momentum.to(x0.dtype)
    h0 = u0 + 0.5 * (p * p).sum(-1)
    q = x0.clone()
    p = p - 0.5 * step_size * g
    for i in range(n_leapfrog):
        q = q + step_size * p
        if low is not None and high is not None:
            q, p = reflect(q, p, low, high)
        u1, g = potential_grad(q)
        if i < n_leapfrog - 1:
            p = p - step_size * g
    p = p - 0.5 * step_size * g
    h1 = u1 + 0.5 * (p * p).sum(-1)
    delta = h0 - h1
    accept = log_uniform < torch.nan_to_num(delta, nan=-math.inf)
    x_new = torch.where(accept[..., None], q, x0)
    return x_new.detach(), accept


def flow_potential(model, beta: float | torch.Tensor) -> PotentialGrad:
    """U(J) = beta ||f_theta(J)||^2 and its gradient in J for an :class:`.networks.RGModel`.

    Args:
        model: the batch of RG models; positions have shape (M, B, n).
        beta: inverse temperature, a float or a tensor broadcastable to (M, B) (one per chain).
    """
    if isinstance(beta, torch.Tensor) and not bool((beta != 0).any()):
        beta = 0.0

    def potential_grad(J: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(beta, float | int) and beta == 0.0:
            return J.new_zeros(J.shape[:-1]), torch.zeros_like(J)
        with torch.enable_grad():
            x = J.detach().requires_grad_(True)
            f = model.flow(x, create_graph=True)
            u = beta * (f * f).sum(-1)
            (g,) = torch.autograd.grad(u.sum(), x)
        return u.detach(), g.detach()

    return potential_grad
