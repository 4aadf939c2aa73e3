"""Test helpers: the repository root, running rgpipe as a user would, reading files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def user_env() -> dict[str, str]:
    """Environment of a user shell with the project's interpreter first on PATH."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_rgpipe(*args: str, cwd: Path | None = None, check: bool = True, timeout: float = 600):
    """Run ``python -m rgpipe ARGS`` in a subprocess; return the CompletedProcess."""
    proc = subprocess.run(
        [sys.executable, "-m", "rgpipe", *args],
        cwd=cwd or ROOT,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"rgpipe {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def datasets(path) -> dict[str, np.ndarray]:
    """Every dataset of an HDF5 file, by name."""
    out = {}
    with h5py.File(path, "r") as fh:
        fh.visititems(
            lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None
        )
    return out


def science(path, ignore_attrs=()) -> dict[str, object]:
    """Every dataset and attribute of a result file outside ``/provenance`` (where the
    volatile facts live), by name (attributes as ``@group/name``), except the root
    attributes in ``ignore_attrs``."""
    out: dict[str, object] = {}
    with h5py.File(path, "r") as fh:
        out.update({f"@/{k}": v for k, v in fh.attrs.items() if k not in ignore_attrs})

        def visit(name, obj):
            if name == "provenance" or name.startswith("provenance/"):
                return
            out.update({f"@{name}/{k}": v for k, v in obj.attrs.items()})
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]

        fh.visititems(visit)
    return out


def assert_same_science(a, b, ignore_attrs=()) -> None:
    """Two result files agree bit for bit outside ``/provenance``."""
    sa, sb = science(a, ignore_attrs), science(b, ignore_attrs)
    assert sa.keys() == sb.keys(), sorted(sa.keys() ^ sb.keys())
    for name in sorted(sa):
        np.testing.assert_array_equal(sa[name], sb[name], err_msg=name)


# ------------------------------------------------------------------ statistical checks


def blocked_error(func, *series, n_blocks: int = 32) -> float:
    """Error of ``func(mean(a), mean(b), ...)`` by a jackknife over ``n_blocks`` contiguous
    blocks of the series (each shape (N,), one Markov chain, measured together).

    Independent of the Gamma method of rgpipe.stats (no autocorrelation function, no window):
    as long as a block is much longer than the autocorrelation time its block means are
    independent, and the jackknife error estimate has a relative spread of about
    1 / sqrt(2 (n_blocks - 1)) (13 % for 32 blocks).  Too short blocks make it smaller, never
    larger, so ``error <= factor * blocked_error`` is a safe upper bound on a reported error.
    """
    x = np.stack([np.asarray(s, dtype=np.float64) for s in series])
    n = x.shape[1] - x.shape[1] % n_blocks
    blocks = x[:, :n].reshape(len(series), n_blocks, -1).mean(axis=2)  # (n_obs, n_blocks)
    total = blocks.sum(axis=1, keepdims=True)
    leave_one_out = (total - blocks) / (n_blocks - 1)
    f = np.array([func(*leave_one_out[:, b]) for b in range(n_blocks)])
    return float(np.sqrt((n_blocks - 1) * np.mean((f - f.mean()) ** 2)))


def mean_of(a):
    """The identity, as the ``func`` of :func:`blocked_error` for a plain mean."""
    return a


ERROR_FACTOR = 1.5
"""Largest accepted ratio of a reported error to an independent estimate of it (see
:func:`max_error`).  Over the ~450 checked estimates of the Ising, XY, phi^4 and CLI tests
the ratio lies in 0.80-1.40 (median 1.00, central 90 % 0.91-1.13): 1.5 is above all of them,
and an error bar inflated by 2 fails for every one."""

BLOCK_COUNTS = (16, 32, 64, 128, 256)
MIN_BLOCK = 16


def max_error(func, *series) -> float:
    """Upper bound for the reported error of ``func(means of series)``: ERROR_FACTOR times
    the median of the blocking-jackknife errors (:func:`blocked_error`) with 16, 32, ... 256
    blocks of at least 16 measurements.  The median is steadier than any one block count (a
    single 32-block estimate falls below 0.65 of the true error once in 500 runs; such lows
    were seen here), and the many-block estimates are sharp for long runs, while a too short
    block can only lower the bound."""
    n = len(series[0])
    counts = [b for b in BLOCK_COUNTS if n // b >= MIN_BLOCK] or [BLOCK_COUNTS[0]]
    est = [blocked_error(func, *series, n_blocks=b) for b in counts]
    return ERROR_FACTOR * float(np.median(est))


def pull(value, error, exact, max_err, what: str = "") -> float:
    """(value - exact) / error after checking 0 < error <= max_err: an error bar inflated
    beyond ``max_err`` (e.g. :func:`max_error` of the series, or a factor times an exactly
    known error) fails here, so a |pull| < 3 test cannot pass through a too wide error bar."""
    value, error, exact, max_err = (float(v) for v in (value, error, exact, max_err))
    assert 0 < error <= max_err, f"{what}: error {error:.4g} not in (0, {max_err:.4g}]"
    return (value - exact) / error


def assert_z(value, error, exact, max_err, z: float = 3.0, what: str = "") -> None:
    """|value - exact| < z error with 0 < error <= max_err (see :func:`pull`)."""
    p = pull(value, error, exact, max_err, what)
    assert abs(p) < z, f"{what}: {value:.6g} +- {error:.3g} vs exact {exact:.6g} (z = {p:.2f})"


# ------------------------------------------------------------------ MLRG closed forms


def _a1_plaquette_classes():
    """The 16 states of four visible spins on a ring: (ring sum v_i v_{i+1}, total spin)."""
    v = 1 - 2 * ((np.arange(16)[:, None] >> np.arange(4)) & 1)
    return (v * np.roll(v, -1, axis=1)).sum(axis=1), v.sum(axis=1)


def a1_optimal_coupling(J: float) -> float:
    """KL-optimal coarse coupling of the A1 plaquette pair, in closed form.

    Fine block: tracing each midpoint spin h between corners v_i, v_{i+1} gives
    2 cosh(J (v_i + v_{i+1})) ~ exp(K v_i v_{i+1}) with tanh K = tanh^2 J, so P_f(v) ~
    exp(K sum_ring v_i v_{i+1}).  Coarse block: one centre spin bonded to all four, P_c(v) ~
    cosh(J' M), M = sum v_i.  dKL/dJ' = E_c[M tanh(J' M)] - E_f[M tanh(J' M)] = 0, solved by
    bracketing over the 16 states; independent of rgpipe (no ExactKL, no OptimalMap).
    """
    from scipy.optimize import brentq

    ring, M = _a1_plaquette_classes()
    K = np.arctanh(np.tanh(J) ** 2)
    pf = np.exp(K * ring)
    pf /= pf.sum()

    def grad(jp):
        pc = np.cosh(jp * M)
        return (pc * M * np.tanh(jp * M)).sum() / pc.sum() - pf @ (M * np.tanh(jp * M))

    return float(brentq(grad, 1e-6, 10.0, xtol=1e-15, rtol=1e-15))


def a1_optimal_fixed_point() -> tuple[float, float]:
    """(J*, dJ'/dJ at J*) of the closed-form A1 plaquette map: J* by bracketing J'(J) = J,
    the slope by a central difference (h = 1e-5: truncation ~1e-10, round-off ~1e-10)."""
    from scipy.optimize import brentq

    js = float(brentq(lambda j: a1_optimal_coupling(j) - j, 0.6, 1.0, xtol=1e-14, rtol=1e-15))
    h = 1e-5
    slope = (a1_optimal_coupling(js + h) - a1_optimal_coupling(js - h)) / (2 * h)
    return js, float(slope)
