"""Benchmark of the 2D phi^4 Monte Carlo (rgpipe.mc.phi4); prints comparable figures.

1. Throughput at lam = 1, beta = 0.68 for L = 32, 64, 128: Metropolis and over-relaxation
   site updates per second, Wolff flipped sites per second, seconds per sweep of every
   ``update``.
2. tau_int of m^2 (Gamma method, in sweeps) at lam = 1, beta = 0.68 for L = 16, 32 and every
   update, with the cost of one independent measurement, 2 tau_int x seconds per sweep.
3. Binder cumulants U(beta) for L = 8, 16, 32 at betas around 0.68 (lam = 1, combined
   update), and the crossing of U between successive sizes by linear interpolation
   (literature: beta_c near 0.680, strong corrections to scaling).

Usage: python benchmarks/bench_phi4.py [--scale 1.0] [--json out.json] [--skip 1,2,3]
Single-threaded (numba threads = 1).  Timings depend on the machine's load.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numba
import numpy as np

from rgpipe.mc.phi4 import kernels as mc
from rgpipe.mc.phi4.driver import simulate
from rgpipe.mc.phi4.spec import UPDATES
from rgpipe.mc.rng import stream_states
from rgpipe.mc.systems import validate_job
from rgpipe.physics.lattice import square

BETA_C = 0.68
LAM = 1.0


def run_phi4(job: dict) -> dict:
    """Simulate a job given by some of its options (validated, defaults filled)."""
    return simulate(validate_job({"system": "phi4", **job}))


def _rate(func, min_seconds: float = 1.0) -> tuple[float, int]:
    """Seconds per call of func() (repeated for at least min_seconds) and the call count."""
    func()
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_seconds:
        func()
        calls += 1
    return (time.perf_counter() - t0) / calls, calls


def throughput(sizes=(32, 64, 128)) -> list[dict]:
    """Per-update speed on a thermalised near-critical field."""
    rows = []
    for L in sizes:
        lat = square(L)
        nbr, n = lat.neighbors, lat.n_sites
        state = stream_states(0, (1, L), 1)[0]
        phi = np.ones(n)
        for _ in range(300):
            mc.metropolis_sweep(phi, nbr, BETA_C, LAM, 1.5, state)
        t_metro, _ = _rate(lambda: mc.metropolis_sweep(phi, nbr, BETA_C, LAM, 1.5, state))  # noqa: B023
        t_or, _ = _rate(lambda: mc.overrelax_sweep(phi, nbr, BETA_C, LAM, state))  # noqa: B023
        stack, mark = np.empty(n, np.int64), np.zeros(n, np.uint8)
        sizes_seen = []

        def one_cluster():
            sizes_seen.append(mc.wolff_cluster(phi, nbr, BETA_C, state, stack, mark))  # noqa: B023

        t_cl, _ = _rate(one_cluster)
        mean_cluster = float(np.mean(sizes_seen))
        row = {
            "L": L,
            "metropolis_site_updates_per_s": 1.0 / (t_metro / n),
            "overrelaxation_site_updates_per_s": 1.0 / (t_or / n),
            "wolff_flipped_sites_per_s": mean_cluster / t_cl,
            "wolff_clusters_per_s": 1.0 / t_cl,
            "wolff_mean_cluster_fraction": mean_cluster / n,
        }
        for update in UPDATES:
            sweeps = max(20, int(2e6 / n))
            t0 = time.perf_counter()
            res = run_phi4(
                {"L": L, "betas": [BETA_C], "lam": LAM, "update": update, "sweeps": sweeps,
                 "thermalization": 200, "seed": 1}
            )  # fmt: skip
            total = time.perf_counter() - t0
            row[f"seconds_per_sweep_{update}"] = total / (sweeps + 200)
            row[f"clusters_per_sweep_{update}"] = float(res["diagnostics"]["clusters_per_sweep"][0])
        rows.append(row)
        print(
            f"L={L:4d}  Metropolis {row['metropolis_site_updates_per_s'] / 1e6:6.1f} M site/s"
            f"  over-relaxation {row['overrelaxation_site_updates_per_s'] / 1e6:6.1f} M site/s"
            f"  Wolff {row['wolff_flipped_sites_per_s'] / 1e6:6.1f} M flipped site/s"
            f" ({row['wolff_clusters_per_s']:.0f} clusters/s,"
            f" <|C|>/N = {row['wolff_mean_cluster_fraction']:.3f})",
            flush=True,
        )
        print(
            "        ms per sweep: "
            + "  ".join(f"{u} {1e3 * row[f'seconds_per_sweep_{u}']:.3f}" for u in UPDATES),
            flush=True,
        )
    return rows


TAU_SWEEPS = {  # measured sweeps per (update, L): >~ 500 tau_int of m^2
    ("metropolis", 16): 200_000,
    ("metropolis", 32): 1_000_000,
    ("overrelaxation", 16): 60_000,
    ("overrelaxation", 32): 150_000,
    ("wolff", 16): 40_000,
    ("wolff", 32): 40_000,
    ("combined", 16): 40_000,
    ("combined", 32): 40_000,
}


def autocorrelation(scale: float) -> list[dict]:
    """tau_int of m^2, |m|, hop and U at criticality versus L and update."""
    rows = []
    for L in (16, 32):
        for update in UPDATES:
            for or_sweeps in (1, 2) if update in ("overrelaxation", "combined") else (0,):
                sweeps = max(1000, int(scale * TAU_SWEEPS[(update, L)]))
                job = {"L": L, "betas": [BETA_C], "lam": LAM, "update": update,
                       "sweeps": sweeps, "thermalization": 5000, "seed": 11}  # fmt: skip
                if or_sweeps:
                    job["or_sweeps"] = or_sweeps
                t0 = time.perf_counter()
                res = run_phi4(job)
                secs = float(res["timing"]["seconds"][0])
                per_sweep = secs / (sweeps + 5000)
                est = res["estimates"]
                tau = float(est["m2"].tau_int[0])
                row = {
                    "L": L,
                    "update": update,
                    "or_sweeps": or_sweeps,
                    "sweeps": sweeps,
                    "tau_int_m2": tau,
                    "tau_int_abs_m": float(est["abs_m"].tau_int[0]),
                    "tau_int_hop": float(est["hop"].tau_int[0]),
                    "tau_int_binder": float(est["binder"].tau_int[0]),
                    "seconds_per_sweep": per_sweep,
                    "seconds_per_independent_m2": 2 * tau * per_sweep,
                    "binder": float(est["binder"].mean[0]),
                    "binder_error": float(est["binder"].error_of_mean[0]),
                    "wall_seconds": time.perf_counter() - t0,
                }
                rows.append(row)
                label = update + (f"(or={or_sweeps})" if or_sweeps else "")
                print(
                    f"L={L:3d} {label:20s} sweeps {sweeps:8d}  tau_int: m2 {tau:8.1f}"
                    f"  |m| {row['tau_int_abs_m']:8.1f}  hop {row['tau_int_hop']:7.1f}"
                    f"  U {row['tau_int_binder']:8.1f}   {1e3 * per_sweep:7.3f} ms/sweep"
                    f"  {1e3 * row['seconds_per_independent_m2']:8.2f} ms/indep.  "
                    f"U = {row['binder']:.4f}({1e4 * row['binder_error']:.0f})"
                    f"  [{row['wall_seconds']:.0f} s]",
                    flush=True,
                )
    return rows


BINDER_BETAS = [0.66, 0.67, 0.675, 0.68, 0.685, 0.69, 0.70]
BINDER_SWEEPS = {8: 200_000, 16: 100_000, 32: 50_000}


def binder(scale: float) -> dict:
    """U(beta) for L = 8, 16, 32 and the pairwise crossings."""
    out: dict = {"betas": BINDER_BETAS, "lam": LAM, "update": "combined", "sizes": {}}
    for L, sweeps in BINDER_SWEEPS.items():
        sweeps = max(1000, int(scale * sweeps))
        t0 = time.perf_counter()
        res = run_phi4(
            {"L": L, "betas": BINDER_BETAS, "lam": LAM, "update": "combined", "sweeps": sweeps,
             "thermalization": 5000, "seed": 2024}
        )  # fmt: skip
        est = res["estimates"]
        out["sizes"][L] = {
            "sweeps": sweeps,
            "binder": est["binder"].mean.tolist(),
            "binder_error": est["binder"].error_of_mean.tolist(),
            "binder_tau_int": est["binder"].tau_int.tolist(),
            "m2": est["m2"].mean.tolist(),
            "m2_error": est["m2"].error_of_mean.tolist(),
            "chi": est["chi"].mean.tolist(),
            "wall_seconds": time.perf_counter() - t0,
        }
        vals = "  ".join(
            f"{u:.4f}({1e4 * e:.0f})"
            for u, e in zip(est["binder"].mean, est["binder"].error_of_mean, strict=True)
        )
        print(f"L={L:3d} sweeps {sweeps:7d}  U: {vals}  [{out['sizes'][L]['wall_seconds']:.0f} s]")
    sizes = sorted(out["sizes"])
    out["crossings"] = {}
    for a, b in itertools.pairwise(sizes):
        d = np.array(out["sizes"][b]["binder"]) - np.array(out["sizes"][a]["binder"])
        cross = [
            float(
                BINDER_BETAS[i] - d[i] * (BINDER_BETAS[i + 1] - BINDER_BETAS[i]) / (d[i + 1] - d[i])
            )
            for i in range(len(d) - 1)
            if d[i] * d[i + 1] <= 0 and d[i] != d[i + 1]
        ]
        out["crossings"][f"{a}-{b}"] = cross
        print(f"U_{b} - U_{a}: " + " ".join(f"{x:+.4f}" for x in d) + f"  crossing(s) at {cross}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply all run lengths")
    ap.add_argument("--json", default=None, help="write all figures to this JSON file")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip (1,2,3)")
    args = ap.parse_args()
    numba.set_num_threads(1)
    skip = {s for s in args.skip.split(",") if s}
    t0 = time.perf_counter()
    run_phi4({"L": 4, "betas": [0.5], "lam": 1.0, "sweeps": 10, "thermalization": 2})  # jit
    print(f"compile/load: {time.perf_counter() - t0:.1f} s", flush=True)
    out = {}
    if "1" not in skip:
        print("\n== 1. throughput (lam = 1, beta = 0.68) ==", flush=True)
        out["throughput"] = throughput()
    if "2" not in skip:
        print("\n== 2. autocorrelation of m^2 at lam = 1, beta = 0.68 ==", flush=True)
        out["autocorrelation"] = autocorrelation(args.scale)
    if "3" not in skip:
        print("\n== 3. Binder cumulant, lam = 1, combined update ==", flush=True)
        out["binder"] = binder(args.scale)
    out["total_seconds"] = time.perf_counter() - t0
    print(f"\ntotal {out['total_seconds']:.0f} s", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
