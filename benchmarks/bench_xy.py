"""Benchmarks of the XY Monte Carlo (rgpipe.mc.xy); prints comparable figures, asserts nothing.

Sections (``--section``):

* ``speed``: updates per second of each elementary update at K = 1/0.893 for L = 32, 64,
  128 (Metropolis and over-relaxation: site updates/s; Wolff: flipped spins/s and
  clusters/s; combined: sweeps/s; measurement: sites/s).
* ``tau``: tau_int (in sweeps) of every estimate's series at K = 1/0.893 vs L for each
  update, the slowest observable, and the cost of one independent measurement
  (2 tau_int x seconds per sweep).
* ``bkt``: helicity modulus vs T for several L near T_BKT (combined update) and an
  informal Weber-Minnhagen check: for each T the one-parameter fit
  ``Upsilon_L = (2T/pi) [1 + 1/(2 ln L + C)]`` and its chi^2/dof (the fit is acceptable
  only near T_BKT = 0.89294(8), Hasenbusch 2005).

Single thread; timings are wall-clock on a possibly shared machine.

    python benchmarks/bench_xy.py [--section speed|tau|bkt|all] [--quick]
                                  [--bkt-sizes 8 16 32] [--bkt-sweeps 40000]
"""

from __future__ import annotations

import argparse
import math
import time

import numba
import numpy as np
from scipy.optimize import minimize_scalar

from rgpipe.mc.rng import stream_states
from rgpipe.mc.systems import validate_job
from rgpipe.mc.xy.chain import Chain
from rgpipe.mc.xy.driver import simulate

K_BKT = 1.0 / 0.893


def run_xy(job: dict) -> dict:
    """Simulate a job given by some of its options (validated, defaults filled)."""
    return simulate(validate_job({"system": "xy", **job}))


def bench_speed(sizes: list[int], seconds: float) -> None:
    """Updates per second of each kernel on a thermalised L x L lattice at K_BKT."""
    print(f"\n== speed at K = 1/0.893 (each figure from >= {seconds:.1f} s of work) ==")
    print(
        f"{'L':>5} {'metropolis':>14} {'overrelax':>14} {'wolff spins':>14} "
        f"{'wolff clust':>12} {'combined':>12} {'measure':>14}"
    )
    print(
        f"{'':>5} {'site upd/s':>14} {'site upd/s':>14} {'flips/s':>14} "
        f"{'clusters/s':>12} {'sweeps/s':>12} {'sites/s':>14}"
    )
    for L in sizes:
        n = L * L
        chain = Chain(L, "square", K_BKT, stream_states(1, (L,), 1)[0], "hot")
        chain.run(200, 1.0, 4, 1, 1)  # compile and roughly thermalise
        step = 1.0

        def timed(args: tuple, chain: Chain = chain) -> tuple[float, int, np.ndarray]:
            reps, total = 1, 0.0
            while True:
                before = chain.counters.copy()
                t0 = time.perf_counter()
                chain.run(reps, *args)
                dt = time.perf_counter() - t0
                total += dt
                if total >= seconds:
                    return dt, reps, chain.counters - before
                reps *= 2

        dt, reps, _ = timed((step, 0, 1, 0))
        metro = reps * n / dt
        dt, reps, _ = timed((step, 0, 0, 1))
        orx = reps * n / dt
        dt, reps, d = timed((step, 10, 0, 0))
        flips, clusters = d[2] / dt, d[3] / dt
        size = d[2] / d[3]
        n_cl = max(1, round(n / size))
        dt, reps, _ = timed((step, n_cl, 1, 1))
        comb = reps / dt
        dt, reps, _ = timed((step, 0, 0, 0, 1))
        meas = reps * n / dt
        print(
            f"{L:>5} {metro:14.3e} {orx:14.3e} {flips:14.3e} {clusters:12.3e} "
            f"{comb:12.3e} {meas:14.3e}   (<cluster> = {size:.0f} spins, "
            f"{n_cl} clusters/sweep)"
        )


def bench_tau(sizes: list[int], sweeps: dict[str, int], seed: int) -> None:
    """tau_int of the estimates' series at K_BKT for each update and size."""
    print("\n== tau_int (sweeps) at K = 1/0.893 ==")
    names = ["energy", "m2", "helicity", "vortex_density"]
    print(
        f"{'update':>11} {'L':>4} {'sweeps':>7} "
        + " ".join(f"{n:>14}" for n in names)
        + f" {'slowest':>9} {'s/sweep':>9} {'s/indep':>9}"
    )
    for update in ("metropolis", "overrelax", "wolff", "combined"):
        for L in sizes:
            n_sw = sweeps[update] * L // sizes[0]
            t0 = time.perf_counter()
            res = run_xy(
                {
                    "L": L,
                    "couplings": [K_BKT],
                    "update": update,
                    "sweeps": n_sw,
                    "thermalization": max(2000, n_sw // 10),
                    "seed": seed,
                }
            )
            secs = time.perf_counter() - t0
            per_sweep = secs / (n_sw + max(2000, n_sw // 10))
            taus = {n: float(res["estimates"][n].tau_int[0]) for n in names}
            slow = max(taus, key=taus.get)
            cells = " ".join(f"{taus[n]:14.2f}" for n in names)
            print(
                f"{update:>11} {L:>4} {n_sw:>7} {cells} {slow:>9} {per_sweep:9.2e} "
                f"{2 * taus[slow] * per_sweep:9.2e}"
            )


def weber_minnhagen(sizes: np.ndarray, ups: np.ndarray, err: np.ndarray, t: float):
    """Best C and chi^2/dof of Upsilon_L = (2T/pi)(1 + 1/(2 ln L + C)) at temperature t."""

    def chi2(c: float) -> float:
        model = (2 * t / math.pi) * (1 + 1 / (2 * np.log(sizes) + c))
        return float(np.sum(((ups - model) / err) ** 2))

    best = minimize_scalar(
        chi2, bounds=(-2 * math.log(sizes.min()) + 0.05, 100.0), method="bounded"
    )
    return best.x, best.fun / (len(sizes) - 1)


def bench_bkt(sizes: list[int], temps: list[float], sweeps: int, seed: int) -> None:
    """Helicity modulus vs T and an informal Weber-Minnhagen scan."""
    print(f"\n== helicity modulus near T_BKT (combined update, {sweeps} sweeps per point) ==")
    couplings = [1.0 / t for t in temps]
    ups = np.zeros((len(sizes), len(temps)))
    err = np.zeros_like(ups)
    for i, L in enumerate(sizes):
        t0 = time.perf_counter()
        res = run_xy(
            {
                "L": L,
                "couplings": couplings,
                "update": "combined",
                "sweeps": sweeps,
                "thermalization": max(1000, sweeps // 10),
                "seed": seed,
            }
        )
        st = res["estimates"]["helicity"]
        ups[i], err[i] = st.mean, st.error_of_mean
        stx, sty = res["estimates"]["helicity_x"], res["estimates"]["helicity_y"]
        print(
            f"L = {L} ({time.perf_counter() - t0:.1f} s): T, Upsilon +- err, "
            f"Upsilon_x, Upsilon_y, tau_int, 2T/pi"
        )
        for j, t in enumerate(temps):
            print(
                f"   {t:.3f}  {ups[i, j]:.5f} +- {err[i, j]:.5f}   {stx.mean[j]:.5f} "
                f"{sty.mean[j]:.5f}  {st.tau_int[j]:5.2f}  {2 * t / math.pi:.5f}"
            )
    print("Weber-Minnhagen scan (informal): T, best C, chi^2/dof")
    arr = np.array(sizes, dtype=float)
    scan = []
    for j, t in enumerate(temps):
        c, chi = weber_minnhagen(arr, ups[:, j], err[:, j], t)
        scan.append(chi)
        print(f"   {t:.3f}  C = {c:7.3f}  chi2/dof = {chi:8.2f}")
    print(
        f"   smallest chi^2/dof at T = {temps[int(np.argmin(scan))]:.3f} "
        "(a crude T_BKT; the lead's stage should interpolate and propagate errors)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--section", choices=["speed", "tau", "bkt", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke test)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--bkt-sizes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--bkt-sweeps", type=int, default=40000)
    args = parser.parse_args()
    numba.set_num_threads(1)
    q = args.quick
    if args.section in ("speed", "all"):
        bench_speed([32, 64, 128], 0.3 if q else 1.5)
    if args.section in ("tau", "all"):
        base = {"metropolis": 20000, "overrelax": 20000, "wolff": 10000, "combined": 10000}
        if q:
            base = {k: v // 10 for k, v in base.items()}
        bench_tau([16, 32], base, args.seed)
    if args.section in ("bkt", "all"):
        temps = [0.85, 0.87, 0.89, 0.91, 0.93, 0.95]
        bench_bkt(args.bkt_sizes, temps, 2000 if q else args.bkt_sweeps, args.seed)


if __name__ == "__main__":
    main()
