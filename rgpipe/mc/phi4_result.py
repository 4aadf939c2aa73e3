"""The phi^4 model's Monte Carlo job as an :class:`~rgpipe.mc.output.MCResult`."""

from __future__ import annotations

from typing import Any

import numpy as np

from rgpipe.mc.output import MCResult, run_point_by_point


def phi4_result(job: dict[str, Any], progress: bool = True) -> MCResult:
    """Run a validated ``phi4_mc_job`` and package the result for :func:`write_mc`."""
    from rgpipe.mc.phi4 import run_phi4

    run_job = {k: v for k, v in job.items() if k != "system"}
    key = "betas" if "betas" in run_job else "m0sq"
    raw = run_point_by_point(run_phi4, run_job, key, f"phi4 L={job['L']}", progress)
    attrs = dict(raw["attrs"])
    attrs["n_spins"] = int(attrs.get("n_sites", job["L"] ** 2))
    return MCResult(
        parameter=raw["parameter"],
        values=np.asarray(raw["values"], dtype=np.float64),
        series=raw["series"],
        estimates=raw["estimates"],
        meta={"beta": ("1", "hopping coupling beta"), **raw["meta"]},
        samples=raw["samples"],
        sample_attrs=raw["sample_attrs"],
        diagnostics={**raw["diagnostics"], **raw["timing"]},
        attrs=attrs,
        point_parameters=raw["parameters"],
    )
