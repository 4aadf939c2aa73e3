"""Fixed points, their classification, the exponent nu and J_c from a learned RG map.

All analysis runs in float64 on a float64 copy of the trained models, vectorised over models
(leading dimension M) and starting points.

* **Fixed points**: damped Newton iteration on f(J) = 0 (f = J' - J) from many starts drawn in
  the training box, with the exact Jacobian from autograd; steps longer than ``max_step`` are
  shortened.  Converged roots (|f| < ``tol``) inside the box are de-duplicated.
* **Classification** by the eigenvalues lambda of the Jacobian of the RG map J -> J',
  ``dJ'/dJ = 1 + df/dJ``: the number of relevant eigenvalues (|lambda| > 1) is 0 for a stable
  (phase) fixed point, 1 for a critical one, >= 2 for a multicritical one.
* **Exponent**: for the relevant eigenvalue of a critical fixed point, ``y = ln|lambda| / ln b``
  with b = sqrt(2) the length rescaling of one Lieb step, and ``nu = 1 / y``.
* **J_c on the Ising axis**: with one coupling J_c is the critical fixed point itself.  With
  several, the plain Ising model J = (J0, 0, ..., 0) is in general not on the critical fixed
  point, and J_c is where the axis crosses the critical surface (the stable manifold of the
  critical fixed point J*).  A point on the axis is followed along the learned map for
  ``n_steps`` steps; after its closest approach to J* it departs along the relevant direction,
  and the sign of ``u . (J_t - J*)`` (u the left eigenvector of the relevant eigenvalue,
  oriented so that u_0 > 0) when it first exceeds ``escape`` labels the phase (+1 ordered,
  -1 disordered).  Couplings related by a gauge transformation (sign flips of irrep copies on
  one side of the bonds, :meth:`.representation.Representation.gauge_matrices`) are the same
  model, so the learned map may approach any gauge copy ``A_g J*`` of the fixed point: distances
  and projections use the nearest copy.  A grid scan over J0 finds the sign change whose
  trajectories come closest to J*, and bisection refines it.  Both J_c and the first component
  of J* are reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from rgpipe.learn.mlrg.exact import SCALE_FACTOR
from rgpipe.learn.mlrg.networks import RGModel


def flow_and_jacobian(model: RGModel, J: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(J) and df/dJ.

    Args:
        J: (M, S, n) points (dtype of the model).

    Returns:
        f (M, S, n) and the Jacobian (M, S, n, n) with ``[..., i, j] = d f_i / d J_j``.
    """
    with torch.enable_grad():
        x = J.detach().requires_grad_(True)
        f = model.flow(x, create_graph=True)
        rows = [
            torch.autograd.grad(f[..., i].sum(), x, retain_graph=True)[0]
            for i in range(J.shape[-1])
        ]
    return f.detach(), torch.stack(rows, dim=-2)


def newton_roots(
    model: RGModel, starts: torch.Tensor, max_iter: int = 100, tol: float = 1e-10, max_step=0.2
) -> tuple[torch.Tensor, torch.Tensor]:
    """Damped Newton iteration for f(J) = 0 from every start.

    Args:
        starts: (M, S, n) starting points.

    Returns:
        (roots (M, S, n), residual |f| (M, S)); non-converged points keep a residual > tol.
    """
    J = starts.detach().clone()
    alive = torch.ones(J.shape[:-1], dtype=torch.bool)
    for _ in range(max_iter):
        f, Df = flow_and_jacobian(model, J)
        res = f.norm(dim=-1)
        active = alive & (res > tol) & torch.isfinite(res)
        if not bool(active.any()):
            break
        step, info = torch.linalg.solve_ex(Df, -f.unsqueeze(-1))
        step = step.squeeze(-1)
        ok = (info == 0) & torch.isfinite(step).all(-1)
        alive = alive & (ok | ~active)
        norm = step.norm(dim=-1, keepdim=True).clamp_min(1e-300)
        step = step * torch.clamp(max_step / norm, max=1.0)
        move = (active & ok).unsqueeze(-1)
        J = torch.where(move, J + step, J)
    f, _ = flow_and_jacobian(model, J)
    res = f.norm(dim=-1)
    res = torch.where(alive & torch.isfinite(res), res, torch.full_like(res, math.inf))
    return J, res


@dataclass
class FixedPoint:
    """One fixed point of a learned map.

    Attributes:
        J: (n,) location.
        eigenvalues: (n,) complex eigenvalues of dJ'/dJ, sorted by decreasing modulus.
        left_relevant: (n,) real left eigenvector of the leading eigenvalue (u . dJ'/dJ =
            lambda u), normalised, oriented with u_0 >= 0.
        residual: |f(J)|.
    """

    J: np.ndarray
    eigenvalues: np.ndarray
    left_relevant: np.ndarray
    residual: float

    @property
    def n_relevant(self) -> int:
        """Number of eigenvalues with modulus > 1."""
        return int(np.sum(np.abs(self.eigenvalues) > 1.0))

    @property
    def kind(self) -> str:
        """``"stable"``, ``"critical"`` or ``"multicritical"``."""
        return ("stable", "critical")[self.n_relevant] if self.n_relevant < 2 else "multicritical"

    @property
    def y(self) -> float:
        """Scaling dimension ln|lambda_1| / ln b of the leading eigenvalue."""
        return float(np.log(np.abs(self.eigenvalues[0])) / np.log(SCALE_FACTOR))

    @property
    def nu(self) -> float:
        """1 / y (meaningful for a critical fixed point)."""
        return 1.0 / self.y


def classify(J: np.ndarray, jac_map: np.ndarray, residual: float) -> FixedPoint:
    """Build a :class:`FixedPoint` from the Jacobian of the map J -> J' (n, n)."""
    w, vl = np.linalg.eig(jac_map.T)  # left eigenvectors of jac_map
    order = np.argsort(-np.abs(w))
    w, vl = w[order], vl[:, order]
    u = np.real(vl[:, 0])
    u = u / max(np.linalg.norm(u), 1e-300)
    if u[0] < 0:
        u = -u
    return FixedPoint(np.asarray(J, dtype=np.float64), w, u, float(residual))


def find_fixed_points(
    model: RGModel,
    low: np.ndarray,
    high: np.ndarray,
    starts: torch.Tensor,
    tol: float = 1e-10,
    dedupe: float = 1e-6,
) -> list[list[FixedPoint]]:
    """All fixed points reached by Newton from the given starts, per model.

    Args:
        model: a float64 :class:`RGModel` with M models.
        low, high: (n,) box bounds (roots outside, beyond a 1e-6 margin, are dropped).
        starts: (M, S, n) float64 starting points.
        tol: residual |f| below which a root is accepted.
        dedupe: roots closer than this are the same.

    Returns:
        For each model the list of distinct fixed points.
    """
    M, n = model.n_models, model.n
    lo = torch.as_tensor(low, dtype=torch.float64)
    hi = torch.as_tensor(high, dtype=torch.float64)
    roots, res = newton_roots(model, starts, tol=tol)
    inside = ((roots >= lo - 1e-6) & (roots <= hi + 1e-6)).all(-1) & (res <= tol)
    uniq: list[list[torch.Tensor]] = []
    ures: list[list[float]] = []
    for m in range(M):
        pts, rs = roots[m][inside[m]], res[m][inside[m]]
        um: list[torch.Tensor] = []
        rm: list[float] = []
        for p, r in zip(pts, rs, strict=True):
            if all(float((p - q).norm()) > dedupe for q in um):
                um.append(p)
                rm.append(float(r))
        uniq.append(um)
        ures.append(rm)
    width = max(1, max(len(u) for u in uniq))
    padded = torch.zeros(M, width, n, dtype=torch.float64)
    for m, um in enumerate(uniq):
        if um:
            padded[m, : len(um)] = torch.stack(um)
    _, Df = flow_and_jacobian(model, padded)
    jac = (Df + torch.eye(n, dtype=Df.dtype)).numpy()
    return [
        [classify(p.numpy(), jac[m, i], ures[m][i]) for i, p in enumerate(uniq[m])]
        for m in range(M)
    ]


def select_critical(points: list[FixedPoint]) -> FixedPoint | None:
    """The critical fixed point used for J_c and nu.

    Among fixed points with exactly one relevant eigenvalue, a real and positive leading
    eigenvalue (lambda = b^(1/nu) > 1; a negative one flips the flow back and forth, which a
    folded, gauge-fixed map can produce near the mirrors of its domain) and a positive first
    (ferromagnetic Ising) coupling, the one closest to the Ising axis (smallest
    norm of the other couplings; ties by the smaller first coupling).  None if there is none.
    """
    cands = [
        p
        for p in points
        if p.kind == "critical"
        and abs(p.eigenvalues[0].imag) < 1e-12
        and p.eigenvalues[0].real > 1.0
        and p.J[0] > 0
    ]
    if not cands:
        return None
    return min(cands, key=lambda p: (round(float(np.linalg.norm(p.J[1:])), 9), p.J[0]))


def _phase(
    model: RGModel,
    J0: torch.Tensor,
    star: torch.Tensor,
    u: torch.Tensor,
    n_steps: int,
    escape: float,
    gauge: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Phase labels and closest approach of axis points.

    Args:
        J0: (M, G) first couplings of the starting points (others 0).
        star, u: (M, n) critical fixed points and oriented left eigenvectors.
        gauge: (K, n, n) gauge matrices (identity first); distances and projections use the
            nearest gauge copy ``A_k J*`` with covector ``A_k^-T u``.

    Returns:
        (labels (M, G) in {-1, +1}, min distance to the copies of J* (M, G)).
    """
    M, G = J0.shape
    n = star.shape[-1]
    if gauge is None:
        gauge = torch.eye(n, dtype=torch.float64)[None]
    J = torch.zeros(M, G, n, dtype=torch.float64)
    J[..., 0] = J0
    traj = [J]
    for _ in range(n_steps):
        with torch.no_grad():
            J = (J + model.flow(J, create_graph=False)).detach()
        traj.append(J)
    T = torch.stack(traj, dim=2)  # (M, G, T+1, n)
    T = torch.where(torch.isfinite(T), T, torch.full_like(T, 1e30))
    inv_t = torch.linalg.inv(gauge).transpose(-1, -2)
    dist = torch.full(T.shape[:-1], math.inf, dtype=torch.float64)
    s = torch.zeros(T.shape[:-1], dtype=torch.float64)
    for A, B in zip(gauge, inv_t, strict=True):
        copy_star = star @ A.T  # (M, n)
        copy_u = u @ B.T
        diff = T - copy_star[:, None, None, :]
        d = diff.norm(dim=-1)
        closer = d < dist
        dist = torch.where(closer, d, dist)
        s = torch.where(closer, (diff * copy_u[:, None, None, :]).sum(-1), s)
    t_star = dist.argmin(dim=-1, keepdim=True)  # closest approach
    steps = torch.arange(n_steps + 1)[None, None, :]
    escaped = (steps >= t_star) & (s.abs() > escape)
    first = torch.where(escaped, steps, n_steps + 1).min(dim=-1, keepdim=True).values
    idx = first.clamp(max=n_steps)
    label = torch.sign(torch.gather(s, -1, idx)).squeeze(-1)
    label = torch.where(label == 0, torch.ones_like(label), label)
    return label, dist.min(dim=-1).values


def ising_axis_crossing(
    model: RGModel,
    stars: list[FixedPoint | None],
    j0_low: float,
    j0_high: float,
    n_grid: int = 64,
    n_steps: int = 64,
    escape: float = 0.25,
    n_bisect: int = 50,
    gauge: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """J_c per model: where the axis J = (J0, 0, ...) crosses the critical surface of J*.

    Args:
        model: float64 model with M models.
        stars: the critical fixed point per model (None -> NaN).
        j0_low, j0_high: search interval of J0.
        n_grid: grid points of the initial scan.
        n_steps: RG steps followed per starting point.
        escape: departure threshold of ``u . (J_t - J*)``.
        n_bisect: bisection steps after the scan.
        gauge: (K, n, n) gauge matrices of the representation (None: identity only).

    Returns:
        (J_c (M,), closest approach to J* of the trajectory started at J_c (M,)); NaN where no
        critical fixed point or no sign change was found.
    """
    M, n = model.n_models, model.n
    jc = np.full(M, np.nan)
    dmin = np.full(M, np.nan)
    have = np.array([s is not None for s in stars])
    if not have.any():
        return jc, dmin
    star = torch.zeros(M, n, dtype=torch.float64)
    u = torch.zeros(M, n, dtype=torch.float64)
    for m, s in enumerate(stars):
        if s is not None:
            star[m] = torch.as_tensor(s.J)
            u[m] = torch.as_tensor(s.left_relevant)
    gmat = None if gauge is None else torch.as_tensor(gauge, dtype=torch.float64)
    grid = torch.linspace(j0_low, j0_high, n_grid, dtype=torch.float64)
    labels, dist = _phase(model, grid.expand(M, -1).contiguous(), star, u, n_steps, escape, gmat)
    lo = torch.full((M,), math.nan, dtype=torch.float64)
    hi = torch.full((M,), math.nan, dtype=torch.float64)
    for m in np.flatnonzero(have):
        change = np.flatnonzero((labels[m, :-1] < 0).numpy() & (labels[m, 1:] > 0).numpy())
        if change.size == 0:
            continue
        pair_dist = torch.minimum(dist[m, change], dist[m, change + 1]).numpy()
        k = int(change[int(np.argmin(pair_dist))])
        lo[m], hi[m] = grid[k], grid[k + 1]
    ok = torch.isfinite(lo)
    if not bool(ok.any()):
        return jc, dmin
    a, b = lo.clone(), hi.clone()
    a[~ok] = j0_low
    b[~ok] = j0_high
    for _ in range(n_bisect):
        mid = 0.5 * (a + b)
        lab, _ = _phase(model, mid[:, None], star, u, n_steps, escape, gmat)
        up = lab[:, 0] > 0
        b = torch.where(up, mid, b)
        a = torch.where(up, a, mid)
    mid = 0.5 * (a + b)
    _, d = _phase(model, mid[:, None], star, u, n_steps, escape, gmat)
    jc[ok.numpy()] = mid[ok].numpy()
    dmin[ok.numpy()] = d[ok, 0].numpy()
    return jc, dmin


@dataclass
class CriticalSummary:
    """Critical-point analysis of one model.

    Attributes:
        J_c: Ising-axis crossing of the critical surface (NaN if not found).
        J_star: (n,) critical fixed point (NaN-filled if none).
        nu: 1 / y at J* (NaN if none).
        lambda_relevant: leading eigenvalue modulus at J*.
        eigenvalues: (n,) complex eigenvalues of dJ'/dJ at J*.
        crossing_distance: closest approach to J* of the trajectory from (J_c, 0, ...).
        fixed_points: every fixed point found, as (J, n_relevant) pairs.
    """

    J_c: float
    J_star: np.ndarray
    nu: float
    lambda_relevant: float
    eigenvalues: np.ndarray
    crossing_distance: float
    fixed_points: list[tuple[np.ndarray, int]] = field(default_factory=list)


def analyse(
    model: RGModel,
    low: np.ndarray,
    high: np.ndarray,
    generators: list[torch.Generator],
    n_starts: int = 64,
    tol: float = 1e-10,
    crossing: dict | None = None,
    gauge: np.ndarray | None = None,
) -> list[CriticalSummary]:
    """Fixed points, nu and the Ising-axis J_c of every model (float64 model expected).

    Args:
        generators: one per model, for its random Newton starts (uniform in the box); 16 starts
            on the Ising axis are added for every model.
        crossing: keyword arguments of :func:`ising_axis_crossing` (``j0_low``, ``j0_high``,
            ``n_grid``, ``n_steps``, ``escape``); default search interval = the box along J0.
        gauge: gauge matrices of the representation (see
            :meth:`.representation.Representation.gauge_matrices`).
    """
    n = model.n
    lo = torch.as_tensor(low, dtype=torch.float64)
    hi = torch.as_tensor(high, dtype=torch.float64)
    axis = torch.zeros(16, n, dtype=torch.float64)
    axis[:, 0] = torch.linspace(float(low[0]), float(high[0]), 16, dtype=torch.float64)
    starts = torch.stack(
        [
            torch.cat(
                [lo + (hi - lo) * torch.rand(n_starts, n, generator=g, dtype=torch.float64), axis]
            )
            for g in generators
        ]
    )
    fps = find_fixed_points(model, low, high, starts, tol=tol)
    stars = [select_critical(p) for p in fps]
    kw = {"j0_low": float(low[0]), "j0_high": float(high[0])}
    kw.update(crossing or {})
    if n == 1:
        jc = np.array([s.J[0] if s is not None else np.nan for s in stars])
        dmin = np.where(np.isfinite(jc), 0.0, np.nan)
    else:
        jc, dmin = ising_axis_crossing(model, stars, gauge=gauge, **kw)
    out = []
    for m, s in enumerate(stars):
        pts = [(p.J, p.n_relevant) for p in fps[m]]
        if s is None:
            star, nu, lam, eig = np.full(n, np.nan), math.nan, math.nan, np.full(n, np.nan + 0j)
        else:
            star, nu, lam, eig = s.J, s.nu, float(abs(s.eigenvalues[0])), s.eigenvalues
        out.append(CriticalSummary(float(jc[m]), star, nu, lam, eig, float(dmin[m]), pts))
    return out
