"""MLRG hyper-parameters resolved: defaults, normalised values and the checks between keys.

The declarations are :data:`rgpipe.learn.mlrg.spec.SPEC`; :func:`resolve_params` fills the
defaults and validates a user dictionary (the schema generated from the spec, then
:func:`check`), raising ``ValueError`` with a message naming the key and the value.
"""

from __future__ import annotations

from typing import Any

from rgpipe.spec import defaults


def check(out: dict[str, Any]) -> None:
    """The constraints between MLRG hyper-parameters (``out``: resolved, defaults filled).

    Raises:
        ValueError: naming the keys and values that conflict.
    """
    from rgpipe.learn.mlrg.clusters import PLAQUETTE, check_cluster, parse_block
    from rgpipe.learn.mlrg.representation import (
        canonical_representation,
        parse_representation,
        representation,
    )
    from rgpipe.learn.mlrg.spec import SMOOTH_ACTIVATIONS

    try:
        irreps = parse_representation(out["representation"])
    except ValueError as exc:
        raise ValueError(
            f"mlrg parameter 'representation': value {out['representation']!r} is invalid: {exc}"
        ) from None
    if canonical_representation(irreps) != out["representation"]:
        raise ValueError(
            f"mlrg parameter 'representation': value {out['representation']!r} is invalid: "
            f"write it {canonical_representation(irreps)!r} (one spelling per representation, "
            "so that a sweep cannot train one twice)"
        )
    try:
        parse_block(out["block"])
    except ValueError as exc:
        raise ValueError(
            f"mlrg parameter 'block': value {out['block']!r} is invalid: {exc}"
        ) from None
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


def default_params() -> dict[str, Any]:
    """A fresh dictionary of all defaults."""
    from rgpipe.learn.mlrg.spec import SPEC

    return defaults(SPEC.params)


def resolve_params(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults filled in, every value validated and normalised (floats as floats).

    Raises:
        ValueError: for an unknown key or an invalid value (message names both).
    """
    from rgpipe.learn import registry
    from rgpipe.learn.jobs import resolve

    params = dict(params or {})
    family = registry.get("mlrg")
    unknown = sorted(set(params) - set(family.spec.names))
    if unknown:
        raise ValueError(
            f"unknown mlrg parameter(s) {unknown}; allowed: {sorted(family.spec.names)}"
        )
    return resolve(family, params)


def job_params(job: dict[str, Any]) -> dict[str, Any]:
    """The resolved hyper-parameters of an ``mlrg_job`` (its runner keys dropped)."""
    from rgpipe.learn.mlrg.spec import SPEC

    return resolve_params({k: v for k, v in job.items() if k in SPEC.names})
