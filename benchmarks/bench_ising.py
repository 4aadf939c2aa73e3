"""Ising Monte Carlo performance: spin updates per second and autocorrelation times.

Prints two tables (comparable across machines and versions):

1. spin updates per second for every update and kernel at L = 64, 256, 1024 at K_c
   (for Wolff: flipped spins per second), one thread and, for the multi-spin kernel,
   every core;
2. tau_int of |m| at K_c for L = 16, 32, 64 (in sweeps) for Metropolis and Wolff.

Usage:  python benchmarks/bench_ising.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numba
import numpy as np

from rgpipe.mc.ising.samplers import (
    LocalMetropolis,
    MultispinMetropolis,
    SwendsenWang,
    TorchMetropolis,
    Wolff,
)
from rgpipe.mc.rng import stream_states
from rgpipe.physics.ising_exact import K_C_SQUARE
from rgpipe.physics.lattice import square
from rgpipe.stats import gamma_method

SAMPLERS = {
    "metropolis multispin": MultispinMetropolis,
    "metropolis table": LocalMetropolis,
    "wolff": Wolff,
    "sw": SwendsenWang,
    "metropolis torch": TorchMetropolis,
}


def make(name: str, L: int, k: float, seed: int = 1):
    lat = square(L)
    spins = np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), lat.n_sites)
    states = stream_states(seed, (L,), L + 1)
    if name == "metropolis torch":
        return TorchMetropolis(lat, spins, k, seed, "cpu")
    return SAMPLERS[name](lat, spins, k, states)


def updates_per_second(name: str, L: int, k: float, min_seconds: float) -> float:
    """Timed sweeps after a warm-up (JIT compile and equilibration excluded)."""
    sim = make(name, L, k)
    if isinstance(sim, Wolff):
        sim.calibrate(20)
    else:
        sim.sweep(5)
    n, elapsed, flipped0 = 1, 0.0, getattr(sim, "flipped", 0)
    total = 0
    while elapsed < min_seconds:
        t = time.perf_counter()
        sim.sweep(n)
        elapsed += time.perf_counter() - t
        total += n
        n *= 2
    spins = sim.flipped - flipped0 if isinstance(sim, Wolff) else total * L * L
    return spins / elapsed


def tau_abs_m(name: str, L: int, sweeps: int) -> tuple[float, float]:
    """tau_int of |m| at K_c in sweeps (Wolff: sweeps of ~N flipped spins)."""
    sim = make(name, L, K_C_SQUARE, seed=7)
    if isinstance(sim, Wolff):
        sim.calibrate(1000)
    else:
        sim.sweep(20 * L * L // 16 + 1000)
    m = np.empty(sweeps)
    for i in range(sweeps):
        sim.sweep(1)
        m[i] = abs(sim.energy_magnetisation()[1]) / (L * L)
    st = gamma_method(m)
    # error of tau_int (Madras-Sokal): tau * sqrt(2 (2W + 1) / N) with W ~ 5 tau
    return st.tau_int, st.tau_int * np.sqrt(2 * (10 * st.tau_int + 1) / sweeps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="shorter timings")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for multispin")
    args = ap.parse_args()
    min_s = 0.5 if args.quick else 2.0
    numba.set_num_threads(1)
    import torch

    torch.set_num_threads(1)
    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"numba {numba.__version__}, numpy {np.__version__}, torch {torch.__version__}"
    )
    print("# spin updates per second at K_c (Wolff: flipped spins per second), 1 thread")
    sizes = (64, 256, 1024)
    print(f"{'update':24s}" + "".join(f"{'L=' + str(L):>12s}" for L in sizes))
    for name in SAMPLERS:
        row = [updates_per_second(name, L, K_C_SQUARE, min_s) for L in sizes]
        print(f"{name:24s}" + "".join(f"{r:12.3e}" for r in row), flush=True)
    threads = min(args.threads, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(threads)
    row = [updates_per_second("metropolis multispin", L, K_C_SQUARE, min_s) for L in sizes]
    print(f"{f'multispin {threads} threads':24s}" + "".join(f"{r:12.3e}" for r in row))
    numba.set_num_threads(1)
    print("\n# tau_int(|m|) at K_c in sweeps (+- error)")
    n_sw = 20000 if args.quick else 100000
    for name in ("metropolis multispin", "wolff"):
        cells = []
        for L in (16, 32, 64):
            tau, err = tau_abs_m(name, L, n_sw)
            cells.append(f"{tau:8.2f} +- {err:5.2f}")
        print(
            f"{name:24s}"
            + "  ".join(f"L={L}: {c}" for L, c in zip((16, 32, 64), cells, strict=True))
        )


if __name__ == "__main__":
    main()
