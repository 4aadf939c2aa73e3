"""One Markov chain of the XY model: state, random stream and thermalisation.

Random numbers: one xoshiro256** stream (:mod:`rgpipe.mc.rng`) per coupling, keyed by
(lattice, L, update, K), so a chain is bit-identical for the same seed whatever the
other couplings of the job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from rgpipe.mc.rng import stream_key, stream_states
from rgpipe.mc.xy.kernels import (
    MEASURE_COLUMNS,
    config_shape,
    neighbor_table,
    random_angles,
    run_sweeps,
    spin_cache,
)
from rgpipe.mc.xy.spec import sweep_composition

TARGET_ACCEPTANCE = 0.5
TUNE_CHUNK = 10
TUNE_SITES = 1000


class Chain:
    """One Markov chain of the XY model at coupling K (state, work arrays, counters)."""

    def __init__(
        self, L: int, lattice: str, coupling: float, state: np.ndarray, start: str = "hot"
    ):
        self.L = L
        self.lattice = lattice
        self.coupling = float(coupling)
        self.nbr = neighbor_table(L, lattice)
        self.n = self.nbr.shape[0]
        self.state = state
        if start == "hot":
            self.theta = random_angles(self.n, state)
        elif start == "cold":
            self.theta = np.zeros(self.n)
        else:
            raise ValueError(f"start must be 'hot' or 'cold', got {start!r}")
        self.c, self.s = spin_cache(self.theta)
        self.work = np.full((2, self.n), -1, dtype=np.int64)
        self.proj = np.zeros(self.n)
        self.counters = np.zeros(5, dtype=np.int64)

    def run(
        self,
        n_sweeps: int,
        step: float,
        n_clusters: int,
        n_metropolis: int,
        n_overrelax: int,
        measure_every: int = 0,
    ) -> np.ndarray:
        """Run sweeps; returns the raw measurements, float64 (n_sweeps // measure_every, 7)."""
        rows = n_sweeps // measure_every if measure_every > 0 else 0
        out = np.zeros((rows, len(MEASURE_COLUMNS)))
        run_sweeps(
            self.theta,
            self.c,
            self.s,
            self.nbr,
            self.coupling,
            float(step),
            int(n_clusters),
            int(n_metropolis),
            int(n_overrelax),
            int(n_sweeps),
            int(measure_every),
            self.state,
            self.work,
            self.proj,
            out,
            self.counters,
        )
        return out

    def config(self) -> np.ndarray:
        """A copy of the angles in storage shape ((L, L) [y, x] or (L,))."""
        return self.theta.reshape(config_shape(self.L, self.lattice)).copy()


def chain_state(seed: int, lattice: str, L: int, update: str, coupling: float) -> np.ndarray:
    """The xoshiro256** state (uint64 (4,)) of the chain at one coupling."""
    bits = int(np.float64(coupling).view(np.uint64))  # the exact coupling, no hashing
    # "rgpipe.mc.xy" is a fixed name of the stream (once the module's), not __name__:
    # changing it would change every chain
    key = (stream_key("rgpipe.mc.xy", lattice, update), L, bits >> 32, bits & 0xFFFFFFFF)
    return stream_states(seed, key, 1)[0]


def initial_step(coupling: float) -> float:
    """Starting Metropolis window: ``min(pi, 2/sqrt(K))``."""
    return math.pi if coupling <= 4.0 / math.pi**2 else 2.0 / math.sqrt(coupling)


def thermalize(chain: Chain, job: Mapping[str, Any]) -> tuple[float, int]:
    """Thermalise one chain, tuning what the job leaves on auto.

    The Metropolis window (``metropolis_step: None``) is rescaled after every chunk of
    ``max(TUNE_CHUNK, TUNE_SITES / N)`` sweeps by the ratio of the chunk's acceptance to
    ``TARGET_ACCEPTANCE`` (ratio clipped to [1/2, 2], window capped at pi); the cluster count
    (``clusters_per_sweep: None``) becomes ``round(N / <cluster size>)`` over the second
    half of the thermalisation.  Both are fixed afterwards.  Without thermalisation the
    starting values stay: window ``initial_step(K)``, one cluster per sweep.

    Returns:
        (Metropolis step, clusters per sweep) for the measurement phase.
    """
    wolff, n_met, n_or = sweep_composition(job)
    auto_step = job["metropolis_step"] is None
    auto_cl = wolff and job["clusters_per_sweep"] is None
    step = initial_step(chain.coupling) if auto_step else float(job["metropolis_step"])
    n_cl = (int(job["clusters_per_sweep"]) if not auto_cl else 1) if wolff else 0
    total = job["thermalization"]
    half = total // 2
    done = 0
    flipped = clusters = 0
    chunk_len = max(TUNE_CHUNK, -(-TUNE_SITES // chain.n))
    while done < total:
        chunk = min(chunk_len, total - done)
        before = chain.counters.copy()
        chain.run(chunk, step, n_cl, n_met, n_or)
        delta = chain.counters - before
        done += chunk
        if auto_step and delta[1] > 0:
            ratio = min(2.0, max(0.5, delta[0] / delta[1] / TARGET_ACCEPTANCE))
            step = min(math.pi, step * ratio)
        if auto_cl and delta[3] > 0:
            if done > half:
                flipped += delta[2]
                clusters += delta[3]
            mean_size = (flipped / clusters) if clusters else delta[2] / delta[3]
            n_cl = max(1, round(chain.n / mean_size))
    return step, n_cl
