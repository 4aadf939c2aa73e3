"""The O(N) mass-matrix solve of Fourier-accelerated HMC (cyclic tridiagonal systems).

The free-field mass matrix ``M = (m/a) D^T D + a m Omega^2`` of the periodic chain is
cyclic tridiagonal; :func:`cyclic_factor` factorises it once per job and
:func:`cyclic_solve` applies M^{-1} in O(N) inside the numba kernels.
"""

from __future__ import annotations

import numba as nb
import numpy as np


def cyclic_factor(n: int, diag: float, off: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precompute the O(n) solver of the symmetric cyclic tridiagonal matrix (n >= 3).

    The matrix has ``diag`` on the diagonal and ``off`` on the two off-diagonals and in
    the corners (0, n-1), (n-1, 0).  Sherman-Morrison reduces it to a tridiagonal system
    (Thomas algorithm).  Returns (den, cp, z): the Thomas denominators and modified
    super-diagonal of the reduced matrix, and its solution for the correction vector.
    """
    if n < 3:
        raise ValueError(f"cyclic solve needs n >= 3, got {n}")
    gamma = -diag
    b = np.full(n, diag)
    b[0] = diag - gamma
    b[-1] = diag - off * off / gamma
    den = np.empty(n)
    cp = np.empty(n)
    den[0] = b[0]
    cp[0] = off / den[0]
    for i in range(1, n):
        den[i] = b[i] - off * cp[i - 1]
        cp[i] = off / den[i]
    u = np.zeros(n)
    u[0] = gamma
    u[-1] = off
    z = np.empty(n)
    _thomas(den, cp, off, u, z)
    return den, cp, z


@nb.njit(cache=True)
def _thomas(den: np.ndarray, cp: np.ndarray, off: float, r: np.ndarray, out: np.ndarray) -> None:
    """Solve the reduced tridiagonal system (factorised by :func:`cyclic_factor`)."""
    n = r.size
    out[0] = r[0] / den[0]
    for i in range(1, n):
        out[i] = (r[i] - off * out[i - 1]) / den[i]
    for i in range(n - 2, -1, -1):
        out[i] -= cp[i] * out[i + 1]


@nb.njit(cache=True)
def cyclic_solve(
    den: np.ndarray,
    cp: np.ndarray,
    z: np.ndarray,
    diag: float,
    off: float,
    r: np.ndarray,
    out: np.ndarray,
) -> None:
    """out = A^{-1} r for the cyclic tridiagonal A of :func:`cyclic_factor`."""
    n = r.size
    _thomas(den, cp, off, r, out)
    gamma = -diag
    fact = (out[0] + off * out[n - 1] / gamma) / (1.0 + z[0] + off * z[n - 1] / gamma)
    for i in range(n):
        out[i] -= fact * z[i]
