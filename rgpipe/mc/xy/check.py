"""Checks between XY options that the JSON schema does not express."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rgpipe.mc.options import measurement_errors
from rgpipe.mc.xy.spec import sweep_composition


def check(entry: Mapping[str, Any], where: str, what: str) -> list[str]:
    """Problems of one XY ensemble or job (defaults filled): besides the measurement
    count, a sweep must contain an ergodic move (over-relaxation alone is not).

    Args:
        entry: the ensemble or job.
        where: key prefix (``mc.xy.sq.``, or empty for a job).
        what: names the source of the values (``config key`` or ``option``).
    """
    msgs = measurement_errors(entry, where, what)
    wolff, n_met, _ = sweep_composition(entry)
    if not wolff and n_met == 0:
        msgs.append(
            f"{what} '{where}metropolis_per_sweep': value 0 is invalid: update "
            f"{entry['update']!r} has no cluster move, so a sweep needs a Metropolis sweep"
        )
    return msgs
