"""XY model: exact references, observables, vortices, every update against exact answers.

Statistical tests use fixed seeds and Gamma-method (or iid) error bars with |z| < 3.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import i0, i1, ive, j0
from util import max_error, mean_of, pull

from rgpipe.mc.rng import stream_states
from rgpipe.mc.systems import validate_job
from rgpipe.mc.xy import chain, observables
from rgpipe.mc.xy import kernels as mc
from rgpipe.mc.xy.driver import simulate
from rgpipe.mc.xy.spec import UPDATES
from rgpipe.physics import xy as phys
from rgpipe.physics import xy_exact as exact

TWO_PI = 2.0 * np.pi


def run_xy(job: dict) -> dict:
    """Simulate an XY job given by some of its options (validated, defaults filled)."""
    return simulate(validate_job({"system": "xy", **job}))


def zscore(res: dict, name: str, ik: int, value: float) -> float:
    """(estimate - exact) / error for coupling index ik of a run_xy result, after checking
    that the error is positive and below an upper bound from blocking jackknifes of the
    stored series (the estimator written out here), so an inflated error bar fails."""
    st = res["estimates"][name]
    k, n = float(res["couplings"][ik]), float(res["n_sites"])
    s = {key: v[ik] for key, v in res["series"].items()}
    if name == "specific_heat":
        e = s["energy"]
        bound = max_error(lambda a, b: k * k * n * (b - a * a), e, e * e)
    elif name == "susceptibility":
        bound = k * n * max_error(mean_of, s["m2"])
    else:
        bound = max_error(mean_of, s[name])
    return pull(st.mean[ik], st.error_of_mean[ik], value, bound, f"{name}@{k}")


# --------------------------------------------------------------------------- references


def test_ring_reference_against_scipy_quadrature():
    """Bessel sums of the 3-site ring against adaptive 2D integration (theta_0 = 0)."""
    k = 1.3

    def bonds(t1, t2):
        return np.array([t1, t2 - t1, -t2])  # theta_1-theta_0, theta_2-theta_1, theta_0-theta_2

    def weight(t1, t2):
        return math.exp(k * np.cos(bonds(t1, t2)).sum())

    def integral(f):
        return integrate.dblquad(
            lambda t2, t1: weight(t1, t2) * f(t1, t2), 0, TWO_PI, 0, TWO_PI, epsabs=0, epsrel=1e-11
        )[0]

    z = integral(lambda a, b: 1.0)

    def avg(f):
        return integral(f) / z

    e = avg(lambda a, b: -np.cos(bonds(a, b)).sum() / 3)
    e2 = avg(lambda a, b: (np.cos(bonds(a, b)).sum() / 3) ** 2)
    sin2 = avg(lambda a, b: np.sin(bonds(a, b)).sum() ** 2 / 3)
    m2 = avg(lambda a, b: ((1 + np.cos(a) + np.cos(b)) ** 2 + (np.sin(a) + np.sin(b)) ** 2) / 9)
    ref = exact.ring_exact(3, k)
    assert ref["energy"] == pytest.approx(e, rel=1e-9)
    assert ref["specific_heat"] == pytest.approx(k * k * 3 * (e2 - e * e), rel=1e-7)
    assert ref["helicity_x"] == pytest.approx(-e - k * sin2, rel=1e-8)
    assert ref["m2"] == pytest.approx(m2, rel=1e-9)
    z_ref = math.exp(exact.ring_log_partition(3, k)) / TWO_PI  # theta_0 integral removed
    assert z_ref == pytest.approx(z, rel=1e-9)


@pytest.mark.parametrize("n_sites", [2, 3, 4])
@pytest.mark.parametrize("k", [0.0, 0.4, 1.0, 3.0])
def test_ring_reference_against_grid_quadrature(n_sites, k):
    b, d = exact.ring_bonds(n_sites)
    q = exact.quadrature(b, d, n_sites, k, exact.default_grid(k, 1.0))
    ref = exact.ring_exact(n_sites, k)
    for name, value in ref.items():
        assert value == pytest.approx(q[name], rel=1e-10, abs=1e-12), name


def test_ring_thermodynamic_limit_and_derivatives():
    k, n = 1.1, 400
    u = i1(k) / i0(k)
    assert exact.ring_energy(n, k) == pytest.approx(-u, rel=1e-12)
    assert exact.ring_specific_heat(n, k) == pytest.approx(k * k * (1 - u / k - u * u), rel=1e-10)
    assert exact.ring_helicity(n, k) < 1e-100
    # d ln Z / dK and d^2 ln Z / dK^2 by finite differences of ring_log_partition
    for n_sites, kk in [(5, 0.7), (12, 2.5)]:
        h = 1e-4
        f = [exact.ring_log_partition(n_sites, kk + j * h) for j in (-1, 0, 1)]
        e_fd = -(f[2] - f[0]) / (2 * h) / n_sites
        c_fd = kk * kk * (f[2] - 2 * f[1] + f[0]) / h**2 / n_sites
        assert exact.ring_energy(n_sites, kk) == pytest.approx(e_fd, rel=1e-8)
        assert exact.ring_specific_heat(n_sites, kk) == pytest.approx(c_fd, rel=1e-5)


def test_ring_helicity_is_twist_curvature():
    """Upsilon = (1/N) d^2F/dDelta^2 from Z(Delta) = (2pi)^N sum_n I_n^N cos(n N Delta)."""
    n_sites, k, h = 4, 1.7, 1e-3
    orders = np.arange(-60, 61)
    w = np.array([float(ive(abs(o), k)) for o in orders]) ** n_sites

    def free_energy(delta):
        return -math.log(np.sum(w * np.cos(orders * n_sites * delta))) / k

    curv = (free_energy(h) - 2 * free_energy(0.0) + free_energy(-h)) / h**2
    assert exact.ring_helicity(n_sites, k) == pytest.approx(curv / n_sites, rel=1e-5)


@pytest.mark.parametrize("k", [0.0, 0.35, 0.7, 2.0])
def test_torus2x2_against_ring_of_four(k):
    """The 2 x 2 torus is the 4-ring 0-1-3-2 with every link doubled (coupling 2K)."""
    t = exact.torus2x2(k)
    r = exact.ring_exact(4, 2 * k)
    assert t["energy"] == pytest.approx(2 * r["energy"], rel=1e-11, abs=1e-13)
    assert t["specific_heat"] == pytest.approx(r["specific_heat"], rel=1e-10, abs=1e-13)
    assert t["m2"] == pytest.approx(r["m2"], rel=1e-11)
    # d theta sums of the two bonds of a pair cancel: helicity = <cos> of one direction
    for mu in "xy":
        assert t[f"sin2_{mu}"] == pytest.approx(0.0, abs=1e-20)
        assert t[f"helicity_{mu}"] == pytest.approx(-r["energy"], rel=1e-11, abs=1e-13)
    # |m| is not smooth where the spins cancel: the grid error decays only as n^-3
    finer = exact.torus2x2(k, n_grid=128)
    assert t["abs_m"] == pytest.approx(finer["abs_m"], abs=2e-6)


def test_torus2x2_abs_m_at_infinite_temperature_is_a_random_walk_length():
    """At K = 0, <|m|> = W_4(1)/4, W_4(1) = int_0^inf (1 - J_0(t)^4) / t^2 dt."""

    def f(t):
        return (1 - j0(t) ** 4) / t**2

    w4 = integrate.quad(f, 0, 50, limit=500)[0] + integrate.quad(f, 50, np.inf, limit=2000)[0]
    assert w4 == pytest.approx(1.79909248, abs=1e-8)  # Borwein, Straub, Wan, Zudilin (2012)
    assert exact.torus2x2(0.0)["abs_m"] == pytest.approx(w4 / 4, abs=2e-6)


# --------------------------------------------------------------------------- observables


def test_wrap_angle_range():
    d = np.array([np.pi, -np.pi, 3 * np.pi, -3 * np.pi, 0.0, 1.0, -1.0, 7.0, -5.5])
    w = phys.wrap_angle(d)
    assert np.all(w > -np.pi) and np.all(w <= np.pi)
    assert w[0] == np.pi and w[1] == np.pi
    assert np.allclose(np.cos(w), np.cos(d)) and np.allclose(np.sin(w), np.sin(d))
    for x in d:
        assert mc._wrap_pi(x) == pytest.approx(phys.wrap_angle(x), abs=1e-15)


@pytest.mark.parametrize(
    ("L", "lattice"), [(2, "square"), (3, "square"), (8, "square"), (2, "ring"), (7, "ring")]
)
def test_compiled_measurement_matches_numpy(L, lattice):
    rng = np.random.default_rng(L)
    shape = mc.config_shape(L, lattice)
    for _ in range(5):
        theta = rng.uniform(0, TWO_PI, shape)
        k = rng.uniform(0, 2)
        c, s = mc.spin_cache(theta)
        raw = np.zeros(len(mc.MEASURE_COLUMNS))
        mc.measure(theta.ravel().copy(), c, s, mc.neighbor_table(L, lattice), raw)
        got = observables.series_from_raw(raw[None], k, theta.size, lattice == "square")
        ref = phys.observables(theta, k)
        for name, value in ref.items():
            assert got[name][0] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_helicity_estimator_on_twisted_configuration():
    L, k, winding = 8, 0.9, 1
    q = TWO_PI * winding / L
    x = np.arange(L)
    theta = np.mod(np.broadcast_to(q * x, (L, L)), TWO_PI)
    obs = phys.observables(theta, k)
    n = L * L
    assert obs["helicity_x"] == pytest.approx(np.cos(q) - k * n * np.sin(q) ** 2)
    assert obs["helicity_y"] == pytest.approx(1.0)
    assert obs["energy"] == pytest.approx(-(np.cos(q) + 1.0))
    assert obs["vortex_density"] == 0.0


def smooth_field(L: int, rng: np.random.Generator) -> np.ndarray:
    """Winding plus low Fourier modes, bond differences below pi/2."""
    y, x = np.mgrid[0:L, 0:L]
    theta = TWO_PI * (x + 2 * y) / L
    for kx, ky in [(1, 0), (0, 1), (1, 1), (2, -1)]:
        theta = theta + 0.15 * rng.normal() * np.cos(TWO_PI * (kx * x + ky * y) / L + rng.uniform())
    return np.mod(theta, TWO_PI)


def compiled_vortices(theta: np.ndarray) -> float:
    L = theta.shape[0]
    c, s = mc.spin_cache(theta)
    raw = np.zeros(len(mc.MEASURE_COLUMNS))
    mc.measure(theta.ravel().copy(), c, s, mc.neighbor_table(L), raw)
    return raw[6]


def test_smooth_field_has_no_vortices():
    rng = np.random.default_rng(5)
    for L in (12, 16, 32):
        theta = smooth_field(L, rng)
        assert max(np.abs(phys.wrap_angle(d)).max() for d in phys.bond_differences(theta)) < 1.5
        assert np.all(phys.plaquette_charges(theta) == 0)
        assert phys.vortex_density(theta) == 0.0
        assert compiled_vortices(theta) == 0.0


def vortex_pair(L: int, plus: tuple[int, int], minus: tuple[int, int]) -> np.ndarray:
    """Angles of a vortex at the centre of plaquette ``plus`` (x, y) and an antivortex."""
    y, x = np.mgrid[0:L, 0:L].astype(float)
    theta = np.arctan2(y - plus[1] - 0.5, x - plus[0] - 0.5) - np.arctan2(
        y - minus[1] - 0.5, x - minus[0] - 0.5
    )
    return np.mod(theta, TWO_PI)


@pytest.mark.parametrize("shift", [(0, 0), (7, 9), (12, 3)])
def test_vortex_antivortex_pair(shift):
    L = 16
    theta = np.roll(vortex_pair(L, (5, 8), (11, 8)), shift, axis=(0, 1))
    expected = np.zeros((L, L), dtype=np.int64)
    expected[(8 + shift[0]) % L, (5 + shift[1]) % L] = 1
    expected[(8 + shift[0]) % L, (11 + shift[1]) % L] = -1
    assert np.array_equal(phys.plaquette_charges(theta), expected)
    assert phys.vortex_density(theta) == 2 / L**2
    assert compiled_vortices(theta) == 2
    # reflection theta -> -theta swaps vortex and antivortex
    assert np.array_equal(phys.plaquette_charges(np.mod(-theta, TWO_PI)), -expected)


def test_random_configurations_have_zero_total_charge():
    rng = np.random.default_rng(11)
    for L in (2, 3, 6, 10):
        theta = rng.uniform(0, TWO_PI, (L, L))
        q = phys.plaquette_charges(theta)
        assert q.sum() == 0 and np.all(np.abs(q) <= 1)
        assert compiled_vortices(theta) == np.abs(q).sum()
    # hot configurations are full of vortices (density 1/3 for independent angles)
    theta = rng.uniform(0, TWO_PI, (64, 64))
    assert phys.vortex_density(theta) == pytest.approx(1 / 3, abs=0.03)


# --------------------------------------------------------------------------- kernels


def random_chain(L: int, lattice: str, k: float, seed: int) -> chain.Chain:
    return chain.Chain(L, lattice, k, stream_states(seed, (99,), 1)[0], "hot")


def test_overrelaxation_conserves_energy_and_caches_stay_exact():
    ch = random_chain(8, "square", 1.0, 1)
    ch.run(20, 1.0, 2, 1, 0)
    e0 = phys.energy_per_site(ch.config())
    before = ch.theta.copy()
    ch.run(10, 1.0, 0, 0, 1)
    assert not np.allclose(before, ch.theta)
    assert phys.energy_per_site(ch.config()) == pytest.approx(e0, abs=1e-12)
    ch.run(10, 0.7, 3, 1, 1)
    assert np.all((ch.theta >= 0) & (ch.theta < TWO_PI))
    assert np.array_equal(ch.c, np.cos(ch.theta)) and np.array_equal(ch.s, np.sin(ch.theta))


def test_wolff_clusters_are_single_spins_at_infinite_temperature_and_grow_when_cold():
    hot = random_chain(16, "square", 0.0, 2)
    hot.run(50, 1.0, 5, 0, 0)
    assert hot.counters[2] == hot.counters[3] == 250
    cold = chain.Chain(16, "square", 3.0, stream_states(3, (99,), 1)[0], "cold")
    cold.run(20, 1.0, 1, 0, 0)
    assert cold.counters[2] / cold.counters[3] > 0.5 * 256


def sample_exactly(bonds: np.ndarray, n_sites: int, k: float, n: int, seed: int) -> np.ndarray:
    """iid equilibrium configurations (n, n_sites) by rejection from uniform angles."""
    rng = np.random.default_rng(seed)
    out = []
    while sum(len(o) for o in out) < n:
        t = rng.uniform(0, TWO_PI, (200000, n_sites))
        csum = np.cos(t[:, bonds[:, 1]] - t[:, bonds[:, 0]]).sum(axis=1)
        keep = rng.uniform(size=len(t)) < np.exp(k * (csum - len(bonds)))
        out.append(t[keep])
    return np.concatenate(out)[:n]


def measure_all(configs: np.ndarray, nbr: np.ndarray, k: float, two_d: bool) -> dict:
    raw = np.zeros((len(configs), len(mc.MEASURE_COLUMNS)))
    for row, theta in zip(raw, configs, strict=True):
        c, s = mc.spin_cache(theta)
        mc.measure(theta, c, s, nbr, row)
    return observables.series_from_raw(raw, k, configs.shape[1], two_d)


def one_move(kind: str, configs: np.ndarray, nbr: np.ndarray, k: float, seed: int) -> np.ndarray:
    """Apply one elementary move to each configuration independently."""
    state = stream_states(seed, (7,), 1)[0]
    n = configs.shape[1]
    stack, mark, proj = np.zeros(n, np.int64), np.full(n, -1, np.int64), np.zeros(n)
    out = configs.copy()
    for stamp, theta in enumerate(out):
        c, s = mc.spin_cache(theta)
        if kind == "metropolis":
            mc.metropolis_sweep(theta, c, s, nbr, k, 1.0, state)
        elif kind == "metropolis_pi":
            mc.metropolis_sweep(theta, c, s, nbr, k, np.pi, state)
        elif kind == "overrelax":
            mc.overrelax_sweep(theta, c, s, nbr)
        else:
            mc.wolff_cluster(theta, c, s, nbr, k, state, stack, mark, stamp, proj)
    return out


SMALL = {
    "ring3": (mc.neighbor_table(3, "ring"), *exact.ring_bonds(3), 3, 1.0),
    "torus2x2": (mc.neighbor_table(2), *exact.square_bonds(2), 4, 0.5),
}


@pytest.mark.parametrize("system", sorted(SMALL))
def test_each_move_preserves_the_exact_distribution(system):
    """Stationarity from iid exact samples, and detailed balance of the cluster move.

    One move applied to exact equilibrium samples must leave the moments exact; for the
    reversible Wolff move the pair (before, after) must also be exchangeable:
    <f(before) g(after)> = <f(after) g(before)>.
    """
    nbr, bonds, dirs, n_sites, k = SMALL[system]
    ref = exact.quadrature(bonds, dirs, n_sites, k, 48)
    n = 20000
    x0 = sample_exactly(bonds, n_sites, k, n, seed=1)
    two_d = system == "torus2x2"
    obs0 = measure_all(x0, nbr, k, two_d)
    for kind in ("metropolis", "metropolis_pi", "overrelax", "wolff"):
        x1 = one_move(kind, x0, nbr, k, seed=2)
        assert not np.allclose(x0, x1)
        obs1 = measure_all(x1, nbr, k, two_d)
        for name in ("energy", "m2", "helicity_x"):
            a = obs1[name]
            # the error bar bounded by the spread of the exact samples themselves (a move
            # that kept the moments but widened the distribution would inflate it)
            sd = float(np.std(obs0[name]))
            z = pull(a.mean(), a.std() / math.sqrt(n), ref[name], 1.05 * sd / math.sqrt(n))
            assert abs(z) < 3, (kind, name, z)
        if kind == "wolff":
            d = obs0["energy"] * obs1["m2"] - obs1["energy"] * obs0["m2"]
            assert abs(d.mean() / (d.std() / math.sqrt(n))) < 3


# --------------------------------------------------------------------------- chains


@pytest.mark.parametrize("update", sorted(UPDATES))
def test_ring_chain_against_exact(update):
    couplings = [0.5, 1.5]
    res = run_xy(
        {
            "L": 5,
            "lattice": "ring",
            "couplings": couplings,
            "update": update,
            "sweeps": 100000,
            "thermalization": 1000,
            "seed": 12,
        }
    )
    assert set(res["estimates"]) == set(observables.ESTIMATES) - {"helicity_y", "vortex_density"}
    for ik, k in enumerate(couplings):
        ref = exact.ring_exact(5, k)
        ref["helicity"] = ref["helicity_x"]
        for name, value in ref.items():
            z = zscore(res, name, ik, value)
            assert abs(z) < 3, (update, k, name, z)


@pytest.mark.parametrize("update", sorted(UPDATES))
def test_torus2x2_chain_against_exact(update):
    couplings = [0.3, 0.9]
    res = run_xy(
        {
            "L": 2,
            "couplings": couplings,
            "update": update,
            "sweeps": 100000,
            "thermalization": 1000,
            "seed": 34,
        }
    )
    assert set(res["estimates"]) == set(observables.ESTIMATES)
    for ik, k in enumerate(couplings):
        ref = exact.torus2x2(k)
        for name in (
            "energy",
            "specific_heat",
            "m2",
            "abs_m",
            "susceptibility",
            "helicity_x",
            "helicity_y",
            "helicity",
        ):
            z = zscore(res, name, ik, ref[name])
            assert abs(z) < 3, (update, k, name, z)
        assert 0 < res["estimates"]["vortex_density"].mean[ik] < 0.5


def test_metropolis_with_fixed_window_against_exact():
    res = run_xy(
        {
            "L": 4,
            "lattice": "ring",
            "couplings": [2.0],
            "update": "metropolis",
            "metropolis_step": 0.4,
            "sweeps": 100000,
            "seed": 5,
        }
    )
    assert res["diagnostics"]["metropolis_step"][0] == 0.4
    assert res["diagnostics"]["acceptance"][0] > 0.7
    ref = exact.ring_exact(4, 2.0)
    for name in ("energy", "m2", "helicity_x"):
        assert abs(zscore(res, name, 0, ref[name])) < 3


# --------------------------------------------------------------------------- driver


JOB = {"L": 6, "couplings": [0.6, 1.1], "sweeps": 300, "thermalization": 50, "seed": 2024}


def test_same_seed_gives_identical_series():
    a, b = run_xy(JOB), run_xy(dict(JOB))
    for name in a["series"]:
        assert np.array_equal(a["series"][name], b["series"][name])
    assert np.array_equal(a["final"], b["final"])
    c = run_xy({**JOB, "seed": 2025})
    assert not np.array_equal(a["series"]["energy"], c["series"]["energy"])
    # a chain depends on its own coupling only, and snapshots do not perturb it
    d = run_xy({**JOB, "couplings": [1.1], "configurations": 3})
    assert np.array_equal(a["series"]["energy"][1], d["series"]["energy"][0])
    assert np.array_equal(d["configurations"][0, -1], d["final"][0])


def test_result_layout():
    res = run_xy({**JOB, "measure_every": 3, "configurations": 2})
    n_meas = JOB["sweeps"] // 3
    assert res["couplings"].shape == (2,) and res["n_sites"] == 36
    for name, arr in res["series"].items():
        assert arr.shape == (2, n_meas), name
    for name in observables.ESTIMATES:
        st = res["estimates"][name]
        for field in (st.mean, st.error_of_mean, st.variance, st.tau_int):
            assert np.shape(field) == (2,) and np.all(np.isfinite(field)), name
    assert res["configurations"].shape == (2, 2, 6, 6)
    assert res["final"].shape == (2, 6, 6)
    assert np.all(res["diagnostics"]["clusters_per_sweep"] >= 1)
    assert np.allclose(
        res["series"]["helicity"], 0.5 * (res["series"]["helicity_x"] + res["series"]["helicity_y"])
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"sweep": 10},
        {"update": "heatbath"},
        {"update": "overrelax", "metropolis_per_sweep": 0},
        {"metropolis_step": 4.0},
        {"couplings": [-0.1]},
        {"couplings": [0.5, 0.5]},
        {"lattice": "lieb"},
        {"L": 1},
    ],
)
def test_bad_jobs_are_rejected(bad):
    with pytest.raises(ValueError):
        run_xy({**JOB, **bad})
