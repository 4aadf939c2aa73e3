"""Checks between 0+1D-field options that the JSON schema does not express."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rgpipe.mc.options import measurement_errors


def check(entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """Problems of one 0+1D-field ensemble or job, defaults filled: the potential must
    confine, a move may be given once, a sweep needs hmc or metropolis (reflect alone is
    not ergodic) and the reflect move needs an even potential.

    Args:
        entry: the ensemble or job.
        where: key prefix (``mc.oscillator.dw.``, or empty for a job).
        what: names the source of the values (``config key`` or ``option``).
    """
    from rgpipe.physics.oscillator import potential_from_spec

    msgs = measurement_errors(entry, where, what)
    try:
        pot = potential_from_spec(entry, entry["mass"])
    except ValueError as exc:
        bad = f"{what} '{where}potential': value {entry['potential']!r} is invalid"
        return [*msgs, f"{bad}: {exc}"]
    update = entry.get("update") or ""
    parts = update.split("+")
    bad = f"{what} '{where}update': value {update!r} is invalid:"
    if len(set(parts)) != len(parts):
        msgs.append(f"{bad} a move is given twice")
    elif "reflect" in parts and not pot.is_even:
        msgs.append(f"{bad} the reflect move is exact only for an even potential")
    elif update and not {"hmc", "metropolis"} & set(parts):
        msgs.append(f"{bad} needs hmc or metropolis (reflect alone is not ergodic)")
    return msgs
