"""A learned-method family that exists only in the test suite: a Gaussian fitted by maximum
likelihood to the magnetisations of stored Monte Carlo configurations.

It proves that a family is one module: registered through ``RGPIPE_FAMILIES=gauss_family``
(with this directory on ``PYTHONPATH``), it gets ``python -m rgpipe train gauss``, the config
section ``train.gauss``, the workflow rule ``train_gauss``, checkpoints and resume, and the
aggregate stage's tables and figure, without a line of rgpipe changed.

Model (one per seed, ``models_per_batch`` of them vectorised): m_i = the magnetisation per
spin of configuration i; N(m | mu, sigma^2) with sigma = exp(log_sigma); each model fits a
bootstrap resample of the configurations (drawn from its seed) or, with ``resample`` off,
all of them, by Adam on the mean negative log-likelihood.  The maximum-likelihood answer is
exact: mu = mean(m), sigma = std(m) (ddof 0) of the fitted sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rgpipe.learn.family import Data, Estimate, Family
from rgpipe.spec import Param, Spec

SPEC = Spec(
    "gauss",
    (
        Param("epochs", "int", "Adam steps on the negative log-likelihood", 400, minimum=1),
        Param(
            "learning_rate",
            "float",
            "Adam learning rate",
            0.05,
            minimum=0.0,
            exclusive_minimum=True,
        ),
        Param("resample", "bool", "fit a bootstrap resample drawn from the seed", True),
        Param("models_per_batch", "int", "models fitted together", 4, minimum=1),
    ),
)
STREAMS = ("init", "resample")


def groups(params: dict[str, Any], seeds: list[int]) -> list[list[int]]:
    step = params["models_per_batch"]
    return [seeds[i : i + step] for i in range(0, len(seeds), step)]


def check(params: dict[str, Any]) -> None:
    if params["epochs"] > 100_000:
        raise ValueError(f"gauss parameter 'epochs': value {params['epochs']} is invalid: too many")


class Trainer:
    """The vectorised group of Gaussians (the Trainer protocol of rgpipe.learn.family)."""

    def __init__(self, ctx: Any):
        import torch

        from rgpipe.learn.streams import seed_streams

        self.params, self.seeds = ctx.params, list(ctx.seeds)
        configs = np.asarray(ctx.data.configurations, dtype=np.float64)
        m = torch.as_tensor(configs.reshape(len(configs), -1).mean(axis=1))
        self.streams = [seed_streams(s, STREAMS) for s in self.seeds]
        n = len(m)
        if self.params["resample"]:
            idx = [torch.randint(n, (n,), generator=s["resample"]) for s in self.streams]
        else:
            idx = [torch.arange(n) for _ in self.streams]
        self.samples = torch.stack([m[i] for i in idx])  # (M, n)
        init = torch.stack([0.1 * torch.randn(2, generator=s["init"], dtype=torch.float64)
                            for s in self.streams])  # fmt: skip
        self.theta = torch.nn.Parameter(init)  # (M, 2): mu, log sigma
        self.opt = torch.optim.Adam([self.theta], lr=self.params["learning_rate"])
        self.losses = np.full((len(self.seeds), self.params["epochs"]), np.nan)
        self.step_count = 0

    @property
    def done(self) -> bool:
        return self.step_count >= self.params["epochs"]

    def nll(self):
        import math

        mu, log_sigma = self.theta[:, :1], self.theta[:, 1:]
        z = (self.samples - mu) / log_sigma.exp()
        return (0.5 * z**2 + log_sigma + 0.5 * math.log(2 * math.pi)).mean(dim=1)  # (M,)

    def step(self) -> None:
        loss = self.nll()
        self.opt.zero_grad()
        loss.sum().backward()
        self.opt.step()
        self.losses[:, self.step_count] = loss.detach().numpy()
        self.step_count += 1

    def state_dict(self) -> dict[str, Any]:
        return {
            "theta": self.theta.detach().clone(),
            "opt": self.opt.state_dict(),
            "losses": self.losses.copy(),
            "step": self.step_count,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with __import__("torch").no_grad():
            self.theta.copy_(state["theta"])
        self.opt.load_state_dict(state["opt"])
        self.losses = state["losses"].copy()
        self.step_count = int(state["step"])

    def finish(self) -> list[dict[str, Any]]:
        theta = self.theta.detach().numpy()
        samples = self.samples.numpy()
        return [
            {
                "seed": seed,
                "mu": float(theta[k, 0]),
                "sigma": float(np.exp(theta[k, 1])),
                "mu_ml": float(samples[k].mean()),
                "sigma_ml": float(samples[k].std()),
                "loss": self.losses[k].copy(),
            }
            for k, seed in enumerate(self.seeds)
        ]


def describe(params: dict[str, Any]) -> dict[str, Estimate]:
    return {
        "mu": Estimate("fitted mean magnetisation", 0.0, "<m> = 0 by the Z2 symmetry (exact)"),
        "sigma": Estimate("fitted width of the magnetisation"),
    }


def write(fh: Any, params: dict[str, Any], models: list[dict[str, Any]], job: dict) -> None:
    fh.attrs.update({"system": "ising", "method": "gauss"})
    grp = fh.require_group("models")
    for key in ("mu_ml", "sigma_ml"):
        grp.create_dataset(key, data=np.array([m[key] for m in models]))
    fh.create_group("loss").create_dataset("value", data=np.stack([m["loss"] for m in models]))


def curves(fh: Any) -> dict[str, dict[str, Any]]:
    if "loss" not in fh:
        return {}
    return {"fit": {"loss": np.asarray(fh["loss/value"][()])}}


def plot_fit(data: dict[str, Any], path: Any, *, source: str, run: str) -> tuple[str, str]:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot(data["loss"].T)
    ax.set_xlabel("step")
    ax.set_ylabel("negative log-likelihood")
    fig.savefig(path)
    plt.close(fig)
    return f"Gaussian fits of {run}", "Negative log-likelihood per step of every model."


def cost(params: dict[str, Any], n_models: int) -> Any:
    from rgpipe.learn.family import Cost

    return Cost(runtime_minutes=5, memory_mb=1000)


FAMILY = Family(
    name="gauss",
    title="test family: a Gaussian fitted by maximum likelihood to MC magnetisations",
    spec=SPEC,
    trainer="gauss_family:Trainer",
    write="gauss_family:write",
    describe="gauss_family:describe",
    check="gauss_family:check",
    groups="gauss_family:groups",
    cost="gauss_family:cost",
    modes=("ensemble",),
    data=Data(systems=("ising",), samples={"ising": "spins"}),
    curves="gauss_family:curves",
    plots={"fit": "gauss_family:plot_fit"},
)
