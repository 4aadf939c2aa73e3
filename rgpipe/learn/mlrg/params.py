"""Hyper-parameters of MLRG training: names, types, defaults, allowed ranges, descriptions.

:data:`HYPERPARAMETERS` is the single list a command line or a config schema can be generated
from; :func:`resolve_params` fills defaults and validates a user dictionary, raising
``ValueError`` with a message naming the key and the offending value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rgpipe.learn.mlrg.clusters import PLAQUETTE, check_cluster, parse_block
from rgpipe.learn.mlrg.hmc import SCHEDULES
from rgpipe.learn.mlrg.networks import ACTIVATIONS, SMOOTH_ACTIVATIONS
from rgpipe.learn.mlrg.representation import parse_representation, representation


@dataclass(frozen=True)
class HyperParameter:
    """One hyper-parameter.

    Attributes:
        name: key in the params dictionary.
        type: ``"str"``, ``"int"``, ``"float"``, ``"int_list"`` or ``"float_pair"`` (a
            ``None`` default makes the pair optional).
        default: default value.
        allowed: a tuple of choices (str), or (min, max) bounds (inclusive; None = open).
        description: one line for help texts and schemas.
    """

    name: str
    type: str
    default: Any
    allowed: tuple
    description: str


HYPERPARAMETERS: tuple[HyperParameter, ...] = (
    HyperParameter(
        "representation",
        "str",
        "A1",
        (),
        "site representation of C4v: irreps A1, A2, B1, B2, E with multiplicities joined by "
        "'+', e.g. A1, A1+E, 2A1+E",
    ),
    HyperParameter(
        "frame",
        "str",
        "midpoint",
        ("midpoint", "corner", "none"),
        "which sublattice carries the irreps in the 45-degree rotated frame of the coarse "
        "lattice (midpoint: the default, symmetric under the RG step; none: the same "
        "matrices on both, for comparison only)",
    ),
    HyperParameter(
        "block",
        "str",
        "plaquette",
        (),
        "block pair compared by the loss: 'plaquette' (seed 002's square/cross blocks) or a "
        "cluster 'NxM' of N x M black plaquettes (e.g. 4x2; exact KL only; A1 up to 5 "
        "plaquettes wide, A1+E 4, 2A1+E 2)",
    ),
    HyperParameter("loss", "str", "kl", ("kl", "cd"), "exact KL by enumeration, or contrastive"),
    HyperParameter(
        "target", "str", "flow", ("flow", "monotone"), "learn f (J'=J+f) or C (J'=J-grad C)"
    ),
    HyperParameter("hidden", "int_list", [32, 32], (1, 4096), "hidden layer widths of the MLP"),
    HyperParameter(
        "activation",
        "str",
        "tanh",
        tuple(ACTIVATIONS),
        "MLP activation (monotone needs a smooth one)",
    ),
    HyperParameter("epochs", "int", 1500, (1, None), "training epochs (one optimiser step each)"),
    HyperParameter("learning_rate", "float", 3e-3, (0.0, None), "initial Adam learning rate"),
    HyperParameter(
        "lr_final_factor",
        "float",
        0.05,
        (0.0, 1.0),
        "cosine decay of the learning rate to this fraction of the initial rate",
    ),
    HyperParameter(
        "batch", "int", 64, (1, None), "HMC chains (trajectories) per model = couplings per epoch"
    ),
    HyperParameter(
        "hmc_step_size", "float", 0.02, (0.0, None), "initial leapfrog step size (coupling units)"
    ),
    HyperParameter("hmc_leapfrog_steps", "int", 8, (1, None), "leapfrog steps per transition"),
    HyperParameter("hmc_transitions", "int", 1, (0, None), "HMC transitions per epoch"),
    HyperParameter(
        "hmc_target_acceptance",
        "float",
        0.75,
        (0.0, 0.99),
        "per-model step-size adaptation target between transitions (0: fixed step size)",
    ),
    HyperParameter(
        "hmc_uniform_fraction",
        "float",
        0.0,
        (0.0, 1.0),
        "fraction of the chains redrawn uniformly in the box every epoch (beta = 0)",
    ),
    HyperParameter(
        "axis_fraction",
        "float",
        0.0,
        (0.0, 1.0),
        "fraction of the chains redrawn every epoch on the current map's trajectories from the "
        "Ising axis (J0 uniform in axis_range, 0 .. axis_steps - 1 steps): trains the map "
        "where the J_c crossing follows it",
    ),
    HyperParameter("axis_steps", "int", 8, (1, None), "longest axis trajectory sampled (RG steps)"),
    HyperParameter(
        "axis_range",
        "float_pair",
        None,
        (None, None),
        "interval [low, high] of the starting J0 of the axis trajectories, inside "
        "j_range_ising (null: all of j_range_ising); narrow it around a pilot's J_c",
    ),
    HyperParameter(
        "gauge_fix",
        "str",
        "none",
        ("none", "lexicographic"),
        "fold the coupling chains into one gauge domain (the lexicographically largest copy "
        "under the hidden-spin relabellings) and analyse the gauge-fixed map canon(J + f(J)); "
        "for representations with several couplings",
    ),
    HyperParameter(
        "beta_final", "float", 20000.0, (0.0, None), "final inverse temperature beta_T of U"
    ),
    HyperParameter("beta_schedule", "str", "cosine", SCHEDULES, "annealing of beta from 0"),
    HyperParameter(
        "anneal_fraction", "float", 0.5, (0.0, 1.0), "fraction of the epochs spent ramping beta"
    ),
    HyperParameter(
        "j_range_ising",
        "float_pair",
        [0.0, 1.6],
        (None, None),
        "box [low, high] of the first (A1-A1, Ising) coupling for HMC and root finding",
    ),
    HyperParameter(
        "j_range_other",
        "float_pair",
        [-1.0, 1.0],
        (None, None),
        "box [low, high] of every other coupling",
    ),
    HyperParameter("cd_samples", "int", 32, (1, None), "CD: visible samples per coupling"),
    HyperParameter("k_fine", "int", 32, (1, None), "CD: Gibbs sweeps of the fine block"),
    HyperParameter(
        "k_coarse", "int", 1, (1, None), "CD: Gibbs sweeps of the coarse block from the data"
    ),
    HyperParameter(
        "dtype",
        "str",
        "float64",
        ("float32", "float64"),
        "training precision (float64: a model's result is independent of its batch-mates; "
        "float32: ~20% faster, batch-dependent rounding grows to ~1e-4 in J_c)",
    ),
    HyperParameter(
        "models_per_batch",
        "int",
        16,
        (1, None),
        "models trained together in one vectorised batch",
    ),
    HyperParameter("root_starts", "int", 64, (1, None), "random Newton starts per model"),
    HyperParameter("root_tol", "float", 1e-10, (0.0, None), "|f| below which a root counts"),
    HyperParameter("crossing_steps", "int", 64, (1, None), "RG steps followed on the Ising axis"),
    HyperParameter(
        "crossing_escape",
        "float",
        0.25,
        (0.0, None),
        "departure |u.(J - J*)| that labels the phase of an axis point",
    ),
    HyperParameter(
        "crossing_grid", "int", 64, (2, None), "J0 grid points of the Ising-axis phase scan"
    ),
    HyperParameter(
        "flow_grid_points", "int", 161, (2, None), "points of the stored flow along the Ising axis"
    ),
)
"""Every hyper-parameter with its default."""

_BY_NAME = {p.name: p for p in HYPERPARAMETERS}


def default_params() -> dict[str, Any]:
    """A fresh dictionary of all defaults."""
    return {
        p.name: (list(p.default) if isinstance(p.default, list) else p.default)
        for p in HYPERPARAMETERS
    }


def _check(p: HyperParameter, value: Any) -> Any:
    """Validate and normalise one value (raises ValueError naming the key)."""

    def bad(why: str) -> ValueError:
        return ValueError(f"mlrg parameter {p.name!r}: value {value!r} is invalid: {why}")

    if p.type == "str":
        if not isinstance(value, str):
            raise bad("expected a string")
        if p.allowed and value not in p.allowed:
            raise bad(f"expected one of {list(p.allowed)}")
        if p.name == "representation":
            try:
                parse_representation(value)
            except ValueError as exc:
                raise bad(str(exc)) from exc
            value = value.strip()
        if p.name == "block":
            try:
                parse_block(value)
            except ValueError as exc:
                raise bad(str(exc)) from exc
        return value
    if p.type in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f"expected {p.type}")
        if p.type == "int":
            if float(value) != int(value):
                raise bad("expected an integer")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise bad("must be finite")
        lo, hi = p.allowed
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise bad(f"must lie in [{lo}, {hi}]")
        if (
            p.type == "float"
            and lo == 0.0
            and value == 0.0
            and p.name
            in (
                "learning_rate",
                "hmc_step_size",
                "root_tol",
            )
        ):
            raise bad("must be > 0")
        return value
    if p.type == "int_list":
        if not isinstance(value, list | tuple) or not value:
            raise bad("expected a non-empty list of integers")
        out = []
        for v in value:
            if (
                isinstance(v, bool)
                or not isinstance(v, int)
                or not p.allowed[0] <= v <= p.allowed[1]
            ):
                raise bad(f"entries must be integers in [{p.allowed[0]}, {p.allowed[1]}]")
            out.append(int(v))
        return out
    if p.type == "float_pair":
        if value is None and p.default is None:
            return None
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise bad("expected [low, high]")
        lo, hi = (float(v) for v in value)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise bad("need finite low < high")
        return [lo, hi]
    raise AssertionError(p.type)


def job_params(job: dict[str, Any]) -> dict[str, Any]:
    """The resolved hyper-parameters of an ``mlrg_job`` (its other keys, seed, n_models and
    mode, dropped); raises ValueError like :func:`resolve_params`."""
    return resolve_params({k: v for k, v in job.items() if k in _BY_NAME})


def resolve_params(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults filled in and every value validated.

    Raises:
        ValueError: for an unknown key or an invalid value (message names both).
    """
    params = dict(params or {})
    unknown = sorted(set(params) - set(_BY_NAME))
    if unknown:
        raise ValueError(f"unknown mlrg parameter(s) {unknown}; allowed: {sorted(_BY_NAME)}")
    out = default_params()
    for key, value in params.items():
        out[key] = _check(_BY_NAME[key], value)
    try:
        rep = representation(out["representation"], out["frame"])
    except ValueError as exc:
        raise ValueError(
            f"mlrg parameter 'representation': value {out['representation']!r} is invalid "
            f"with frame {out['frame']!r}: {exc}"
        ) from None
    if out["block"] != PLAQUETTE:
        if out["loss"] != "kl":
            raise ValueError(
                f"mlrg parameter 'block': value {out['block']!r} is invalid with loss "
                f"{out['loss']!r}: clusters are implemented with the exact KL loss only"
            )
        try:
            check_cluster(rep, out["block"])
        except ValueError as exc:
            raise ValueError(
                f"mlrg parameter 'block': value {out['block']!r} is invalid with representation "
                f"{out['representation']!r}: {exc}"
            ) from None
    if out["hmc_uniform_fraction"] + out["axis_fraction"] > 1.0:
        raise ValueError(
            f"mlrg parameters 'hmc_uniform_fraction' and 'axis_fraction': values "
            f"{out['hmc_uniform_fraction']!r} and {out['axis_fraction']!r} are invalid: "
            "together they exceed 1 (the fractions of the chains they redraw)"
        )
    axis, ising = out["axis_range"], out["j_range_ising"]
    if axis is not None and not ising[0] <= axis[0] < axis[1] <= ising[1]:
        raise ValueError(
            f"mlrg parameter 'axis_range': value {axis!r} is invalid: it must lie inside "
            f"j_range_ising {out['j_range_ising']!r}"
        )
    if out["target"] == "monotone" and out["activation"] not in SMOOTH_ACTIVATIONS:
        raise ValueError(
            f"mlrg parameter 'activation': value {out['activation']!r} is invalid: the monotone "
            f"target needs one of {list(SMOOTH_ACTIVATIONS)}"
        )
    return out
