"""Exact references for the MLRG blocks: closed forms and the KL-optimal RG map.

* ``J_C_EXACT``: critical coupling of the Lieb-lattice Ising model.  Tracing the midpoint spins
  gives the square-lattice Ising model with ``tanh K = tanh^2 J`` (decimation), whose critical
  point ``K_c = ln(1 + sqrt 2) / 2`` gives ``J_c = arctanh(sqrt(tanh K_c))
  = arccosh(1 + sqrt 2) / 2 = 0.7642854597``.  The exact thermal exponent is nu = 1.
* The *optimal map* ``J'(J) = argmin_{J'} KL(P_fine(J) || P_coarse(J'))`` is what a flow network
  of unlimited capacity trained on the exact KL converges to; it is computed here by a Newton
  (trust-region) minimisation in float64 with exact Hessians from autograd.  Its derivative
  follows from the implicit function theorem, ``dJ'/dJ = -H_{J'J'}^{-1} H_{J'J}``.  For A1 its
  fixed point is J* = 0.813920 with dJ'/dJ = 1.3568 there (the structural bias of the A1
  scheme), which the tests reproduce to 1e-4.

Note the gauge freedom: flipping the hidden spins of one irrep copy leaves every visible
marginal unchanged and flips the sign of some couplings, so the optimal J' is defined up to
such signs; minimisations start from J' = J and follow the branch connected to it.  Phases are
therefore labelled by a gauge-invariant quantity, the mutual information of two opposite
visible sites (:meth:`OptimalMap.opposite_information`).  Deep in the ordered phase (couplings
of order 10 and more) every large J' fits the locked fine block equally well, the KL landscape
is flat and the minimiser can land on couplings that describe a disordered *fine* block; the
flow is only followed until it first comes within ``eps`` of the locked state.

Ising-axis crossings of the optimal maps (:meth:`OptimalMap.axis_crossing`, first-decision
phase labels; seed-independent; ``tests/test_mlrg_ladder.py``), against J_c = 0.76429:

==========  ==========  ===============  =====================================================
rep         frame       J_c              critical fixed point (lambda, nu = ln sqrt2 / ln lambda)
==========  ==========  ===============  =====================================================
A1          any         0.81392 (+6.5%)  J* = 0.81392, 1.3568, nu 1.136
A1+E        midpoint    0.86297 (+12.9%) J* = (1.3106, 0.3460, -0.5787, -0.2902, -0.0279),
                                         1.5024, nu 0.851 (default frame)
A1+E        corner      ~0.935 (+22%)    none on the way: the fit breaks down at strong
                                         coupling (the minimiser fails at J0 = 0.91-0.92)
A1+E        none        0.40147 (-47.5%) (0.5628, -0.4748, 0.2793, -0.2920, 0.1295), 1.2072,
                                         nu 1.84 (the RG-inconsistent construction)
2A1         any         0.64458 (-15.7%) rank-one 0.2464 (e1 - e2)(e1 - e2)^T, 1.1871, nu 2.0
2A1+E       midpoint    ~0.413 (-46%)    none (erratic flow; a marginal point lambda 1.018)
2A1+E       corner      ~0.361 (-53%)    none (erratic flow)
==========  ==========  ===============  =====================================================

The exact-KL optimum of this block pair gets *worse* with more spin components: they are used
as auxiliary (hidden helper, vacancy-like) degrees of freedom that improve the one-block fit on
the Ising axis but move the critical surface.  Larger blocks change the picture: the A1
scheme on clusters of black plaquettes (``OptimalMap("A1", block="4x2")``, :mod:`.clusters`)
has J* = 0.76719 (+0.38 %), nu 1.118, on its way to -4.3 % for infinite clusters, and A1+E
on clusters (:mod:`.vertex`) has nu within a few per cent of 1 (4x2: 0.997, J_c +1.36 %;
4x3: 0.948, J_c +0.302 %).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import brentq, minimize

from rgpipe.learn.mlrg.clusters import exact_loss
from rgpipe.learn.mlrg.representation import representation

J_C_EXACT = 0.5 * math.acosh(1.0 + math.sqrt(2.0))
"""Exact critical coupling of the Lieb-lattice Ising model, arccosh(1 + sqrt 2) / 2."""

NU_EXACT = 1.0
"""Exact correlation-length exponent of the 2D Ising universality class."""

SCALE_FACTOR = math.sqrt(2.0)
"""Length rescaling b of one Lieb RG step (coarse lattice rotated by 45 deg, spacing x sqrt 2)."""


def decimated_coupling(J: float | np.ndarray) -> float | np.ndarray:
    """Square-lattice coupling K_eff from tracing the midpoints: tanh K_eff = tanh^2 J."""
    return np.arctanh(np.tanh(J) ** 2)


class OptimalMap:
    """The KL-optimal coarse coupling J'(J) of a representation, with its Jacobian.

    Args:
        rep: representation name, e.g. ``"A1"`` or ``"A1+E"``.
        frame: frame choice of :func:`.representation.representation` (default
            ``"midpoint"``).
        block: ``"plaquette"`` (seed 002's block pair) or a cluster ``"NxM"`` of black
            plaquettes (:mod:`.clusters`, :mod:`.vertex`).
    """

    def __init__(self, rep: str, frame: str = "midpoint", block: str = "plaquette") -> None:
        self.rep = representation(rep, frame)
        self.kl = exact_loss(self.rep, block, dtype=torch.float64)
        self.n = self.rep.n_couplings

    def _kl_derivs(self, J: np.ndarray, Jp: np.ndarray, order: int):
        """KL, its gradient in J' and (order 2) its Hessian blocks H_{J'J'}, H_{J'J}."""
        Jt = torch.as_tensor(J, dtype=torch.float64)
        Jpt = torch.as_tensor(Jp, dtype=torch.float64).clone().requires_grad_(True)
        if order < 2:
            val = self.kl(Jt, Jpt)
            (g,) = torch.autograd.grad(val, Jpt)
            return float(val.detach()), g.numpy()
        x = torch.cat([Jt, Jpt.detach()])
        H = torch.autograd.functional.hessian(lambda z: self.kl(z[: self.n], z[self.n :]), x)
        H = H.numpy()
        return H[self.n :, self.n :], H[self.n :, : self.n]

    def __call__(self, J: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        """argmin over J' of KL(J, J'), started from ``start`` (default J).

        A trust-region Newton minimisation to a gradient of 1e-9, then Newton steps on the
        gradient until they stop shrinking (quadratic convergence to float64 precision).

        Args:
            J: (n,) fine couplings.

        Returns:
            (n,) optimal coarse couplings (float64).
        """
        J = np.atleast_1d(np.asarray(J, dtype=np.float64))
        x0 = J.copy() if start is None else np.atleast_1d(np.asarray(start, dtype=np.float64))

        def fun(x):
            return self._kl_derivs(J, x, 1)

        def hess(x):
            return self._kl_derivs(J, x, 2)[0]

        res = minimize(fun, x0, jac=True, hess=hess, method="trust-exact", options={"gtol": 1e-9})
        x = res.x
        last = np.inf
        for _ in range(8):
            step = np.linalg.solve(hess(x), fun(x)[1])
            size = float(np.linalg.norm(step))
            if size >= last:
                break
            x = x - step
            last = size
            if size < 1e-15:
                break
        if not np.linalg.norm(fun(x)[1]) < 1e-8:
            raise RuntimeError(f"optimal map did not converge at J={J}: {res.message}")
        return x

    def jacobian(self, J: np.ndarray, Jp: np.ndarray | None = None) -> np.ndarray:
        """dJ'/dJ at J (implicit function theorem); ``Jp`` the optimum if already known."""
        J = np.atleast_1d(np.asarray(J, dtype=np.float64))
        Jp = self(J) if Jp is None else Jp
        h_pp, h_pj = self._kl_derivs(J, Jp, 2)
        return -np.linalg.solve(h_pp, h_pj)

    def fixed_point(self, guess: np.ndarray, tol: float = 1e-12, max_iter: int = 50):
        """Fixed point J* = J'(J*) by Newton's method from ``guess``.

        Returns:
            (J*, dJ'/dJ at J*) as float64 arrays of shapes (n,) and (n, n).
        """
        J = np.atleast_1d(np.asarray(guess, dtype=np.float64)).copy()
        for _ in range(max_iter):
            Jp = self(J)
            M = self.jacobian(J, Jp)
            step = np.linalg.solve(M - np.eye(self.n), -(Jp - J))
            J = J + step
            if np.linalg.norm(step) < tol:
                break
        else:
            raise RuntimeError(f"fixed point iteration did not converge from {guess}")
        return J, self.jacobian(J)

    def opposite_information(self, J: np.ndarray) -> float:
        """Mutual information I(v_0; v_2) (nats) of two opposite visible sites of the fine block
        at J: 0 for independent sites (J = 0), log 2 when the block is locked into one of two
        ordered states.  Invariant under every relabelling of spin components, so it labels
        the phase of a coupling vector whatever gauge copy the map returns."""
        q = 2**self.rep.d
        with torch.no_grad():
            lp = self.kl.fine.log_prob(torch.as_tensor(J, dtype=torch.float64))
        p = lp.exp().reshape(q, q, q, q).sum(dim=(1, 3)).numpy()  # P(v_0, v_2)
        outer = np.outer(p.sum(1), p.sum(0))
        mask = p > 0
        return float(np.sum(p[mask] * (np.log(p[mask]) - np.log(outer[mask]))))

    def axis_phase(
        self, J0: float, n_steps: int = 100, eps: float = 1e-3, patience: int = 3
    ) -> tuple[int, int]:
        """Phase of the Ising-axis point (J0, 0, ..., 0) under the iterated optimal map.

        The map is applied until the opposite-site information of the fine block
        (:meth:`opposite_information`) comes within ``eps`` of log 2 (ordered: the block is
        locked), or stays below ``eps`` without growing for ``patience`` consecutive steps
        (disordered).  The first decision counts: deep in the ordered phase the KL landscape
        is flat and the minimiser may wander (see the note in the module docstring).

        Returns:
            (+1 ordered, -1 disordered, 0 undecided after ``n_steps`` or when the
            minimisation fails; steps taken).
        """
        J = np.zeros(self.n)
        J[0] = J0
        last = self.opposite_information(J)
        down = 0
        for t in range(1, n_steps + 1):
            try:
                J = self(J)
            except (RuntimeError, np.linalg.LinAlgError):
                return 0, t
            info = self.opposite_information(J)
            if info > math.log(2.0) - eps:
                return 1, t
            down = down + 1 if (info < eps and info <= last + 1e-12) else 0
            if down >= patience:
                return -1, t
            last = info
        return 0, n_steps

    def axis_crossing(self, low: float, high: float, tol: float = 1e-5, **kw) -> float:
        """J_c of the optimal map: where the Ising axis crosses the critical surface.

        Bisection on :meth:`axis_phase` (keyword arguments passed on) between a disordered
        ``low`` and an ordered ``high``.

        Raises:
            ValueError: if the bracket does not separate the phases.
            RuntimeError: if a midpoint's phase is undecided.
        """
        if self.axis_phase(low, **kw)[0] != -1 or self.axis_phase(high, **kw)[0] != 1:
            raise ValueError(f"[{low}, {high}] does not bracket the transition")
        while high - low > tol:
            mid = 0.5 * (low + high)
            phase, _ = self.axis_phase(mid, **kw)
            if phase == 0:
                raise RuntimeError(f"undecided phase at J0 = {mid}")
            low, high = (low, mid) if phase > 0 else (mid, high)
        return 0.5 * (low + high)


def a1_optimal_fixed_point() -> tuple[float, float]:
    """(J*, dJ'/dJ at J*) of the A1 optimal map, by bracketing the fixed point (independent of
    the Newton iteration of :meth:`OptimalMap.fixed_point`)."""
    opt = OptimalMap("A1")
    js = brentq(lambda j: opt(np.array([j]))[0] - j, 0.6, 1.0, xtol=1e-13)
    slope = float(opt.jacobian(np.array([js]))[0, 0])
    return float(js), slope


class OptimalFlow:
    """The optimal map as a (slow) stand-in for a trained model in :mod:`.critical`.

    ``flow(J)`` evaluates ``J'(J) - J`` point by point (each a Newton minimisation of the exact
    KL), so the fixed-point and Ising-axis analyses of trained networks can be run on the
    infinite-capacity limit of the exact-KL training, for reference.

    Args:
        rep: representation name.
        frame: frame choice (:func:`.representation.representation`).
        block: block pair (:class:`OptimalMap`).
    """

    def __init__(self, rep: str, frame: str = "midpoint", block: str = "plaquette") -> None:
        self.map = OptimalMap(rep, frame, block)
        self.n = self.map.n
        self.n_models = 1

    def flow(self, J: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
        """(M, S, n) -> (M, S, n) float64, no gradient."""
        x = J.detach().cpu().numpy().reshape(-1, self.n)
        out = np.empty_like(x)
        with torch.enable_grad():
            for i, point in enumerate(x):
                if not (np.all(np.isfinite(point)) and np.linalg.norm(point) < 10.0):
                    out[i] = np.nan  # far outside any trained region: stop following
                    continue
                try:
                    out[i] = self.map(point) - point
                except (RuntimeError, ValueError, np.linalg.LinAlgError):
                    out[i] = np.nan
        return torch.as_tensor(out.reshape(J.shape), dtype=torch.float64)
