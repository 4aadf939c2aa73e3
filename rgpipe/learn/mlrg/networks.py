"""The learned RG step: a flow network f_theta or a monotone C_theta, batched over models.

Two targets (seed 002 section III.B, Hou & You):

* ``flow``:     J' = J + f_theta(J),        f_theta: R^n -> R^n an MLP;
* ``monotone``: J' = J - grad_J C_theta(J), C_theta: R^n -> R an MLP with a smooth activation,
  so that C decreases along the flow to first order (C(J') ~ C(J) - |grad C|^2).

Ensembles: M independent MLPs are stored as stacked weights of shape (M, fan_in, fan_out) and
evaluated with one batched matrix product per layer (``torch.baddbmm``), inputs (M, B, n).
Each model is initialised from its own ``torch.Generator`` (PyTorch's ``nn.Linear`` default:
weights and biases uniform in +-1/sqrt(fan_in)), so a model's initial weights depend only on its
seed, not on which other models share the batch.  Adam acts element-wise, so training the stack
with the summed loss is the same as training each model alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from rgpipe.learn.mlrg.spec import ACTIVATIONS as ACTIVATION_NAMES
from rgpipe.learn.mlrg.spec import SMOOTH_ACTIVATIONS

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "silu": F.silu,
    "softplus": F.softplus,
    "gelu": F.gelu,
    "relu": F.relu,
}
"""Activation functions by name (the names the spec declares, :data:`ACTIVATION_NAMES`)."""
if tuple(ACTIVATIONS) != ACTIVATION_NAMES:
    raise ImportError("rgpipe.learn.mlrg.spec.ACTIVATIONS and the implemented functions differ")


class BatchedMLP(torch.nn.Module):
    """M independent multilayer perceptrons evaluated together.

    Args:
        sizes: layer widths from input to output, e.g. ``[n, 32, 32, n]``.
        activation: name in :data:`ACTIVATIONS` (applied between layers, not after the last).
        generators: one ``torch.Generator`` per model (M = len(generators)).
        dtype: parameter dtype.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str,
        generators: Sequence[torch.Generator],
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose from {list(ACTIVATIONS)}")
        self.sizes = list(sizes)
        self.activation = activation
        self._act = ACTIVATIONS[activation]
        per_model: list[list[torch.Tensor]] = []
        for g in generators:
            tensors = []
            for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
                bound = 1.0 / math.sqrt(fan_in)
                w = (2 * torch.rand(fan_in, fan_out, generator=g, dtype=torch.float64) - 1) * bound
                b = (2 * torch.rand(1, fan_out, generator=g, dtype=torch.float64) - 1) * bound
                tensors += [w, b]
            per_model.append(tensors)
        stacked = [torch.stack(ts).to(dtype) for ts in zip(*per_model, strict=True)]
        self.weights = torch.nn.ParameterList(stacked[0::2])
        self.biases = torch.nn.ParameterList(stacked[1::2])

    @property
    def n_models(self) -> int:
        """Number of models M."""
        return int(self.weights[0].shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(M, B, sizes[0]) -> (M, B, sizes[-1])."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = self._act(x)
        return x


class RGModel(torch.nn.Module):
    """A batch of M learned RG steps J -> J' = J + f(J).

    Args:
        target: ``"flow"`` or ``"monotone"``.
        n: number of couplings.
        hidden: hidden layer widths.
        activation: activation name (smooth for the monotone).
        generators: one per model.
        dtype: parameter dtype.
    """

    def __init__(
        self,
        target: str,
        n: int,
        hidden: Sequence[int],
        activation: str,
        generators: Sequence[torch.Generator],
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if target not in ("flow", "monotone"):
            raise ValueError(f"target must be 'flow' or 'monotone', got {target!r}")
        if target == "monotone" and activation not in SMOOTH_ACTIVATIONS:
            raise ValueError(
                f"the monotone target needs a smooth activation {SMOOTH_ACTIVATIONS}, "
                f"got {activation!r}"
            )
        self.target = target
        self.n = n
        out = n if target == "flow" else 1
        self.net = BatchedMLP([n, *hidden, out], activation, generators, dtype)

    @property
    def n_models(self) -> int:
        """Number of models M."""
        return self.net.n_models

    def monotone(self, J: torch.Tensor) -> torch.Tensor:
        """C_theta(J), shape (M, B) (monotone target only)."""
        if self.target != "monotone":
            raise ValueError("monotone() needs target='monotone'")
        return self.net(J)[..., 0]

    def flow(self, J: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
        """f(J) = J' - J, shape (M, B, n) for J of shape (M, B, n).

        For the monotone target f = -grad_J C; ``create_graph`` keeps the graph of that gradient
        (needed to train theta, for HMC forces and for Jacobians).
        """
        if self.target == "flow":
            return self.net(J)
        with torch.enable_grad():
            x = J if J.requires_grad else J.detach().requires_grad_(True)
            c = self.net(x)[..., 0].sum()
            (g,) = torch.autograd.grad(c, x, create_graph=create_graph)
        return -g

    def forward(self, J: torch.Tensor) -> torch.Tensor:
        """J' = J + f(J)."""
        return J + self.flow(J)
