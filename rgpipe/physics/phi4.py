"""Two-dimensional lattice phi^4 theory: action, parameter conversion, observables.

Lattice form (the one every kernel uses), periodic L x L square lattice, real field phi_x::

    S[phi] = sum_x [ -beta sum_mu phi_x phi_{x+mu} + phi_x^2 + lam (phi_x^2 - 1)^2 ]

with mu over the two forward directions (each bond once; for L = 2 the bonds to x + mu
and x - mu are two distinct bonds, as in ``rgpipe.physics.lattice``).  The Boltzmann
weight is exp(-S).  beta is the hopping coupling (dimensionless), lam >= 0 the quartic
coupling.  lam -> infinity freezes phi_x^2 = 1: the Ising model with K = beta.  lam = 0 is
the free (Gaussian) field, stable only for beta inside :func:`gaussian_stability_interval`.

Continuum-like form, field phi'_x (the "continuum field" of a lattice with spacing 1)::

    S'[phi'] = sum_x [ 1/2 sum_mu (phi'_{x+mu} - phi'_x)^2 + m0sq/2 phi'_x^2
                       + lambda0/4 phi'_x^4 ]

Exact conversion (d = 2 dimensions; derivation).  On the torus sum_x phi'_{x+mu}^2 =
sum_x phi'_x^2, so the gradient term is sum_x [d phi'_x^2 - sum_mu phi'_x phi'_{x+mu}] and::

    S'  = sum_x [ -sum_mu phi' phi'_{+mu} + (d + m0sq/2) phi'^2 + lambda0/4 phi'^4 ]
    S   = sum_x [ -beta sum_mu phi phi_{+mu} + (1 - 2 lam) phi^2 + lam phi^4 ] + N lam

Substituting phi' = sqrt(beta) phi (that is phi = a phi' with a = 1/sqrt(beta)) and
equating coefficients gives, for beta > 0::

    m0sq    = 2 (1 - 2 lam) / beta - 2 d
    lambda0 = 4 lam / beta^2

and S[phi] = S'[sqrt(beta) phi] + N lam identically (an additive constant: every
expectation value agrees).  Conversely, given (m0sq, lambda0), beta is the positive root of
(lambda0/2) beta^2 + (d + m0sq/2) beta - 1 = 0 and lam = lambda0 beta^2 / 4; a root exists
for every lambda0 > 0 and, at lambda0 = 0, iff d + m0sq/2 > 0.  Expectation values of the
continuum field follow as <phi'^k> = beta^(k/2) <phi^k>; the Binder cumulant is invariant.

Observables (per site, N = L^2; m = (1/N) sum_x phi_x):

* ``hop``  (1/N) sum_x sum_mu phi_x phi_{x+mu}  (the beta-conjugate term, -dS/dbeta / N)
* ``phi2`` (1/N) sum_x phi_x^2, ``phi4`` (1/N) sum_x phi_x^4
* ``action`` S/N = -beta hop + phi2 + lam (phi4 - 2 phi2 + 1)
* ``m``, ``abs_m`` |m|, ``m2`` m^2, ``m4`` m^4
* ``binder`` U = 1 - <m^4> / (3 <m^2>^2)
* ``chi`` N <m^2> (finite lattice, zero field, <m> = 0), ``chi_connected`` N (<m^2> - <|m|>^2)
* ``specific_heat`` N (<s^2> - <s>^2) with s = S/N (fluctuation of the action density)
"""

from __future__ import annotations

import math

import numpy as np

from rgpipe.stats import Stats, derived, gamma_method

DIM = 2
"""Space dimension of the lattice (the square lattice of rgpipe.physics.lattice)."""


def hopping_sum(phi: np.ndarray) -> float:
    """sum_x sum_mu phi_x phi_{x+mu} over the forward bonds of a periodic (L, L) field."""
    phi = np.asarray(phi, dtype=np.float64)
    return float(np.sum(phi * np.roll(phi, -1, axis=1)) + np.sum(phi * np.roll(phi, -1, axis=0)))


def action(phi: np.ndarray, beta: float, lam: float) -> float:
    """Lattice action S[phi] (dimensionless) of one configuration.

    Args:
        phi: float (L, L) field indexed [y, x] (site i = y L + x), periodic.
        beta: hopping coupling.
        lam: quartic coupling.
    """
    phi = np.asarray(phi, dtype=np.float64)
    p2 = phi * phi
    return float(-beta * hopping_sum(phi) + np.sum(p2) + lam * np.sum((p2 - 1.0) ** 2))


def continuum_action(phi_c: np.ndarray, m0sq: float, lambda0: float) -> float:
    """Continuum-like action S'[phi'] (see module docstring) of one (L, L) configuration."""
    phi_c = np.asarray(phi_c, dtype=np.float64)
    grad2 = np.sum((np.roll(phi_c, -1, axis=1) - phi_c) ** 2) + np.sum(
        (np.roll(phi_c, -1, axis=0) - phi_c) ** 2
    )
    return float(0.5 * grad2 + 0.5 * m0sq * np.sum(phi_c**2) + 0.25 * lambda0 * np.sum(phi_c**4))


def continuum_from_lattice(beta: float, lam: float, d: int = DIM) -> tuple[float, float]:
    """(m0sq, lambda0) of the continuum-like form equivalent to lattice (beta, lam).

    The fields are related by phi' = sqrt(beta) phi and S = S' + N lam.

    Raises:
        ValueError: if beta <= 0 (no real rescaling gives the unit gradient term).
    """
    if not beta > 0:
        raise ValueError(f"the continuum form needs beta > 0, got beta={beta!r}")
    return 2.0 * (1.0 - 2.0 * lam) / beta - 2.0 * d, 4.0 * lam / beta**2


def lattice_from_continuum(m0sq: float, lambda0: float, d: int = DIM) -> tuple[float, float]:
    """(beta, lam) of the lattice form equivalent to continuum-like (m0sq, lambda0).

    Returns:
        (beta, lam) with beta > 0; the lattice field is phi = phi' / sqrt(beta).

    Raises:
        ValueError: if lambda0 < 0, or lambda0 = 0 with d + m0sq/2 <= 0 (an unbounded
            Gaussian: no equivalent lattice coupling).
    """
    if not (math.isfinite(m0sq) and math.isfinite(lambda0)):
        raise ValueError(f"m0sq and lambda0 must be finite, got {m0sq!r}, {lambda0!r}")
    if lambda0 < 0:
        raise ValueError(f"lambda0 must be >= 0 (action unbounded below), got {lambda0!r}")
    c = d + 0.5 * m0sq
    if lambda0 == 0:
        if c <= 0:
            raise ValueError(
                f"lambda0 = 0 with m0sq = {m0sq!r} <= {-2 * d}: the Gaussian action is "
                "unbounded below (no lattice equivalent)"
            )
        beta = 1.0 / c
    else:
        # positive root of (lambda0/2) b^2 + c b - 1 = 0, written without cancellation
        disc = math.sqrt(c * c + 2.0 * lambda0)
        beta = 2.0 / (c + disc) if c >= 0 else (disc - c) / lambda0
    return beta, 0.25 * lambda0 * beta**2


def action_offset(n_sites: int, lam: float) -> float:
    """S[phi] - S'[sqrt(beta) phi] = N lam, the constant between the two forms."""
    return n_sites * lam


def gaussian_stability_interval(L: int) -> tuple[float, float]:
    """Open interval of beta in which the lam = 0 action is bounded below on the L x L torus.

    The quadratic form S = phi^T M phi has eigenvalues 1 - beta (cos k_x + cos k_y) over the
    lattice momenta k = 2 pi n / L; they are all positive iff beta_min < beta < beta_max
    with beta_max = 1/2 (k = 0) and beta_min = 1 / min_k (cos k_x + cos k_y) (-1/2 for even L).
    """
    c = np.cos(2.0 * np.pi * np.arange(L) / L)
    cmin = 2.0 * float(c.min())
    return 1.0 / cmin, 0.5


def parameter_problems(L: int, beta: float, lam: float, where: str = "") -> list[str]:
    """Readable reasons why (L, beta, lam) cannot be simulated; empty if it can.

    Checks: L >= 2 integer, finite beta and lam, lam >= 0 (the action is unbounded below
    otherwise), and for lam = 0 the Gaussian stability interval of the finite lattice.

    Args:
        where: prefix naming the source of the values (e.g. ``"config key 'mc.phi4.a'"``).
    """
    pre = f"{where}: " if where else ""
    msgs = []
    if not isinstance(L, int | np.integer) or L < 2:
        msgs.append(f"{pre}L = {L!r} is invalid: need an integer L >= 2")
        return msgs
    if not (math.isfinite(beta) and math.isfinite(lam)):
        msgs.append(f"{pre}beta = {beta!r}, lam = {lam!r} are invalid: numbers must be finite")
        return msgs
    if lam < 0:
        msgs.append(f"{pre}lam = {lam!r} is invalid: lam < 0 makes the action unbounded below")
    elif lam == 0:
        lo, hi = gaussian_stability_interval(int(L))
        if not lo < beta < hi:
            msgs.append(
                f"{pre}beta = {beta!r} with lam = 0 is an unstable Gaussian on the {L} x {L} "
                f"lattice: the free field needs {lo:.6g} < beta < {hi:.6g} "
                "(the quadratic form has a non-positive eigenvalue)"
            )
    return msgs


def check_parameters(L: int, beta: float, lam: float) -> None:
    """Raise ValueError with :func:`parameter_problems`'s messages if there are any."""
    msgs = parameter_problems(L, beta, lam)
    if msgs:
        raise ValueError("; ".join(msgs))


SERIES = ("m", "phi2", "phi4", "hop")
"""Primary measurement series a chain records, in this order (see module docstring)."""

META: dict[str, tuple[str, str]] = {
    "beta": (
        "1",
        "hopping coupling beta of S = sum[-beta sum_mu phi phi_mu + phi^2 + lam(phi^2-1)^2]",
    ),
    "lam": ("1", "quartic coupling lam of the lattice form"),
    "m0sq": ("1", "m0^2 of the equivalent continuum-like form (NaN for beta <= 0)"),
    "lambda0": ("1", "lambda0 of the equivalent continuum-like form (NaN for beta <= 0)"),
    "field_scale": ("1", "sqrt(beta): continuum field phi' = sqrt(beta) phi"),
    "m": ("1", "magnetisation per site m = (1/N) sum_x phi_x"),
    "phi2": ("1", "(1/N) sum_x phi_x^2"),
    "phi4": ("1", "(1/N) sum_x phi_x^4"),
    "hop": ("1", "(1/N) sum_x sum_mu phi_x phi_{x+mu}, forward bonds (-dS/dbeta / N)"),
    "action": ("1", "action density S/N"),
    "abs_m": ("1", "<|m|>"),
    "m2": ("1", "<m^2>"),
    "m4": ("1", "<m^4>"),
    "binder": ("1", "Binder cumulant 1 - <m^4>/(3 <m^2>^2)"),
    "chi": ("1", "N <m^2> (finite lattice, zero field)"),
    "chi_connected": ("1", "N (<m^2> - <|m|>^2)"),
    "specific_heat": ("1", "N (<s^2> - <s>^2), s = S/N the action density"),
}
"""(units, description) of every parameter, series and estimate name."""


def action_density(series: dict[str, np.ndarray], beta: float, lam: float) -> np.ndarray:
    """Action density S/N from the primary series (``hop``, ``phi2``, ``phi4``)."""
    p2 = series["phi2"]
    return -beta * series["hop"] + p2 + lam * (series["phi4"] - 2.0 * p2 + 1.0)


def estimates_from_series(
    series: dict[str, np.ndarray], n_sites: int, beta: float, lam: float
) -> dict[str, Stats]:
    """Gamma-method estimates of every observable from one chain.

    Args:
        series: float64 (n_meas,) arrays ``m``, ``phi2``, ``phi4``, ``hop`` of one chain.
        n_sites: N = L^2.
        beta, lam: couplings of the chain (for the action density).

    Returns:
        name -> Stats (scalars); names as in :data:`META`.
    """
    m = np.asarray(series["m"], dtype=np.float64)
    s = action_density(series, beta, lam)
    am, m2, m4 = np.abs(m), m * m, m**4
    n = float(n_sites)
    out = {
        "m": gamma_method(m),
        "abs_m": gamma_method(am),
        "m2": gamma_method(m2),
        "m4": gamma_method(m4),
        "phi2": gamma_method(series["phi2"]),
        "phi4": gamma_method(series["phi4"]),
        "hop": gamma_method(series["hop"]),
        "action": gamma_method(s),
        "binder": derived(lambda a: 1.0 - a[1] / (3.0 * a[0] ** 2), np.stack([m2, m4])),
        "chi_connected": derived(lambda a: n * (a[0] - a[1] ** 2), np.stack([m2, am])),
        "specific_heat": derived(lambda a: n * (a[1] - a[0] ** 2), np.stack([s, s * s])),
    }
    st = out["m2"]
    out["chi"] = Stats(n * st.mean, n * st.error_of_mean, n * n * st.variance, st.tau_int)
    return out
