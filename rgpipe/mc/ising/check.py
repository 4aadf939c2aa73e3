"""Checks between Ising options that the JSON schema does not express."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rgpipe.mc.options import measurement_errors


def check(entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """Problems of one Ising ensemble (``sizes``) or job (``L``), defaults filled.

    The checkerboard Metropolis chain needs a two-colouring (even L on the square
    lattice) and is reducible at L = 2 on the square lattice (both sites of a colour
    share their neighbours, so a staggered state is absorbing) and at K = 0 (every
    proposal is accepted and the sweep is deterministic).

    Args:
        entry: the ensemble or job.
        where: key prefix (``mc.ising.sq.``, or empty for a job).
        what: names the source of the values (``config key`` or ``option``).
    """
    msgs = measurement_errors(entry, where, what)
    if entry.get("backend") == "torch" and entry["update"] != "metropolis":
        msgs.append(
            f"{what} '{where}backend': value 'torch' is invalid with update "
            f"{entry['update']!r}: the torch kernel implements checkerboard metropolis only"
        )
    if entry["update"] != "metropolis":
        return msgs
    if "sizes" in entry:
        sizes = [(f"{where}sizes[{i}]", n) for i, n in enumerate(entry["sizes"])]
    else:
        sizes = [(f"{where}L", entry["L"])]
    if entry["lattice"] == "square":
        for key, size in sizes:
            if size % 2 or size < 4:
                msgs.append(
                    f"{what} '{key}': value {size} is invalid: the checkerboard Metropolis "
                    "update on the square lattice needs an even L >= 4"
                )
    for i, k in enumerate(entry["couplings"]):
        if k == 0:
            msgs.append(
                f"{what} '{where}couplings[{i}]': value {k} is invalid: checkerboard "
                "Metropolis is not ergodic at K = 0 (use wolff or sw)"
            )
    return msgs
