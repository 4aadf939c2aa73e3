"""Exact Ising references checked against each other and against known closed forms."""

import mpmath
import numpy as np
import pytest

from rgpipe.physics.ising_exact import (
    J_C_LIEB,
    K_C_SQUARE,
    density_of_states,
    enumerate_exact,
    kaufman_log_z,
    lieb_magnetisation_moments,
    lieb_thermo,
    onsager_energy,
    square_thermo,
)
from rgpipe.physics.lattice import lieb, square

KS = [0.1, 0.3, K_C_SQUARE, 0.6, 1.0]


def test_critical_couplings():
    assert K_C_SQUARE == pytest.approx(0.4406867935097715, abs=1e-15)
    assert J_C_LIEB == pytest.approx(0.7642854597, abs=1e-10)
    # the decimated coupling of the Lieb lattice at J_c is the square lattice's K_c
    assert np.arctanh(np.tanh(J_C_LIEB) ** 2) == pytest.approx(K_C_SQUARE, abs=1e-14)


def test_density_of_states_counts_every_state():
    e, m, count = density_of_states(square(3))
    assert count.sum() == 2**9
    assert (e % 2 == 0).all() and e.min() == -18  # 2 N bonds, all aligned
    assert m.max() == 9


@pytest.mark.parametrize("L", [2, 3, 4])
@pytest.mark.parametrize("k", KS)
def test_kaufman_matches_enumeration(L, k):
    ref = enumerate_exact(square(L), k)
    kf = square_thermo(L, k)
    assert kf.energy == pytest.approx(ref.energy, abs=1e-11)
    assert kf.specific_heat == pytest.approx(ref.specific_heat, abs=1e-10)


@pytest.mark.parametrize("m,n", [(2, 3), (3, 4)])
def test_kaufman_rectangular_matches_enumeration(m, n):
    """Kaufman's formula for m rows x n columns against a brute-force sum."""
    # rectangular torus: rows of n sites, m rows
    idx = np.arange(m * n).reshape(m, n)
    bonds = np.concatenate(
        [
            np.stack([idx.ravel(), np.roll(idx, -1, axis=1).ravel()], 1),
            np.stack([idx.ravel(), np.roll(idx, -1, axis=0).ravel()], 1),
        ]
    )
    states = np.arange(1 << (m * n))
    spins = ((states[:, None] >> np.arange(m * n)) & 1) * 2 - 1
    energy = -(spins[:, bonds[:, 0]] * spins[:, bonds[:, 1]]).sum(1)
    for k in (0.2, 0.5):
        log_z = np.log(np.exp(-k * energy).sum())
        assert float(kaufman_log_z(m, n, k)) == pytest.approx(log_z, rel=1e-12)
        assert float(kaufman_log_z(n, m, k)) == pytest.approx(log_z, rel=1e-12)


@pytest.mark.parametrize("k", [0.3, 0.6])
def test_kaufman_large_lattice_approaches_onsager(k):
    """Away from K_c finite-size corrections are exponentially small."""
    assert square_thermo(64, k).energy == pytest.approx(onsager_energy(k), abs=1e-10)


def test_kaufman_at_criticality_finite_size():
    """At K_c, e_L -> -sqrt 2 with O(1/L) corrections, and c grows like (8/pi) K_c^2 ln L."""
    e = [square_thermo(L, K_C_SQUARE).energy for L in (32, 64, 128)]
    gaps = [abs(x + np.sqrt(2)) for x in e]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 2e-2
    c64, c128 = (square_thermo(L, K_C_SQUARE).specific_heat for L in (64, 128))
    slope = (c128 - c64) / np.log(2)
    assert slope == pytest.approx(8 / np.pi * K_C_SQUARE**2, rel=0.02)


@pytest.mark.parametrize("j", [0.2, 0.5, J_C_LIEB, 1.2])
def test_lieb_decimation_matches_enumeration(j):
    ref = enumerate_exact(lieb(2), j)
    th = lieb_thermo(2, j)
    assert th.energy == pytest.approx(ref.energy, abs=1e-11)
    assert th.specific_heat == pytest.approx(ref.specific_heat, abs=1e-10)
    mom = lieb_magnetisation_moments(2, j)
    for name in ("abs_m", "m2", "m4", "binder", "susceptibility", "susceptibility_abs"):
        assert getattr(mom, name) == pytest.approx(getattr(ref, name), abs=1e-11), name


def test_lieb_partition_function_identity():
    """Z_Lieb(J) = (2 e^{K_eff})^{2N} Z_square(K_eff) against brute force at L = 2."""
    lat = lieb(2)
    e, _, count = density_of_states(lat)
    for j in (0.4, 0.9):
        log_z = np.log((count * np.exp(-j * e)).sum())
        k_eff = np.arctanh(np.tanh(j) ** 2)
        decimated = 2 * 4 * (np.log(2) + k_eff) + float(kaufman_log_z(2, 2, k_eff))
        assert decimated == pytest.approx(log_z, rel=1e-13)


def test_lieb_moments_l3_against_partial_brute_force():
    """L = 3 (27 spins): magnetisation moments by summing corner states explicitly and
    tracing each bond spin numerically, a different route from the binomial grouping."""
    j = 0.7
    lat = lieb(3)
    n_c = 9
    corners = ((np.arange(1 << n_c)[:, None] >> np.arange(n_c)) & 1) * 2 - 1
    # bond spin b sits between corners (a, c): its two neighbours are corners
    bond_nbrs = lat.neighbors[n_c:, :2]
    field = corners[:, bond_nbrs[:, 0]] + corners[:, bond_nbrs[:, 1]]  # (states, 18)
    # generating function of M over bond spins, as polynomial in z (degree 18)
    w_up, w_dn = np.exp(j * field), np.exp(-j * field)
    dist = np.ones((len(corners), 1))
    for b in range(field.shape[1]):
        new = np.zeros((len(corners), dist.shape[1] + 1))
        new[:, 1:] += dist * w_up[:, b : b + 1]
        new[:, :-1] += dist * w_dn[:, b : b + 1]
        dist = new
    m_bond = 2 * np.arange(dist.shape[1]) - field.shape[1]
    m_tot = (corners.sum(1)[:, None] + m_bond[None, :]) / 27
    z = dist.sum()
    m2 = (dist * m_tot**2).sum() / z
    m4 = (dist * m_tot**4).sum() / z
    am = (dist * np.abs(m_tot)).sum() / z
    mom = lieb_magnetisation_moments(3, j)
    assert mom.m2 == pytest.approx(m2, rel=1e-12)
    assert mom.m4 == pytest.approx(m4, rel=1e-12)
    assert mom.abs_m == pytest.approx(am, rel=1e-12)


def test_kaufman_precision_is_controlled():
    with mpmath.workdps(60):
        hi = kaufman_log_z(8, 8, mpmath.mpf("0.44"))
    lo = kaufman_log_z(8, 8, 0.44)
    assert float(abs(hi - lo)) < 1e-12
