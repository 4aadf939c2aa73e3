"""Distributed training throughput: MPI ensembles and DDP steps on 1 vs N ranks.

Runs ``python -m rgpipe train mlrg`` as a user would (alone and under ``mpiexec -n N``)
and prints

1. ensemble throughput: models trained per second of wall time (imports, analysis and
   the HDF5 write included) and the speed-up of N ranks over 1;
2. data-parallel (DDP) step time: milliseconds per epoch of one model group with its
   batch of coupling chains sharded over the ranks (the in-file training time divided by
   the epochs, so start-up is excluded).

Usage:  python benchmarks/bench_parallel.py [--ranks 2] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np


def run(ranks: int, args: list[str], out: Path) -> float:
    """Wall time (s) of one training command."""
    cmd = [sys.executable, "-m", "rgpipe", "train", "mlrg", *args, "--quiet", "--out", str(out)]
    if ranks > 1:
        mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent))
        cmd = [mpiexec, "-n", str(ranks), *cmd, "--expect-ranks", str(ranks)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    epochs = 300 if a.quick else 1500
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores; epochs {epochs}")
    tmp = Path(tempfile.mkdtemp())
    ens = ["--n-models", "64", "--models-per-batch", "8", "--epochs", str(epochs)]
    print("# ensemble mode, A1 exact KL, 64 models in 8 vectorised groups of 8")
    base = None
    for r in (1, a.ranks):
        wall = run(r, ens, tmp / f"ens{r}.h5")
        rate = 64 / wall
        base = base or rate
        print(f"ranks={r}: wall {wall:7.2f} s, {rate:6.2f} models/s, speed-up {rate / base:4.2f}")
    print("# ddp mode, A1 contrastive loss, 4 models, batch 64 chains sharded over the ranks")
    ddp = [
        "--mode",
        "ddp",
        "--loss",
        "cd",
        "--n-models",
        "4",
        "--batch",
        "64",
        "--epochs",
        str(epochs // 3),
    ]
    base = None
    for r in (1, a.ranks):
        run(r, ddp, tmp / f"ddp{r}.h5")
        with h5py.File(tmp / f"ddp{r}.h5") as fh:
            train = float(np.sum(fh["provenance/train_seconds"][()]))
            n_epochs = fh["loss/value"].shape[1]
        ms = 1e3 * train / n_epochs
        base = base or ms
        print(f"ranks={r}: {ms:7.2f} ms per epoch (group of 4 models), speed-up {base / ms:4.2f}")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
