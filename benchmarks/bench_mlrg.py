"""MLRG benchmark: epoch time, time per model, and J_c / nu per representation and loss.

Usage (one thread; the figures depend on the machine load, which is printed)::

    python benchmarks/bench_mlrg.py                       # A1 (KL, CD, monotone) + A1+E (KL)
    python benchmarks/bench_mlrg.py --reps A1 --seeds 16
    python benchmarks/bench_mlrg.py --reps 2A1+E --seeds 2 --epochs 2000
    python benchmarks/bench_mlrg.py --reference           # + KL-optimal maps (slow for A1+E)
    python benchmarks/bench_mlrg.py --reps A1 --losses kl --targets flow --seeds 16 \
        --blocks plaquette,2x2,3x2,4x2,3x3 --reference     # the cluster ladder

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
import os
import time

import numpy as np
import torch

from rgpipe.learn.mlrg import J_C_EXACT, ensemble_statistics, train_ensemble

PER_REP = {
    "A1": {"hidden": [32, 32]},
    "A1+E": {"hidden": [64, 64], "epochs": 4000},
    "2A1+E": {"hidden": [64, 64], "epochs": 2000, "batch": 32},
}
"""Per-representation settings used unless overridden on the command line."""


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
    for rep in reps:
        t0 = time.perf_counter()
        if rep == "A1":
            js, slope = a1_optimal_fixed_point()
            nu = np.log(np.sqrt(2)) / np.log(slope)
            print(f"  optimal map {rep}: J* = {js:.6f}, dJ'/dJ = {slope:.5f}, nu = {nu:.4f}")
            for block in blocks:
                if block == "plaquette":
                    continue
                t0 = time.perf_counter()
                (js,), ((slope,),) = OptimalMap("A1", block=block).fixed_point(np.array([0.78]))
                nu = np.log(np.sqrt(2)) / np.log(slope)
                print(
                    f"  optimal map A1 on cluster {block}: J* = {js:.6f} "
                    f"({100 * (js / J_C_EXACT - 1):+.2f}%), dJ'/dJ = {slope:.5f}, nu = {nu:.4f} "
                    f"[{time.perf_counter() - t0:.0f} s]"
                )
            continue
        if rep not in guesses:
            print(f"  optimal map {rep}: no starting guess for the fixed point, skipped")
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", default="A1,A1+E", help="comma-separated representations")
    ap.add_argument("--losses", default="kl,cd", help="comma-separated losses (kl, cd)")
    ap.add_argument("--targets", default="flow,monotone", help="flow, monotone")
    ap.add_argument(
        "--blocks",
        default="plaquette",
        help="comma-separated blocks: plaquette and/or clusters NxM (A1 exact KL only)",
    )
    ap.add_argument("--seeds", type=int, default=8, help="models per configuration")
    ap.add_argument("--epochs", type=int, default=None, help="override the epochs")
    ap.add_argument("--full", action="store_true", help="every rep x loss x target combination")
    ap.add_argument("--reference", action="store_true", help="also the KL-optimal maps")
    args = ap.parse_args()
    torch.set_num_threads(1)
    overrides = {} if args.epochs is None else {"epochs": args.epochs}
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
                        if block == "plaquette" or (rep == "A1" and loss == "kl"):
                            configs.append((rep, loss, target, block))
    print(f"MLRG benchmark, torch {torch.__version__}, 1 thread, {load()}")
    print(f"exact J_c = {J_C_EXACT:.6f}, exact nu = 1")
    header = (
        f"{'rep':6} {'block':9} {'loss':4} {'target':8} {'epochs':>6} {'ms/epoch(batch)':>15} "
        f"{'ms/epoch/model':>14} {'s/model':>8}  J_c | J*_0 | nu | final loss | acc"
    )
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
