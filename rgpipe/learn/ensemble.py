"""Statistics across the independently seeded models of an ensemble, and their HDF5 form.

The models of a job are independent by construction (separate seeds, no shared state), so
the error of the ensemble mean of a per-model estimate is ``std(ddof=1) / sqrt(N)`` and
``tau_int`` is 0.5; the Gamma method's autocorrelation window would only fit noise to an
arbitrary seed order.  Models without a value (NaN, e.g. no critical fixed point found) are
left out and counted.

Layout written into a training file (stage ``train_<family>``)::

    /estimates/<name>/{mean, error_of_mean, variance, tau_int, std}
        attrs: definition, exact, reference, units, n_models, n_valid, bias,
               relative_bias, error_model
    /models/seed (M,) int64, /models/<name> (M,) float64   one value per model
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np

from rgpipe.learn.family import Estimate
from rgpipe.stats import Stats
from rgpipe.store import write_stats

ERROR_MODEL = "independent seeds: std(ddof=1)/sqrt(n_valid)"
"""How the error of an ensemble mean is computed (stored with every estimate)."""


def seed_statistics(values: Sequence[float] | np.ndarray) -> tuple[Stats, float, int]:
    """Statistics of independent per-seed values, NaNs left out.

    Returns:
        (Stats(mean, error_of_mean = std/sqrt(N), variance, tau_int = 0.5), std, N valid);
        NaN where fewer than two values make it undefined.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return Stats(np.nan, np.nan, np.nan, 0.5), np.nan, 0
    mean = float(x.mean())
    if n == 1:
        return Stats(mean, np.nan, np.nan, 0.5), np.nan, 1
    var = float(x.var(ddof=1))
    std = float(np.sqrt(var))
    return Stats(mean, std / np.sqrt(n), var, 0.5), std, n


def estimate_statistics(
    models: Sequence[Mapping[str, Any]], described: Mapping[str, Estimate]
) -> dict[str, dict[str, Any]]:
    """Across-seed statistics of every described per-model scalar.

    Returns:
        ``{name: {mean, error_of_mean, std, variance, n_valid, n_models, exact, bias,
        relative_bias}}`` (bias against ``exact``; NaN when it is unknown).
    """
    out = {}
    for name, info in described.items():
        st, std, n = seed_statistics(info.values(name, models))
        bias = float(st.mean - info.exact)
        out[name] = {
            "mean": float(st.mean),
            "error_of_mean": float(st.error_of_mean),
            "std": float(std),
            "variance": float(st.variance),
            "n_valid": int(n),
            "n_models": len(models),
            "exact": float(info.exact),
            "bias": bias,
            "relative_bias": bias / info.exact if info.exact else float("nan"),
        }
    return out


def write_estimates(
    fh: h5py.File, models: Sequence[Mapping[str, Any]], described: Mapping[str, Estimate]
) -> None:
    """``/estimates/<name>`` (across seeds) and ``/models/{seed, <name>}`` (per model)."""
    stats = estimate_statistics(models, described)
    est = fh.create_group("estimates")
    for name, s in stats.items():
        info = described[name]
        grp = write_stats(est, name, Stats(s["mean"], s["error_of_mean"], s["variance"], 0.5))
        grp.create_dataset("std", data=np.float64(s["std"]))
        grp.attrs.update(
            {
                "definition": info.definition,
                "exact": s["exact"],
                "reference": info.reference,
                "reference_kind": info.kind,
                "units": info.units,
                "n_models": s["n_models"],
                "n_valid": s["n_valid"],
                "bias": s["bias"],
                "relative_bias": s["relative_bias"],
                "error_model": ERROR_MODEL,
            }
        )
    grp = fh.require_group("models")
    grp.create_dataset("seed", data=np.array([m["seed"] for m in models], dtype=np.int64))
    for name, info in described.items():
        grp.create_dataset(name, data=np.array(info.values(name, models), dtype=np.float64))
