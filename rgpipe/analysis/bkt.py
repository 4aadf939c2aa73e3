"""T_BKT of the 2D XY model from the helicity modulus (Weber-Minnhagen finite-size form).

At the Berezinskii-Kosterlitz-Thouless temperature the helicity modulus of an L x L
lattice behaves as

    Upsilon_L(T_BKT) = (2 T_BKT / pi) [1 + 1 / (2 ln L + C)]

(H. Weber and P. Minnhagen, PRB 37, 5986 (1988)), with one non-universal constant C.
For every trial temperature T the measured Upsilon_L(T) of all sizes (interpolated in T
between the simulated couplings by a cubic spline, errors linearly) are fitted with C
free; T_BKT is the T of smallest chi^2.  This uses the size dependence, unlike a naive
crossing of Upsilon_L(T) with 2T/pi, which drifts like 1/ln L.  Errors come from a
parametric bootstrap: every measured point is redrawn from its Gaussian error (the
couplings are independent chains) and the whole fit repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import minimize_scalar

T_BKT_LITERATURE = 0.89294
"""T_BKT / J of the square-lattice XY model, M. Hasenbusch, J. Phys. A 38, 5869 (2005):
0.89294(8)."""


@dataclass
class HelicityData:
    """Helicity modulus of one size over a temperature scan.

    Attributes:
        L: linear size.
        temperature: (n,) T = 1/K, ascending.
        helicity: (n,) Upsilon_L(T) (units of J).
        error: (n,) its standard error.
    """

    L: int
    temperature: np.ndarray
    helicity: np.ndarray
    error: np.ndarray


def _interp(d: HelicityData, values: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    spline = CubicSpline(d.temperature, values) if len(d.temperature) > 2 else None
    y = spline(t) if spline is not None else np.interp(t, d.temperature, values)
    return y, np.interp(t, d.temperature, d.error)


def _best_c(t: float, ys: list[float], errs: list[float], sizes: list[int]) -> tuple[float, float]:
    """Minimise chi^2 over C at temperature t; return (chi2, C)."""
    logs = np.log(np.array(sizes, dtype=float))
    y, s = np.array(ys), np.array(errs)
    lo = -2 * logs.min() + 0.05  # keep 2 ln L + C > 0

    def chi2(c: float) -> float:
        f = (2 * t / np.pi) * (1 + 1 / (2 * logs + c))
        return float(np.sum(((y - f) / s) ** 2))

    res = minimize_scalar(chi2, bounds=(lo, 100.0), method="bounded", options={"xatol": 1e-8})
    return float(res.fun), float(res.x)


@dataclass
class BKTFit:
    """Result of a Weber-Minnhagen fit.

    Attributes:
        t_bkt: the temperature of minimal chi^2 (NaN if the minimum is at the edge of the
            scanned range, i.e. not bracketed).
        c: the fitted constant at t_bkt.
        chi2: chi^2 at the minimum; dof = (number of sizes) - 1.
        grid: (G,) temperatures scanned; chi2_curve: (G,) minimal chi^2 at each.
    """

    t_bkt: float
    c: float
    chi2: float
    dof: int
    grid: np.ndarray
    chi2_curve: np.ndarray


def weber_minnhagen(data: list[HelicityData], grid_points: int = 201) -> BKTFit:
    """Fit T_BKT and C to the helicity moduli of several sizes."""
    if len(data) < 2:
        raise ValueError("the Weber-Minnhagen fit needs at least two lattice sizes")
    lo = max(d.temperature.min() for d in data)
    hi = min(d.temperature.max() for d in data)
    grid = np.linspace(lo, hi, grid_points)
    interp = [_interp(d, d.helicity, grid) for d in data]
    sizes = [d.L for d in data]
    curve = np.array(
        [
            _best_c(t, [y[i] for y, _ in interp], [e[i] for _, e in interp], sizes)[0]
            for i, t in enumerate(grid)
        ]
    )
    i = int(np.argmin(curve))
    if i in (0, len(grid) - 1):
        return BKTFit(float("nan"), float("nan"), float(curve[i]), len(data) - 1, grid, curve)

    def chi2_at(t: float) -> float:
        pts = [_interp(d, d.helicity, np.array([t])) for d in data]
        return _best_c(t, [p[0][0] for p in pts], [p[1][0] for p in pts], sizes)[0]

    res = minimize_scalar(
        chi2_at, bounds=(grid[i - 1], grid[i + 1]), method="bounded", options={"xatol": 1e-7}
    )
    t = float(res.x)
    pts = [_interp(d, d.helicity, np.array([t])) for d in data]
    chi2, c = _best_c(t, [p[0][0] for p in pts], [p[1][0] for p in pts], sizes)
    return BKTFit(t, c, chi2, len(data) - 1, grid, curve)


def bootstrap_t_bkt(
    data: list[HelicityData], n_boot: int = 200, seed: int = 0
) -> tuple[BKTFit, np.ndarray]:
    """The fit on the data and ``n_boot`` parametric-bootstrap values of T_BKT."""
    fit = weber_minnhagen(data)
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    for b in range(n_boot):
        noisy = [
            HelicityData(
                d.L, d.temperature, d.helicity + rng.normal(size=d.error.shape) * d.error, d.error
            )
            for d in data
        ]
        reps[b] = weber_minnhagen(noisy, grid_points=101).t_bkt
    return fit, reps
