"""The hyper-parameters of MLRG training, each declared once (:class:`rgpipe.spec.Param`).

The config schema's ``train.mlrg.<study>`` entries, the flags of ``python -m rgpipe train
mlrg`` and the defaults are generated from :data:`SPEC`; the checks between parameters
are :func:`rgpipe.learn.mlrg.params.check`.  Only names and numbers live here (no torch),
so that listing the families stays cheap.
"""

from __future__ import annotations

from rgpipe.spec import Param, Spec

ACTIVATIONS = ("tanh", "silu", "softplus", "gelu", "relu")
"""MLP activations (:data:`rgpipe.learn.mlrg.networks.ACTIVATION_FUNCTIONS` implements them)."""

SMOOTH_ACTIVATIONS = ("tanh", "silu", "softplus", "gelu")
"""Activations with continuous second derivatives (required by the monotone target)."""

SCHEDULES = ("linear", "cosine", "logistic", "constant")
"""Annealing schedules of beta (:func:`rgpipe.learn.mlrg.hmc.beta_at`)."""

_IRREPS = "(A1|A2|B1|B2|E)"

SPEC = Spec(
    "mlrg",
    (
        Param(
            "representation",
            "str",
            "site representation of C4v: irreps A1, A2, B1, B2, E with multiplicities joined "
            "by '+', e.g. A1, A1+E, 2A1+E",
            default="A1",
            pattern=f"^([1-9][0-9]*)?{_IRREPS}([+]([1-9][0-9]*)?{_IRREPS})*$",
        ),
        Param(
            "frame",
            "str",
            "which sublattice carries the irreps in the 45-degree rotated frame of the coarse "
            "lattice (midpoint: symmetric under the RG step; none: the same matrices on both, "
            "for comparison only)",
            default="midpoint",
            choices=("midpoint", "corner", "none"),
        ),
        Param(
            "block",
            "str",
            "block pair compared by the loss: 'plaquette' (seed 002's square/cross blocks) or "
            "a cluster 'NxM' of N x M black plaquettes (e.g. 4x2; exact KL only; A1 up to 5 "
            "plaquettes wide, A1+E 4, 2A1+E 2)",
            default="plaquette",
            pattern="^(plaquette|[1-9][0-9]*x[1-9][0-9]*)$",
        ),
        Param(
            "loss",
            "str",
            "kl: exact KL by enumeration; cd: contrastive divergence",
            default="kl",
            choices=("kl", "cd"),
        ),
        Param(
            "target",
            "str",
            "flow: learn f (J' = J + f); monotone: learn C (J' = J - grad C)",
            default="flow",
            choices=("flow", "monotone"),
        ),
        Param(
            "hidden",
            "int_list",
            "hidden layer widths of the MLP",
            default=[32, 32],
            minimum=1,
            maximum=4096,
        ),
        Param(
            "activation",
            "str",
            "MLP activation (the monotone target needs a smooth one)",
            default="tanh",
            choices=ACTIVATIONS,
        ),
        Param("epochs", "int", "training epochs (one optimiser step each)", 1500, minimum=1),
        Param(
            "learning_rate",
            "float",
            "initial Adam learning rate",
            3e-3,
            minimum=0.0,
            exclusive_minimum=True,
        ),
        Param(
            "lr_final_factor",
            "float",
            "cosine decay of the learning rate to this fraction of the initial rate",
            0.05,
            minimum=0.0,
            maximum=1.0,
        ),
        Param(
            "batch",
            "int",
            "HMC chains (trajectories) per model = couplings per epoch",
            64,
            minimum=1,
        ),
        Param(
            "hmc_step_size",
            "float",
            "initial leapfrog step size (coupling units)",
            0.02,
            minimum=0.0,
            exclusive_minimum=True,
        ),
        Param("hmc_leapfrog_steps", "int", "leapfrog steps per transition", 8, minimum=1),
        Param("hmc_transitions", "int", "HMC transitions per epoch", 1, minimum=0),
        Param(
            "hmc_target_acceptance",
            "float",
            "per-model step-size adaptation target between transitions (0: fixed step size)",
            0.75,
            minimum=0.0,
            maximum=0.99,
        ),
        Param(
            "hmc_uniform_fraction",
            "float",
            "fraction of the chains redrawn uniformly in the box every epoch (beta = 0)",
            0.0,
            minimum=0.0,
            maximum=1.0,
        ),
        Param(
            "axis_fraction",
            "float",
            "fraction of the chains redrawn every epoch on the current map's trajectories from "
            "the Ising axis (J0 uniform in axis_range, 0 .. axis_steps - 1 steps): trains the "
            "map where the J_c crossing follows it",
            0.0,
            minimum=0.0,
            maximum=1.0,
        ),
        Param("axis_steps", "int", "longest axis trajectory sampled (RG steps)", 8, minimum=1),
        Param(
            "axis_range",
            "float_pair",
            "interval [low, high] of the starting J0 of the axis trajectories, inside "
            "j_range_ising (null: all of j_range_ising); narrow it around a pilot's J_c",
            None,
            nullable=True,
        ),
        Param(
            "gauge_fix",
            "str",
            "fold the coupling chains into one gauge domain (the lexicographically largest "
            "copy under the hidden-spin relabellings) and analyse the gauge-fixed map "
            "canon(J + f(J)); for representations with several couplings",
            "none",
            choices=("none", "lexicographic"),
        ),
        Param("beta_final", "float", "final inverse temperature beta_T of U", 20000.0, minimum=0.0),
        Param("beta_schedule", "str", "annealing of beta from 0", "cosine", choices=SCHEDULES),
        Param(
            "anneal_fraction",
            "float",
            "fraction of the epochs spent ramping beta",
            0.5,
            minimum=0.0,
            maximum=1.0,
        ),
        Param(
            "j_range_ising",
            "float_pair",
            "box [low, high] of the first (A1-A1, Ising) coupling for HMC and root finding",
            [0.0, 1.6],
        ),
        Param(
            "j_range_other", "float_pair", "box [low, high] of every other coupling", [-1.0, 1.0]
        ),
        Param("cd_samples", "int", "CD: visible samples per coupling", 32, minimum=1),
        Param("k_fine", "int", "CD: Gibbs sweeps of the fine block", 32, minimum=1),
        Param(
            "k_coarse", "int", "CD: Gibbs sweeps of the coarse block from the data", 1, minimum=1
        ),
        Param(
            "dtype",
            "str",
            "training precision (float64: a model's result is independent of its batch-mates; "
            "float32: ~20% faster, batch-dependent rounding grows to ~1e-4 in J_c)",
            "float64",
            choices=("float32", "float64"),
        ),
        Param(
            "models_per_batch",
            "int",
            "models trained together in one vectorised batch",
            16,
            minimum=1,
        ),
        Param("root_starts", "int", "random Newton starts per model", 64, minimum=1),
        Param(
            "root_tol",
            "float",
            "|f| below which a root counts",
            1e-10,
            minimum=0.0,
            exclusive_minimum=True,
        ),
        Param("crossing_steps", "int", "RG steps followed on the Ising axis", 64, minimum=1),
        Param(
            "crossing_escape",
            "float",
            "departure |u.(J - J*)| that labels the phase of an axis point",
            0.25,
            minimum=0.0,
        ),
        Param("crossing_grid", "int", "J0 grid points of the Ising-axis phase scan", 64, minimum=2),
        Param(
            "flow_grid_points",
            "int",
            "points of the stored flow along the Ising axis",
            161,
            minimum=2,
        ),
    ),
)
"""Every MLRG hyper-parameter with its default."""
