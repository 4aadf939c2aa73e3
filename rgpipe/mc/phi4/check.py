"""Checks between phi^4 options that the JSON schema does not express."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rgpipe.mc.options import measurement_errors


def check(entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """Problems of one phi^4 ensemble (``sizes``) or job (``L``), defaults filled: every
    (L, beta, lam) point must be simulable (e.g. a stable Gaussian at lam = 0), and the
    update ``overrelaxation`` needs over-relaxation passes.

    Args:
        entry: the ensemble or job.
        where: key prefix (``mc.phi4.a.``, or empty for a job).
        what: names the source of the values (``config key`` or ``option``).
    """
    from rgpipe.physics.phi4 import lattice_from_continuum, parameter_problems

    msgs = measurement_errors(entry, where, what)
    sizes = entry["sizes"] if "sizes" in entry else [entry["L"]]
    points = []  # (key path, beta, lam)
    if "betas" in entry:
        points = [(f"{where}betas[{i}]", b, entry["lam"]) for i, b in enumerate(entry["betas"])]
    else:
        for i, m0sq in enumerate(entry["m0sq"]):
            try:
                beta, lam = lattice_from_continuum(m0sq, entry["lambda0"])
                points.append((f"{where}m0sq[{i}]", beta, lam))
            except ValueError as exc:
                msgs.append(f"{what} '{where}m0sq[{i}]': value {m0sq!r} is invalid: {exc}")
    for L in sizes:
        for key, beta, lam in points:
            msgs += [f"{what} '{key}': {m}" for m in parameter_problems(L, beta, lam)]
    if entry["update"] == "overrelaxation" and entry["or_sweeps"] == 0:
        msgs.append(f"{what} '{where}or_sweeps': value 0 is invalid with update 'overrelaxation'")
    return msgs
