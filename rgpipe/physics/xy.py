"""2D XY model: conventions and the observables of one configuration (numpy reference code).

Model and units
---------------
``H = -J sum_<ij> cos(theta_i - theta_j)`` with ``J = 1``; the coupling is ``K = J/T``
(``T`` in units of ``J``, ``k_B = 1``).  Energies and the helicity modulus are in units
of ``J``, angles in radians, stored in ``[0, 2 pi)``.

Geometries (both periodic):

* ``square``: ``L x L``, a configuration has shape ``(L, L)`` indexed ``[y, x]``, site
  ``i = y L + x`` (as :mod:`rgpipe.physics.lattice`).  Bonds ``(i, i + x_hat)`` and
  ``(i, i + y_hat)`` for every site: ``2 N`` bonds, ``N = L^2``.  For ``L = 2`` the two
  bonds between a pair of sites are distinct bonds (the pair is coupled with ``2 J``).
* ``ring``: the ``L x 1`` lattice, a periodic chain of ``N = L`` sites, shape ``(L,)``;
  bonds ``(i, i + 1 mod L)`` (``N`` bonds; for ``L = 2`` again a double bond).

Observables of one configuration (``N`` sites, ``d theta_mu(i) = theta_{i+mu} - theta_i``):

* ``energy``  ``e = -(1/N) sum_bonds cos(d theta)`` (per site, units of J).
* ``m = (1/N) sum_i (cos theta_i, sin theta_i)``; ``abs_m = |m|``, ``m2 = |m|^2``.
* ``cos_mu = (1/N) sum_i cos(d theta_mu(i))`` and ``sin2_mu = (1/N) (sum_i sin(d theta_mu(i)))^2``.
* ``helicity_mu = cos_mu - K sin2_mu``: an unbiased per-configuration estimator of the
  helicity modulus.  Twisting every ``mu`` bond by ``Delta`` (``d theta -> d theta - Delta``,
  a total twist ``L Delta`` across the system) gives the free energy ``F(Delta)`` and

      Upsilon_mu = (1/N) d^2 F / d Delta^2 |_0
                 = (1/N) [ J <sum cos d theta_mu> - (J^2/T) <(sum sin d theta_mu)^2> ]
                 = J [ <cos_mu> - K <sin2_mu> ],

  the term ``+ (J^2/T) <sum sin>^2 / N`` vanishing exactly by the symmetry
  ``theta -> -theta``.  ``Upsilon`` is in units of ``J``; in 2D it is also the stiffness
  ``d^2 F / d Phi^2`` for a total twist ``Phi = L Delta``, and the BKT jump is
  ``Upsilon = 2 T / pi``.  ``helicity = (helicity_x + helicity_y) / 2`` on the square
  lattice, ``helicity_x`` on the ring.
* ``vortex_density = (1/N) sum_p |q_p|`` (vortices and antivortices both counted, ``N``
  plaquettes).  The charge of the plaquette with lower-left corner ``(x, y)`` is
  ``q = (1 / 2 pi) sum w(d theta)`` over its edges taken counter-clockwise
  ``(x,y) -> (x+1,y) -> (x+1,y+1) -> (x,y+1) -> (x,y)``, with each difference wrapped by
  ``w`` into ``(-pi, pi]``.  A field whose wrapped differences along every bond are
  below ``pi/2`` in magnitude has no vortex (the four terms cannot add up to 2 pi).
  The ring has no plaquettes.

Ensemble quantities built from these (see :func:`rgpipe.mc.xy.driver.simulate`):
``specific_heat = K^2 N (<e^2> - <e>^2)`` (per site, ``d<e>/dT``) and
``susceptibility = K N <m2>`` (per site, units ``1/J``; ``<m> = 0`` in finite volume so
nothing is subtracted).
"""

from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi


def wrap_angle(d: np.ndarray | float) -> np.ndarray:
    """Map angle differences into ``(-pi, pi]`` (``pi`` and ``-pi`` both map to ``pi``)."""
    d = np.asarray(d, dtype=np.float64)
    return d + TWO_PI * np.floor((np.pi - d) / TWO_PI)


def _check(theta: np.ndarray) -> np.ndarray:
    """Validate a configuration: shape (L, L) (square) or (L,) (ring), L >= 2."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim == 2 and theta.shape[0] != theta.shape[1]:
        raise ValueError(f"square configurations must be L x L, got shape {theta.shape}")
    if theta.ndim not in (1, 2) or theta.shape[0] < 2:
        raise ValueError(f"expected shape (L, L) or (L,) with L >= 2, got {theta.shape}")
    return theta


def bond_differences(theta: np.ndarray) -> list[np.ndarray]:
    """``d theta_mu = theta_{i+mu} - theta_i`` per direction (x first), each shaped as theta."""
    theta = _check(theta)
    if theta.ndim == 1:
        return [np.roll(theta, -1) - theta]
    return [np.roll(theta, -1, axis=1) - theta, np.roll(theta, -1, axis=0) - theta]


def energy_per_site(theta: np.ndarray) -> float:
    """``e = -(1/N) sum_bonds cos(d theta)`` in units of J."""
    n = np.asarray(theta).size
    return -float(sum(np.cos(d).sum() for d in bond_differences(theta))) / n


def magnetisation(theta: np.ndarray) -> np.ndarray:
    """Magnetisation per site ``(m_x, m_y)``, shape (2,)."""
    theta = _check(theta)
    return np.array([np.cos(theta).mean(), np.sin(theta).mean()])


def helicity_sums(theta: np.ndarray, direction: int) -> tuple[float, float]:
    """``(sum_i cos d theta_mu(i), sum_i sin d theta_mu(i))`` for mu = x (0) or y (1)."""
    d = bond_differences(theta)[direction]
    return float(np.cos(d).sum()), float(np.sin(d).sum())


def helicity_estimator(theta: np.ndarray, coupling: float, direction: int) -> float:
    """Per-configuration helicity estimator ``cos_mu - K sin2_mu`` (units of J)."""
    n = np.asarray(theta).size
    c, s = helicity_sums(theta, direction)
    return (c - coupling * s * s) / n


def plaquette_charges(theta: np.ndarray) -> np.ndarray:
    """Integer vortex charges, shape (L, L) ``[y, x]`` = plaquette with lower-left corner (x, y)."""
    theta = _check(theta)
    if theta.ndim != 2:
        raise ValueError("plaquettes exist only on the square lattice")
    right = np.roll(theta, -1, axis=1)
    up = np.roll(theta, -1, axis=0)
    diag = np.roll(right, -1, axis=0)
    total = (
        wrap_angle(right - theta)
        + wrap_angle(diag - right)
        + wrap_angle(up - diag)
        + wrap_angle(theta - up)
    )
    return np.rint(total / TWO_PI).astype(np.int64)


def vortex_density(theta: np.ndarray) -> float:
    """``(1/N) sum_p |q_p|``: vortices plus antivortices per site."""
    q = plaquette_charges(theta)
    return float(np.abs(q).sum()) / q.size


def observables(theta: np.ndarray, coupling: float) -> dict[str, float]:
    """Every per-configuration observable of the module docstring (floats).

    Keys: energy, abs_m, m2, cos_x, sin2_x, helicity_x, helicity, and on the square
    lattice also cos_y, sin2_y, helicity_y, vortex_density.
    """
    theta = _check(theta)
    n = theta.size
    mx, my = magnetisation(theta)
    out = {"energy": energy_per_site(theta), "m2": mx * mx + my * my}
    out["abs_m"] = float(np.sqrt(out["m2"]))
    names = "xy"[: theta.ndim]
    for k, mu in enumerate(names):
        c, s = helicity_sums(theta, k)
        out[f"cos_{mu}"] = c / n
        out[f"sin2_{mu}"] = s * s / n
        out[f"helicity_{mu}"] = (c - coupling * s * s) / n
    out["helicity"] = float(np.mean([out[f"helicity_{mu}"] for mu in names]))
    if theta.ndim == 2:
        out["vortex_density"] = vortex_density(theta)
    return out
