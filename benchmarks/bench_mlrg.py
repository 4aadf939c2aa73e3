"""MLRG benchmark: epoch time, time per model, and J_c / nu per representation and loss.

Usage (one thread; the figures depend on the machine load, which is printed)::

    python benchmarks/bench_mlrg.py                       # A1 (KL, CD, monotone) + A1+E (KL)
    python benchmarks/bench_mlrg.py --reps A1 --seeds 16
    python benchmarks/bench_mlrg.py --reps 2A1+E --seeds 2 --epochs 2000
    python benchmarks/bench_mlrg.py --reference           # + KL-optimal maps (slow for A1+E)
    python benchmarks/bench_mlrg.py --reps A1 --losses kl --targets flow --seeds 16 \
        --blocks plaquette,2x2,3x2,4x2,3x3 --reference     # the cluster ladder
    python benchmarks/bench_mlrg.py --bulk 1,2,3,4,5      # its infinite-cluster limit
    python benchmarks/bench_mlrg.py --reps A1+E --blocks 2x2,3x2,4x2 --reference-only
    python benchmarks/bench_mlrg.py --reps A1 --losses cd --targets flow --set k_coarse=8
    python benchmarks/bench_mlrg.py --kl-timing --reps A1+E --blocks plaquette,4x2,3x3,4x3

Each configuration trains ``--seeds`` independently seeded models with
:func:`rgpipe.learn.mlrg.train_ensemble` (vectorised ``models_per_batch`` at a time) and prints

* epoch time: wall time of one epoch of the whole vectorised batch, and per model;
* time per model: training + analysis wall time divided by the number of models;
* J_c (Ising-axis crossing), J*_0 (first component of the critical fixed point) and nu as
  mean +- error of the mean (std) across seeds, with the bias against the exact
  J_c = 0.764285 and nu = 1;
* the final training loss (mean over the last 50 epochs and over models).

Anchor figures (issue 3, this machine kind, one thread): dlrg A1 CD 64-84 ms per epoch and
about 5 minutes per model, J_c 0.806 +- 0.005; dlrg A1+E about 17 s per epoch.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np
import torch
import yaml

from rgpipe.learn.mlrg.ensemble import ensemble_statistics, train_ensemble
from rgpipe.learn.mlrg.exact import J_C_EXACT, SCALE_FACTOR

PER_REP = {
    "A1": {"hidden": [32, 32]},
    "A1+E": {"hidden": [64, 64], "epochs": 4000},
    "2A1+E": {"hidden": [64, 64], "epochs": 2000, "batch": 32},
}
"""Per-representation settings used unless overridden on the command line."""


def nu_of(slope: float) -> float:
    """nu = ln b / ln lambda for the relevant eigenvalue lambda of one RG step (b = sqrt 2)."""
    return float(np.log(SCALE_FACTOR) / np.log(slope))


def load() -> str:
    """Load averages (1, 5, 15 min) and the number of cores."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def run(rep: str, loss: str, target: str, block: str, seeds: int, overrides: dict) -> dict:
    """Train one configuration and return a row of figures."""
    params = {"representation": rep, "loss": loss, "target": target, "block": block}
    params.update(PER_REP.get(rep, {}))
    params.update(overrides)
    params["models_per_batch"] = min(params.get("models_per_batch", 16), seeds)
    t0 = time.perf_counter()
    res = train_ensemble(params, list(range(seeds)))
    wall = time.perf_counter() - t0
    models = res["models"]
    epochs = res["params"]["epochs"]
    batch = res["params"]["models_per_batch"]
    train_model = float(np.mean([m["train_seconds"] for m in models]))
    stats = ensemble_statistics(res)
    return {
        "rep": rep,
        "loss": loss,
        "target": target,
        "n": len(models),
        "epochs": epochs,
        "epoch_ms_batch": 1e3 * train_model * batch / epochs,
        "epoch_ms_model": 1e3 * train_model / epochs,
        "s_per_model": wall / len(models),
        "stats": stats,
        "final_loss": float(np.mean([m["loss"][-50:].mean() for m in models])),
        "acceptance": float(np.mean([m["hmc_acceptance"][-50:].mean() for m in models])),
        "batch": batch,
    }


def fmt(s: dict) -> str:
    """mean +- error (std) for one estimate."""
    return f"{s['mean']:.5f} +- {s['error_of_mean']:.5f} (sd {s['std']:.5f}, n={s['n_valid']})"


def reference(reps: list[str], blocks: list[str]) -> None:
    """Fixed point, nu and Ising-axis crossing of the KL-optimal map (infinite-capacity limit)."""
    from rgpipe.learn.mlrg.critical import classify, ising_axis_crossing
    from rgpipe.learn.mlrg.exact import OptimalFlow, OptimalMap, a1_optimal_fixed_point
    from rgpipe.learn.mlrg.representation import representation

    guesses = {"A1+E": [1.31, 0.35, -0.58, -0.29, -0.03]}  # default (midpoint) frame
    cluster_guesses = {"A1+E": [1.09, 0.38, -0.46, -0.25, 0.05]}
    for rep in reps:
        t0 = time.perf_counter()
        if rep == "A1":
            js, slope = a1_optimal_fixed_point()
            nu = nu_of(slope)
            print(f"  optimal map {rep}: J* = {js:.6f}, dJ'/dJ = {slope:.5f}, nu = {nu:.4f}")
            for block in blocks:
                if block == "plaquette":
                    continue
                t0 = time.perf_counter()
                (js,), ((slope,),) = OptimalMap("A1", block=block).fixed_point(np.array([0.78]))
                nu = nu_of(slope)
                print(
                    f"  optimal map A1 on cluster {block}: J* = {js:.6f} "
                    f"({100 * (js / J_C_EXACT - 1):+.2f}%), dJ'/dJ = {slope:.5f}, nu = {nu:.4f} "
                    f"[{time.perf_counter() - t0:.0f} s]"
                )
            continue
        if rep not in guesses:
            print(f"  optimal map {rep}: no starting guess for the fixed point, skipped")
            continue
        for block in blocks:
            if block != "plaquette":
                cluster_reference(rep, block, np.array(cluster_guesses[rep]))
        if "plaquette" not in blocks:
            continue
        opt = OptimalMap(rep)
        Js, M = opt.fixed_point(np.array(guesses[rep]))
        fp = classify(Js, M, 0.0)
        jc, dist = ising_axis_crossing(
            OptimalFlow(rep),
            [fp],
            0.2,
            1.0,
            n_grid=9,
            n_steps=16,
            n_bisect=12,
            gauge=representation(rep).gauge_matrices(),
        )
        print(
            f"  optimal map {rep}: J* = {np.round(Js, 5).tolist()}, |lambda| = "
            f"{np.round(np.abs(fp.eigenvalues), 4).tolist()}, nu = {fp.nu:.4f}, Ising-axis "
            f"crossing J_c = {jc[0]:.4f} (closest approach {dist[0]:.1e}) "
            f"[{time.perf_counter() - t0:.0f} s]"
        )


def cluster_reference(rep: str, block: str, guess: np.ndarray) -> None:
    """Critical fixed point, nu and Ising-axis crossing of a representation's optimal map
    on a cluster (:mod:`rgpipe.learn.mlrg.vertex`), the crossing by bisection on the
    phase reached by iterating the map (:meth:`OptimalMap.axis_crossing`)."""
    from rgpipe.learn.mlrg.exact import OptimalMap

    t0 = time.perf_counter()
    opt = OptimalMap(rep, block=block)
    Js, M = opt.fixed_point(guess)
    lam = float(np.max(np.abs(np.linalg.eigvals(M))))
    nu = nu_of(lam)
    jc = opt.axis_crossing(0.55, 1.1, tol=1e-5)
    print(
        f"  optimal map {rep} on cluster {block}: J* = {np.round(Js, 4).tolist()}, lambda = "
        f"{lam:.4f}, nu = {nu:.4f}, Ising-axis crossing J_c = {jc:.5f} "
        f"({100 * (jc / J_C_EXACT - 1):+.3f}%) [{time.perf_counter() - t0:.0f} s]",
        flush=True,
    )


def bulk_fixed_point(n: int) -> tuple[float, float]:
    """Fixed point J* and slope dJ'/dJ of the bulk-KL map estimated from n x n clusters.

    The total KL of an N x M cluster is N M k + (N + M) k_edge + k_corner + corrections that
    fall with the size; the mixed second difference
    ``KL(n+1, n+1) - KL(n+1, n) - KL(n, n+1) + KL(n, n)`` keeps the bulk density k of the
    infinite lattices.  Its minimiser J'(J) is the one-coupling projection of the whole
    lattice, whose fixed point the cluster ladder tends to as n grows.
    """
    from scipy.optimize import brentq, minimize_scalar

    from rgpipe.learn.mlrg.clusters import ClusterKL

    terms = [((n + 1, n + 1), 1.0), ((n + 1, n), -1.0), ((n, n + 1), -1.0), ((n, n), 1.0)]
    kls = [(ClusterKL(*shape), sign) for shape, sign in terms]

    def density(J: float, Jp: float) -> float:
        j, jp = torch.tensor([J], dtype=torch.float64), torch.tensor([Jp], dtype=torch.float64)
        return float(sum(sign * kl(j, jp) * kl.n_plaquettes for kl, sign in kls))

    def best(J: float) -> float:
        res = minimize_scalar(
            lambda x: density(J, x), bounds=(0.3, 1.5), method="bounded", options={"xatol": 1e-11}
        )
        return float(res.x)

    js = brentq(lambda j: best(j) - j, 0.6, 0.9, xtol=1e-9)
    return js, (best(js + 1e-4) - best(js - 1e-4)) / 2e-4


def bulk(ns: list[int]) -> None:
    """Print :func:`bulk_fixed_point` for each n: the infinite-cluster limit of the A1 ladder."""
    for n in ns:
        t0 = time.perf_counter()
        js, slope = bulk_fixed_point(n)
        nu = nu_of(slope)
        print(
            f"  bulk KL from clusters {n + 1}x{n + 1}..{n}x{n}: J* = {js:.5f} "
            f"({100 * (js / J_C_EXACT - 1):+.2f}%), dJ'/dJ = {slope:.4f}, nu = {nu:.3f} "
            f"[{time.perf_counter() - t0:.0f} s]",
            flush=True,
        )


def plaquette_moments(K: float, L: int, sweeps: int, seed: int) -> np.ndarray:
    """(3, 2) mean and error of u (nearest neighbours), w (diagonal) and q (four spins) on
    the plaquettes of the square-lattice Ising model at K, from Wolff MC on an L x L torus
    (batch means over 40 batches; one sweep ~ L^2 flipped spins)."""
    from rgpipe.mc.ising.samplers import Wolff
    from rgpipe.mc.rng import stream_key, stream_states
    from rgpipe.physics.lattice import make_lattice

    lat = make_lattice("square", L)
    states = stream_states(seed, (stream_key("bulk-check", repr(K)),), 1)
    spins = np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), size=lat.n_sites)
    sampler = Wolff(lat, spins, K, states)
    sampler.calibrate(200)
    series = np.empty((sweeps, 3))
    for i in range(sweeps):
        sampler.sweep(1)
        s = sampler.spins.reshape(L, L).astype(np.int64)
        right, down = np.roll(s, -1, 1), np.roll(s, -1, 0)
        diag = np.roll(right, -1, 0)
        series[i] = (
            0.5 * ((s * right).mean() + (s * down).mean()),
            0.5 * ((s * diag).mean() + (right * down).mean()),
            (s * right * down * diag).mean(),
        )
    batches = series[: sweeps // 40 * 40].reshape(40, -1, 3).mean(axis=1)
    return np.stack([series.mean(0), batches.std(0, ddof=1) / np.sqrt(40)], axis=1)


def bulk_moment_check(js: list[float], L: int = 128, sweeps: int = 4000) -> None:
    """The infinite-lattice one-coupling fixed point, independently of the clusters.

    Minimising the KL of the infinite lattices over J' matches one moment:
    E_fine[S tanh(J' S)] = E_coarse[S tanh(J' S)] with S the sum of a black plaquette's four
    spins.  Under the coarse model the right side is 4 <corner midpoint> of the Lieb lattice
    at J' = 2 tanh(2J') (1 + u(K(J'))); the left side needs the plaquette distribution of
    the square lattice at K(J) (tanh K = tanh^2 J): P(|S| = 4) = (1 + 4u + 2w + q) / 8,
    P(|S| = 2) = (1 - q) / 2.  At a fixed point J' = J this reduces to
    g(J) = (1 + 4u + 2w + q) / (1 + tanh^2 2J) - (1 + 2u + q) = 0, evaluated with u, w, q
    from Wolff MC (u also against Onsager's exact value).
    """
    from rgpipe.learn.mlrg.exact import decimated_coupling
    from rgpipe.physics.ising_exact import onsager_energy

    rows = []
    for J in js:
        K = float(decimated_coupling(J))
        (u, du), (w, dw), (q, dq) = plaquette_moments(K, L, sweeps, seed=7)
        t2 = np.tanh(2 * J) ** 2
        g = (1 + 4 * u + 2 * w + q) / (1 + t2) - (1 + 2 * u + q)
        dg = np.hypot(np.hypot(du * (4 / (1 + t2) - 2), 2 * dw / (1 + t2)), dq * (t2 / (1 + t2)))
        rows.append((J, g, dg))
        exact_u = -0.5 * onsager_energy(K)
        print(
            f"  J = {J:.4f} (K = {K:.5f}): u = {u:.5f} +- {du:.5f} (Onsager {exact_u:.5f}),"
            f" w = {w:.5f}, q = {q:.5f}; g = {g:+.5f} +- {dg:.5f}",
            flush=True,
        )
    for (j0, g0, e0), (j1, g1, e1) in itertools.pairwise(rows):
        if g0 < 0 <= g1:
            root = j0 + (j1 - j0) * g0 / (g0 - g1)
            err = (j1 - j0) * np.hypot(e0, e1) / (g1 - g0)
            print(
                f"  infinite-lattice fixed point J* = {root:.4f} +- {err:.4f} "
                f"({100 * (root / J_C_EXACT - 1):+.2f}%)"
            )


def kl_timing(rep_name: str, blocks: list[str], pairs: int = 32, reps: int = 20) -> None:
    """Wall time of the exact KL of ``pairs`` coupling pairs with its backward pass (float64
    and float32, one thread), per block: the cost of one training batch's loss."""
    from rgpipe.learn.mlrg.clusters import exact_loss
    from rgpipe.learn.mlrg.representation import representation

    rep = representation(rep_name, "midpoint")
    gen = torch.Generator().manual_seed(0)
    J = 0.4 * torch.randn(pairs, rep.n_couplings, generator=gen, dtype=torch.float64)
    Jp0 = J + 0.1 * torch.randn(pairs, rep.n_couplings, generator=gen, dtype=torch.float64)
    for block in blocks:
        row = []
        for dtype in (torch.float64, torch.float32):
            kl = exact_loss(rep, block, dtype=dtype)
            Jp = Jp0.to(dtype).clone().requires_grad_(True)

            def once(kl=kl, Jp=Jp, dtype=dtype) -> None:
                kl(J.to(dtype), Jp).sum().backward()

            once()
            t = time.perf_counter()
            for _ in range(reps):
                once()
            row.append(1000 * (time.perf_counter() - t) / reps)
        print(
            f"  {rep_name} {block:9}: KL + backward of {pairs} pairs {row[0]:8.2f} ms (float64), "
            f"{row[1]:8.2f} ms (float32)",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", default="A1,A1+E", help="comma-separated representations")
    ap.add_argument("--losses", default="kl,cd", help="comma-separated losses (kl, cd)")
    ap.add_argument("--targets", default="flow,monotone", help="flow, monotone")
    ap.add_argument(
        "--blocks",
        default="plaquette",
        help="comma-separated blocks: plaquette and/or clusters NxM (exact KL only)",
    )
    ap.add_argument("--seeds", type=int, default=8, help="models per configuration")
    ap.add_argument("--epochs", type=int, default=None, help="override the epochs")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="hyper-parameter override (repeatable), e.g. --set k_coarse=8; VALUE read as YAML",
    )
    ap.add_argument("--full", action="store_true", help="every rep x loss x target combination")
    ap.add_argument("--reference", action="store_true", help="also the KL-optimal maps")
    ap.add_argument(
        "--reference-only", action="store_true", help="only the KL-optimal maps (no training)"
    )
    ap.add_argument(
        "--bulk",
        default="",
        help="comma-separated n: infinite-cluster limit of the A1 ladder from the clusters "
        "n x n .. (n+1) x (n+1) (only this is computed)",
    )
    ap.add_argument(
        "--kl-timing",
        action="store_true",
        help="only time the exact KL with its backward pass per representation and block",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.kl_timing:
        print(f"exact-KL timing, torch {torch.__version__}, 1 thread, {load()}")
        for rep in args.reps.split(","):
            kl_timing(rep.strip(), [b.strip() for b in args.blocks.split(",")])
        return
    if args.bulk:
        print(f"A1 bulk limit, exact J_c = {J_C_EXACT:.6f}, exact nu = 1")
        bulk([int(n) for n in args.bulk.split(",")])
        print("independent check, moment matching on the infinite lattice (L = 128 MC):")
        bulk_moment_check([0.72, 0.728, 0.732, 0.74])
        return
    overrides = {} if args.epochs is None else {"epochs": args.epochs}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    reps = [r.strip() for r in args.reps.split(",")]
    losses = args.losses.split(",")
    targets = args.targets.split(",")
    blocks = [b.strip() for b in args.blocks.split(",")]
    configs = []
    for rep in reps:
        for loss in losses:
            for target in targets:
                # default: every variant for A1, the KL flow only for larger representations
                if args.full or rep == "A1" or (loss == "kl" and target == "flow"):
                    if loss == "cd" and target == "monotone" and not args.full:
                        continue
                    for block in blocks:
                        if block == "plaquette" or loss == "kl":
                            configs.append((rep, loss, target, block))
    print(f"MLRG benchmark, torch {torch.__version__}, 1 thread, {load()}")
    print(f"exact J_c = {J_C_EXACT:.6f}, exact nu = 1")
    header = (
        f"{'rep':6} {'block':9} {'loss':4} {'target':8} {'epochs':>6} {'ms/epoch(batch)':>15} "
        f"{'ms/epoch/model':>14} {'s/model':>8}  J_c | J*_0 | nu | final loss | acc"
    )
    if args.reference_only:
        configs, args.reference = [], True
    print(header)
    for rep, loss, target, block in configs:
        row = run(rep, loss, target, block, args.seeds, overrides)
        st = row["stats"]
        print(
            f"{rep:6} {block:9} {loss:4} {target:8} {row['epochs']:6d} "
            f"{row['epoch_ms_batch']:15.2f} "
            f"{row['epoch_ms_model']:14.2f} {row['s_per_model']:8.2f}\n"
            f"    J_c  {fmt(st['J_c'])}  bias {100 * st['J_c']['relative_bias']:+.2f}%\n"
            f"    J*_0 {fmt(st['J_star0'])}  bias {100 * st['J_star0']['relative_bias']:+.2f}%\n"
            f"    nu   {fmt(st['nu'])}\n"
            f"    loss {row['final_loss']:.5g}   HMC acceptance {row['acceptance']:.2f}   "
            f"(models per batch {row['batch']}; {load()})",
            flush=True,
        )
    if args.reference:
        print("KL-optimal maps (what an exact-KL network of unlimited capacity converges to):")
        reference(reps, blocks)


if __name__ == "__main__":
    main()
