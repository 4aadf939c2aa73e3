"""Benchmarks of the 0+1D field Monte Carlo (rgpipe.mc.oscillator).

Prints four tables:

1. throughput of each update kernel at n_tau = 100 and 1000 (double well lam = 4,
   eta = 1.4, beta = 20): updates per second (HMC trajectories, Metropolis sweeps,
   reflection sweeps) and time per time slice;
2. tau_int of x^2 (and of <x>, C(beta/2)) in deep double wells with and without the
   reflection (tunnelling) move, with the deviation from the exact transfer-matrix
   values (a stuck chain reports a small tau_int but is wrong);
3. E0 and E1 - E0 from Monte Carlo at several lattice spacings a (fixed beta),
   extrapolated to a = 0 (c0 + c2 a^2 + c4 a^4) and compared with exact diagonalisation;
   the exact lattice values (transfer matrix) and their extrapolation are printed too;
4. the gap estimator over 32 independent seeds at two spacings: mean and rms of
   z = (MC - transfer matrix) / quoted error (bias and error calibration).

Usage: python benchmarks/bench_oscillator.py [--quick] [--only 1,2,3,4]
Timings are wall-clock on one thread; on a shared machine they are noisy.
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np

from rgpipe.mc.oscillator.driver import simulate
from rgpipe.mc.oscillator.fourier import cyclic_factor
from rgpipe.mc.oscillator.kernels import _hmc_trajectory, _metropolis_sweep, _reflect_sweep
from rgpipe.mc.rng import stream_states
from rgpipe.mc.systems import validate_job
from rgpipe.physics.oscillator import (
    double_well,
    extrapolate_continuum,
    potential_from_spec,
    well_frequency,
)
from rgpipe.physics.oscillator_exact import continuum_spectrum, continuum_thermal, lattice_exact

numba.set_num_threads(1)


def run_oscillator(job: dict) -> dict:
    """Simulate a job given by some of its options (validated, defaults filled)."""
    return simulate(validate_job({"system": "oscillator", **job}))


def _time(fn, min_seconds: float = 1.0) -> tuple[float, int]:
    """Call fn() repeatedly for about min_seconds; return (seconds per call, calls)."""
    fn()  # compile / warm up
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls, calls


def _kernels(n: int, beta: float, mass: float, steps: int = 10) -> dict:
    """Zero-argument callables running one update of each kind at n_tau = n."""
    pot = double_well(4.0, 1.4)
    c = np.ascontiguousarray(pot.coeffs)
    omega = well_frequency(pot, mass)
    a = beta / n
    ka = mass / a
    x = np.full(n, 1.4) + 0.1 * np.random.default_rng(0).normal(size=n)
    s = stream_states(1, (1,), 1)[0]
    work = np.empty((6, n))
    fd, fo, fm = 2 * ka + a * mass * omega**2, -ka, np.sqrt(a * mass) * omega
    den, cp, z = cyclic_factor(n, fd, fo)
    eps_fa, eps_plain = np.pi / 2 / steps, 0.5 * np.sqrt(a / mass)
    return {
        f"hmc (FA, {steps} leapfrog steps)": lambda: _hmc_trajectory(
            x, c, ka, a, eps_fa, steps, True, fd, fo, fm, den, cp, z, s, work
        ),
        f"hmc (no FA, {steps} steps)": lambda: _hmc_trajectory(
            x, c, ka, a, eps_plain, steps, False, fd, fo, fm, den, cp, z, s, work
        ),
        "metropolis sweep": lambda: _metropolis_sweep(x, c, ka, a, np.sqrt(a / 2), s),
        "reflect sweep (SW embedding)": lambda: _reflect_sweep(x, ka, s),
    }


def throughput(quick: bool) -> None:
    """Table 1: kernel speed."""
    mass, beta = 1.0, 20.0
    print("\n== 1. update throughput (double well lam=4, eta=1.4, beta=20; one thread) ==")
    print(f"{'n_tau':>6} {'update':<28} {'updates/s':>12} {'ns per slice':>13}")
    for n in (100, 1000):
        for name, fn in _kernels(n, beta, mass).items():
            sec, _ = _time(fn, 0.3 if quick else 1.0)
            print(f"{n:>6} {name:<28} {1 / sec:>12.0f} {sec / n * 1e9:>13.1f}")
        job = {"potential": "double_well", "lam": 4.0, "eta": 1.4, "beta": beta, "n_tau": n}
        sweeps = 2000 if n == 1000 else 20000
        res = run_oscillator({**job, "sweeps": sweeps, "thermalization": 0, "seed": 1})
        m = res["meta"]
        print(
            f"{n:>6} {'driver hmc+reflect, measuring':<28} "
            f"{sweeps / m['seconds_measurement']:>12.0f} "
            f"{m['seconds_measurement'] / sweeps / n * 1e9:>13.1f}   "
            f"(analysis {m['seconds_total'] - m['seconds_measurement']:.2f} s)"
        )


def tunnelling(quick: bool) -> None:
    """Table 2: tau_int with and without the reflection move."""
    print("\n== 2. tunnelling: tau_int (in sweeps) with and without the reflection move ==")
    print("   z = (MC - exact) / error; a chain that never tunnels reports a small tau_int")
    print("   but fails the comparison (its Gamma-method error cannot see the missing tunnelling)")
    cases = [
        ({"potential": "double_well", "lam": 4.0, "eta": 1.4}, 16.0, 64),
        ({"potential": "double_well", "lam": 4.0, "eta": 1.6}, 60.0, 120),
    ]
    sweeps = 20000 if quick else 100000
    hdr = f"{'lam,eta,beta,N':<18} {'update':<20} {'tau x2':>8} {'tau x':>8} {'tau C':>8}"
    print(hdr + f" {'z x2':>7} {'z x':>8} {'z C(b/2)':>9} {'z gap':>7} {'s':>6}")
    for spec, beta, n in cases:
        ex = lattice_exact(potential_from_spec(spec), 1.0, beta, n)
        for update in ("hmc", "hmc+reflect", "metropolis", "metropolis+reflect"):
            t0 = time.perf_counter()
            # every measurement kept as a correlator row, so tau_int(C) is not binned away
            res = run_oscillator({**spec, "beta": beta, "n_tau": n, "sweeps": sweeps,
                                  "seed": 3, "update": update,
                                  "correlator_rows": sweeps})  # fmt: skip
            dt = time.perf_counter() - t0
            est = res["estimates"]
            cst = est["correlator"]
            tau_c = cst.tau_int[-1] * res["meta"]["correlator_bin"]
            z_x2 = (est["x2"].mean - ex.x2) / est["x2"].error_of_mean
            z_x = (est["x"].mean - ex.x) / est["x"].error_of_mean
            z_c = (cst.mean[-1] - ex.correlator[-1]) / cst.error_of_mean[-1]
            g = est["gap"]
            z_g = (g.mean - ex.gap) / g.error_of_mean if np.isfinite(g.error_of_mean) else np.nan
            label = f"{spec['lam']:g},{spec['eta']:g},{beta:g},{n}"
            print(
                f"{label:<18} {update:<20} {est['x2'].tau_int:>8.2f} {est['x'].tau_int:>8.2f} "
                f"{tau_c:>8.1f} {z_x2:>7.2f} {z_x:>8.1f} {z_c:>9.1f} {z_g:>7.1f} {dt:>6.1f}"
            )


def continuum(quick: bool) -> None:
    """Table 3: E0 and E1 - E0 extrapolated to a -> 0 against exact diagonalisation."""
    print("\n== 3. continuum extrapolation of E0 (virial energy at large beta) and E1 - E0 ==")
    setups = [
        ({"potential": "polynomial", "coeffs": [0.0, 0.0, 1.0, 0.0, 1.0]}, 12.0,
         [48, 64, 96, 128, 192]),
        ({"potential": "double_well", "lam": 4.0, "eta": 1.4}, 60.0,
         [300, 400, 600, 800, 1200]),
    ]  # fmt: skip
    sweeps = 10000 if quick else 100000
    for spec, beta, ns in setups:
        pot = potential_from_spec(spec)
        spec_ed = continuum_spectrum(pot, 1.0, 12)
        e0, gap = spec_ed.energies[0], spec_ed.energies[1] - spec_ed.energies[0]
        thermal = continuum_thermal(spec_ed, beta).energy
        name = pot.name + ("" if pot.name != "polynomial" else f" {pot.coeffs.tolist()}")
        print(f"\n{name}, beta = {beta:g}, {sweeps} sweeps per a (hmc+reflect)")
        print(f"  exact diagonalisation: E0 = {e0:.6f}, E1 - E0 = {gap:.6f}, "
              f"<H>(beta) - E0 = {thermal - e0:.2e}")  # fmt: skip
        print(f"  {'a':>8} {'N':>5} {'E (MC)':>18} {'E (TM)':>10} {'gap (MC)':>18} "
              f"{'gap (TM)':>10} {'tau E':>6} {'s':>6}")  # fmt: skip
        pe, pg, te, tg = [], [], [], []
        total = 0.0
        for n in ns:
            a = beta / n
            t0 = time.perf_counter()
            res = run_oscillator({**spec, "beta": beta, "n_tau": n, "sweeps": sweeps,
                                  "thermalization": 1000, "seed": 100 + n})  # fmt: skip
            dt = time.perf_counter() - t0
            total += dt
            ex = lattice_exact(pot, 1.0, beta, n)
            en, gp = res["estimates"]["energy"], res["estimates"]["gap"]
            pe.append((a, en.mean, en.error_of_mean))
            pg.append((a, gp.mean, gp.error_of_mean))
            te.append((a, ex.energy, 1e-6))
            tg.append((a, ex.gap, 1e-6))
            print(
                f"  {a:>8.4f} {n:>5} {en.mean:>10.6f}({en.error_of_mean:.1e}) {ex.energy:>10.6f} "
                f"{gp.mean:>10.6f}({gp.error_of_mean:.1e}) {ex.gap:>10.6f} {en.tau_int:>6.2f} "
                f"{dt:>6.1f}"
            )
        for label, pts, tpts, ref in (("E0", pe, te, e0), ("E1-E0", pg, tg, gap)):
            for powers in ((0, 2), (0, 2, 4)):
                fit = extrapolate_continuum(pts, powers)
                tfit = extrapolate_continuum(tpts, powers)
                print(
                    f"  {label:<6} a->0 {powers!s:<10} MC {fit.value:.6f} +- {fit.error:.6f} "
                    f"(chi2/dof {fit.chi2:.1f}/{fit.dof}; (MC-ED)/err = "
                    f"{(fit.value - ref) / fit.error:+.2f})   exact-lattice extrapolation "
                    f"{tfit.value:.6f} (- ED = {tfit.value - ref:+.1e})"
                )
        print(f"  Monte Carlo time for this table: {total:.0f} s")


def gap_bias(quick: bool) -> None:
    """Table 4: bias of the gap estimator over independent seeds against the transfer matrix."""
    print("\n== 4. gap estimator over independent seeds (double well lam=4, eta=1.4, beta=60) ==")
    print("   z = (gap - exact lattice gap) / quoted error; an unbiased estimator with right")
    print("   errors gives mean z = 0 +- 1/sqrt(seeds) and rms z = 1")
    seeds, sweeps = (8, 10000) if quick else (32, 40000)
    spec = {"potential": "double_well", "lam": 4.0, "eta": 1.4, "mass": 1.0, "beta": 60.0}
    print(f"{'n_tau':>6} {'seeds':>6} {'sweeps':>7} {'exact gap':>10} {'mean gap':>18} "
          f"{'mean z':>13} {'rms z':>6} {'window':>12}")  # fmt: skip
    for n_tau in (300, 600):
        ex = lattice_exact(potential_from_spec(spec), 1.0, spec["beta"], n_tau)
        g, z = [], []
        for seed in range(100, 100 + seeds):
            res = run_oscillator({**spec, "n_tau": n_tau, "sweeps": sweeps, "seed": seed})
            st = res["estimates"]["gap"]
            g.append(st.mean)
            z.append((st.mean - ex.gap) / st.error_of_mean)
        g, z = np.array(g), np.array(z)
        win = res["meta"]["gap_window"]
        print(
            f"{n_tau:6d} {seeds:6d} {sweeps:7d} {ex.gap:10.6f} "
            f"{g.mean():9.6f}({g.std(ddof=1) / np.sqrt(seeds):.6f}) "
            f"{z.mean():+6.2f}+-{1 / np.sqrt(seeds):.2f} {np.sqrt((z**2).mean()):6.2f} "
            f"[{win[0]:.2f}, {win[1]:.0f}]"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sweeps (a smoke run)")
    parser.add_argument("--only", default="1,2,3,4", help="comma-separated tables to run")
    args = parser.parse_args()
    print(f"bench_oscillator: cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} (1-min avg)")
    start = time.perf_counter()
    tables = {"1": throughput, "2": tunnelling, "3": continuum, "4": gap_bias}
    for key in args.only.split(","):
        tables[key.strip()](args.quick)
    print(f"\ntotal {time.perf_counter() - start:.0f} s; load now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
