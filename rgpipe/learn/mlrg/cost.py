"""Generous resource estimates of an MLRG training job, for the scheduler (Slurm runtime and
memory requests of the workflow's ``train_mlrg`` rule).

The loss dominates a training epoch (97 % on the A1+E 4x3 cluster), so both estimates count
the loss's work per coupling pair:

* the plaquette's exact KL enumerates q^4 visible states (q = 2^d states per site);
* an A1 cluster compares histograms whose size grows with the square of its plaquettes;
* any other cluster contracts a vertex model (:mod:`.vertex`): nx columns of m nodes, each
  q^(m+3) multiply-adds, forward and backward for both blocks, on a boundary of q^(m+1)
  numbers that the backward pass keeps per node.

The constants are calibrated on the measured figures of ``docs/benchmarks.md`` (one thread
of this project's 2-core machine) and round up by 2-10x: over-asking costs queue priority,
under-asking kills the job (it then resumes from its checkpoint, but only when rerun).
"""

from __future__ import annotations

import math
from typing import Any

from rgpipe.learn.family import Cost
from rgpipe.learn.mlrg.clusters import parse_block
from rgpipe.learn.mlrg.ensemble import max_models_per_batch
from rgpipe.learn.mlrg.representation import representation

SECONDS_PER_MAC = 1e-10
"""Wall time per multiply-add of the contraction (measured about 4e-11 in float32)."""


def _site_states(params: dict[str, Any]) -> int:
    """q = 2^d states of a site spin of dimension d."""
    return 2 ** representation(params["representation"], params["frame"]).d


def pair_seconds(params: dict[str, Any]) -> float:
    """Estimated wall time (s, one thread) of the loss and its gradient for one coupling pair
    (resolved hyper-parameters)."""
    q = _site_states(params)
    shape = parse_block(params["block"])  # None for the plaquette
    if shape is None:
        seconds = 3e-5 + 3e-8 * q**4  # A1 9e-6, A1+E 8e-5, 2A1+E 6e-4 measured
    elif q == 2:
        seconds = 3e-5 + 2e-7 * (shape[0] * shape[1]) ** 2  # A1 5x5: 1.5e-4 measured
    else:
        nx, m = max(shape), min(shape)
        macs = 6 * nx * m * q ** (m + 3)  # two blocks, forward + backward
        seconds = macs * SECONDS_PER_MAC + 4e-8 * q**4  # + both blocks' log weights
    if params["loss"] == "cd":
        seconds *= 15  # Gibbs sampling: 3-9x the exact KL measured
    return seconds


def pair_bytes(params: dict[str, Any]) -> float:
    """Estimated memory (bytes) the loss keeps per coupling pair for its backward pass."""
    q = _site_states(params)
    word = 4 if params["dtype"] == "float32" else 8
    shape = parse_block(params["block"])  # None for the plaquette
    if shape is None or q == 2:
        return 2 * word * q**4  # 2A1+E plaquette, float64: 0.84 MB measured
    nx, m = max(shape), min(shape)
    # A1+E, float32 4x3: 0.6 MB, float64 4x4: 3.1 MB measured
    return 3 * word * nx * m * q ** (m + 1) + 2 * word * q**4


def runtime_minutes(params: dict[str, Any], n_models: int) -> int:
    """Wall-time request (minutes, at least 10) for training ``n_models`` models on one rank
    (more ranks only finish sooner)."""
    per_model = params["epochs"] * params["batch"] * pair_seconds(params)
    return max(10, math.ceil(n_models * per_model / 60))


def memory_mb(params: dict[str, Any], n_models: int) -> int:
    """Memory request (MB, at least 3000) of one rank: torch and the process (1 GB) plus the
    vectorised batch of models (:func:`.ensemble.max_models_per_batch`, at most
    ``n_models``)."""
    at_once = min(max_models_per_batch(params), n_models)
    batch_bytes = at_once * params["batch"] * pair_bytes(params)
    return max(3000, math.ceil(1000 + 1.5 * batch_bytes / 1e6))


def estimate(params: dict[str, Any], n_models: int) -> Cost:
    """The family's cost hook: :func:`runtime_minutes` and :func:`memory_mb` of one rank."""
    return Cost(runtime_minutes(params, n_models), memory_mb(params, n_models))
