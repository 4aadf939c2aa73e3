"""Where a trained MLRG ensemble's map departs from the KL-optimal map, and what it costs J_c.

Usage::

    python benchmarks/mlrg_path_error.py TRAIN.h5 --jc 0.76659 --guess 1.07 0.37 -0.44 -0.21 0.08

For the representation and block of a training file (``python -m rgpipe train mlrg``), the
KL-optimal map (:class:`rgpipe.learn.mlrg.exact.OptimalMap`) is followed from the Ising-axis
point (J_c, 0, ..., 0) of its own crossing (``--jc``; computed by bisection when omitted,
several minutes) towards its critical fixed point J* (Newton from ``--guess``).  At every point
of that path and at J*, each model's gauge-fixed map F (:mod:`rgpipe.learn.mlrg.gauge`) is
compared with the optimal map's canonical copy:

* ``u.delta``: the error projected on the relevant left eigenvector u of the optimal map at J*
  (normalised to u.r = 1): a systematic u.delta at J* moves the learned fixed point by
  u.delta / (1 - lambda) along the relevant direction, and with it the critical surface;
* ``rms |delta|``: the size of the error over the models;
* ``excess KL``: KL(J, F(J)) - KL(J, J'_opt(J)) per plaquette, what the training loss sees
  (each with the gauge copy of the output that fits J best).

Per model it prints the learned J_c's departure from the optimal crossing, and across models
the correlation of that departure with u.delta at every point (which part of the path sets
the seed spread).  Figures from this script are recorded in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import h5py
import numpy as np
import torch

from rgpipe.learn.mlrg.critical_file import read_training
from rgpipe.learn.mlrg.exact import J_C_EXACT, OptimalMap
from rgpipe.learn.mlrg.gauge import canonicalise
from rgpipe.learn.mlrg.train import model_from_weights, rg_map


def canonical_copy(J: np.ndarray, mats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(canonical copy of J (n,), the gauge matrix (n, n) that gives it)."""
    c = canonicalise(torch.as_tensor(J), torch.as_tensor(mats)).numpy()
    for A in mats:
        if np.allclose(A @ J, c, atol=1e-12):
            return c, A
    raise AssertionError("canonical copy outside the orbit")


def relevant_left_vector(jac: np.ndarray) -> tuple[float, np.ndarray]:
    """(largest real eigenvalue, its left eigenvector u normalised to u.r = 1)."""
    w, V = np.linalg.eig(jac)
    k = int(np.argmax(w.real))
    wl, U = np.linalg.eig(jac.T)
    kl = int(np.argmin(abs(wl - w[k])))
    u, r = U[:, kl].real, V[:, k].real
    return float(w[k].real), u / (u @ r)


def best_kl(opt: OptimalMap, J: np.ndarray, Jp: np.ndarray, mats: np.ndarray) -> float:
    """KL(J, J') per plaquette for the gauge copy of J' that fits J best.

    The canonical form folds J' with the whole gauge group, which also holds the relabellings
    of visible components (symmetries of the map, not of the KL at fixed J), so the copy the
    network output is found again by minimising over the group."""
    return min(opt._kl_derivs(J, A @ Jp, 1)[0] for A in mats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("train_file")
    ap.add_argument("--jc", type=float, help="the optimal map's Ising-axis crossing")
    ap.add_argument("--guess", type=float, nargs="+", help="start of the J* Newton search")
    ap.add_argument("--steps", type=int, default=7, help="RG steps followed from the axis")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    torch.set_num_threads(1)

    params, seeds, weights = read_training(args.train_file)
    with h5py.File(args.train_file, "r") as fh:
        jc_learned = fh["models/J_c"][()]
    rg = rg_map(model_from_weights(params, weights, dtype=torch.float64), params)
    opt = OptimalMap(params["representation"], params["frame"], params["block"])
    mats = opt.rep.gauge_matrices()
    t0 = time.perf_counter()
    guess = np.zeros(opt.n) if args.guess is None else np.asarray(args.guess)
    if args.guess is None:
        guess[0] = 1.0
    star, jac = opt.fixed_point(guess)
    jc = args.jc if args.jc is not None else opt.axis_crossing(0.70, 0.85, tol=1e-5)
    star_c, g = canonical_copy(star, mats)
    lam, u = relevant_left_vector(g @ jac @ g.T)
    print(
        f"{params['representation']} {params['block']}: optimal J_c {jc:.5f} "
        f"({100 * (jc / J_C_EXACT - 1):+.3f} %), J* {np.round(star_c, 4)}, lambda {lam:.4f} "
        f"[{time.perf_counter() - t0:.0f} s]"
    )

    path = [np.eye(opt.n)[0] * jc]
    for _ in range(args.steps):
        path.append(opt(path[-1]))
    points = [canonical_copy(p, mats)[0] for p in path] + [star_c]
    targets = [canonical_copy(p, mats)[0] for p in path[1:]]
    targets += [canonical_copy(opt(path[-1]), mats)[0], star_c]
    x = torch.as_tensor(np.tile(np.stack(points), (len(seeds), 1, 1)))
    learned = (x + rg.flow(x, create_graph=False)).detach().numpy()  # (M, P, n)
    delta = learned - np.stack(targets)[None]
    proj = delta @ u  # (M, P)

    names = [f"step {k}" for k in range(len(path))] + ["J*"]
    print("point:        " + " ".join(f"{s:>8}" for s in names))
    print("|J - J*|:     " + " ".join(f"{np.linalg.norm(p - star_c):8.4f}" for p in points))
    print("rms |delta|:  " + " ".join(f"{v:8.4f}" for v in np.sqrt((delta**2).sum(-1).mean(0))))
    print("mean u.delta: " + " ".join(f"{v:+8.4f}" for v in proj.mean(0)))
    print("sd u.delta:   " + " ".join(f"{v:8.4f}" for v in proj.std(0, ddof=1)))
    dj = jc_learned - jc
    if len(seeds) > 2 and np.all(np.isfinite(dj)):
        corr = [np.corrcoef(dj, proj[:, k])[0, 1] for k in range(proj.shape[1])]
        print("corr(dJ_c, u.delta): " + " ".join(f"{v:+.2f}" for v in corr))
    excess = [
        np.mean([best_kl(opt, p, learned[m, k], mats) for m in range(len(seeds))])
        - best_kl(opt, p, targets[k], mats)
        for k, p in enumerate(points)
    ]
    print("excess KL:    " + " ".join(f"{v:8.1e}" for v in excess))
    print(f"learned J_c - optimal: mean {np.nanmean(dj):+.5f}, sd {np.nanstd(dj, ddof=1):.5f}")
    for s, d, row in zip(seeds, dj, proj, strict=True):
        print(f"  seed {s:3d}: dJ_c {d:+.5f}  u.delta " + " ".join(f"{v:+.4f}" for v in row))


if __name__ == "__main__":
    main()
