"""2D lattice phi^4: action and parameter conversion, exact references, Monte Carlo.

Every Monte Carlo check compares with an exact value computed in the project
(rgpipe.physics.phi4_exact: Gaussian propagator by FFT, 2 x 2 torus by quadrature, Ising
limit by enumeration), each reference itself checked against an independent brute force
here, with Gamma-method errors and |z| < 3 at fixed seeds.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from util import max_error, mean_of, pull

from rgpipe.mc.phi4 import kernels as mc
from rgpipe.mc.phi4.driver import simulate
from rgpipe.mc.rng import stream_states
from rgpipe.mc.systems import validate_job
from rgpipe.physics import phi4 as ph
from rgpipe.physics import phi4_exact as ex
from rgpipe.physics.lattice import square

numba.set_num_threads(1)

UPDATES = ["metropolis", "overrelaxation", "wolff", "combined"]


def run_phi4(job: dict) -> dict:
    """Simulate a phi^4 job given by some of its options (validated, defaults filled)."""
    return simulate(validate_job({"system": "phi4", **job}))


def error_bounds(result: dict, point: int) -> dict[str, float]:
    """Upper bounds on the error of every estimate at one point, from blocking jackknifes of
    the stored series (tests/util.py max_error; the estimators of rgpipe.physics.phi4 written
    out here), independent of the Gamma method that produced the reported errors."""
    n = result["job"]["L"] ** 2
    ser = {k: v[point] for k, v in result["series"].items()}
    m, s = ser["m"], ser["action"]
    am, m2, m4 = np.abs(m), m * m, m**4
    return {
        "m": max_error(mean_of, m),
        "abs_m": max_error(mean_of, am),
        "m2": max_error(mean_of, m2),
        "m4": max_error(mean_of, m4),
        "phi2": max_error(mean_of, ser["phi2"]),
        "phi4": max_error(mean_of, ser["phi4"]),
        "hop": max_error(mean_of, ser["hop"]),
        "action": max_error(mean_of, s),
        "binder": max_error(lambda a, b: 1.0 - b / (3.0 * a * a), m2, m4),
        "chi_connected": max_error(lambda a, b: n * (a - b * b), m2, am),
        "specific_heat": max_error(lambda a, b: n * (b - a * a), s, s * s),
    }


def zscores(result: dict, exact: dict, names: list[str], point: int = 0) -> dict[str, float]:
    """(MC - exact) / error for each name at one coupling point, each error first checked
    against its upper bound from blocking (an inflated error bar fails)."""
    est = result["estimates"]
    bound = error_bounds(result, point)
    return {
        k: pull(est[k].mean[point], est[k].error_of_mean[point], exact[k], bound[k], k)
        for k in names
    }


def assert_within_3_sigma(z: dict[str, float], what: str) -> None:
    bad = {k: round(v, 2) for k, v in z.items() if not abs(v) < 3.0}
    assert not bad, (
        f"{what}: |z| >= 3 for {bad} (all z: { {k: round(v, 2) for k, v in z.items()} })"
    )


# ------------------------------------------------------------------------------------------
# action and parameter conversion
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("L", [2, 3, 5])
@pytest.mark.parametrize(("beta", "lam"), [(0.68, 1.0), (0.3, 0.0), (1.7, 0.02), (0.05, 40.0)])
def test_continuum_conversion_is_exact_on_random_configurations(L, beta, lam):
    rng = np.random.default_rng(11)
    m0sq, lambda0 = ph.continuum_from_lattice(beta, lam)
    b2, l2 = ph.lattice_from_continuum(m0sq, lambda0)
    assert b2 == pytest.approx(beta, rel=1e-13) and l2 == pytest.approx(lam, rel=1e-12, abs=1e-15)
    for _ in range(5):
        phi = rng.normal(scale=1.5, size=(L, L))
        s = ph.action(phi, beta, lam)
        s_c = ph.continuum_action(math.sqrt(beta) * phi, m0sq, lambda0)
        assert s - s_c == pytest.approx(ph.action_offset(L * L, lam), abs=1e-11 * (1 + abs(s)))


def test_lattice_from_continuum_solves_the_matching_equations():
    for m0sq, lambda0 in [(-1.0, 0.5), (-6.0, 1e-3), (0.3, 0.0), (2.0, 7.0), (-3.9, 0.0)]:
        beta, lam = ph.lattice_from_continuum(m0sq, lambda0)
        assert beta > 0
        # (d + m0sq/2) beta = 1 - 2 lam and lambda0 beta^2 / 4 = lam
        assert (2 + m0sq / 2) * beta == pytest.approx(1 - 2 * lam, rel=1e-12, abs=1e-14)
        assert lambda0 * beta**2 / 4 == pytest.approx(lam, rel=1e-12, abs=1e-300)
    with pytest.raises(ValueError, match="unbounded"):
        ph.lattice_from_continuum(-4.0, 0.0)
    with pytest.raises(ValueError, match="lambda0"):
        ph.lattice_from_continuum(1.0, -0.1)
    with pytest.raises(ValueError, match="beta > 0"):
        ph.continuum_from_lattice(-0.2, 1.0)


def test_action_by_hand_on_2x2():
    """L = 2: each neighbouring pair has two bonds (x + mu and x - mu coincide)."""
    a, b, c, d = 0.3, -1.2, 0.7, 2.0
    phi = np.array([[a, b], [c, d]])
    beta, lam = 0.37, 0.8
    hop = 2 * (a * b + c * d + a * c + b * d)
    v = sum(x * x + lam * (x * x - 1) ** 2 for x in (a, b, c, d))
    assert ph.action(phi, beta, lam) == pytest.approx(-beta * hop + v, rel=1e-14)


@pytest.mark.parametrize("L", [2, 3, 4])
def test_local_action_difference_and_measurement_kernel(L):
    """The kernels' local difference and measurements agree with the full action."""
    rng = np.random.default_rng(3)
    nbr = square(L).neighbors
    beta, lam = 0.61, 1.3
    phi = rng.normal(size=L * L)
    for i in range(L * L):
        new = phi.copy()
        new[i] += rng.normal()
        b = beta * phi[nbr[i]].sum()
        d_full = ph.action(new.reshape(L, L), beta, lam) - ph.action(phi.reshape(L, L), beta, lam)
        assert mc.delta_local(phi[i], new[i], b, lam) == pytest.approx(d_full, abs=1e-12)
    out = np.empty(4)
    mc.measure(phi, nbr, out)
    f = phi.reshape(L, L)
    assert out == pytest.approx(
        [f.mean(), (f**2).mean(), (f**4).mean(), ph.hopping_sum(f) / L**2], rel=1e-13
    )
    series = {k: np.array([v]) for k, v in zip(ph.SERIES, out, strict=True)}
    s = ph.action_density(series, beta, lam)[0]
    assert s == pytest.approx(ph.action(f, beta, lam) / L**2, rel=1e-13)


def test_parameter_problems():
    assert ph.parameter_problems(8, 0.68, 1.0) == []
    assert ph.parameter_problems(8, 5.0, 1e-3) == []  # any beta is stable for lam > 0
    (msg,) = ph.parameter_problems(8, 0.5, 0.0)
    assert "unstable Gaussian" in msg and "0.5" in msg
    assert ph.parameter_problems(3, -0.7, 0.0) == []  # odd L: bound is -1
    assert ph.parameter_problems(4, -0.7, 0.0)
    assert "unbounded" in ph.parameter_problems(4, 0.3, -0.1)[0]
    assert ph.parameter_problems(4, float("nan"), 1.0)
    assert ph.gaussian_stability_interval(4) == pytest.approx((-0.5, 0.5))
    assert ph.gaussian_stability_interval(3) == pytest.approx((-1.0, 0.5))


# ------------------------------------------------------------------------------------------
# exact references, checked against brute force
# ------------------------------------------------------------------------------------------


def _dense_propagator(L: int, beta: float) -> np.ndarray:
    """(1/2) M^{-1} with M = 1 - (beta/2) A from the lattice's bond list (no FFT)."""
    n = L * L
    a = np.zeros((n, n))
    for i, j in square(L).bonds:
        a[i, j] += 1
        a[j, i] += 1
    return 0.5 * np.linalg.inv(np.eye(n) - 0.5 * beta * a)


@pytest.mark.parametrize(("L", "beta"), [(2, 0.3), (3, -0.8), (4, 0.45), (5, 0.2), (4, -0.3)])
def test_gaussian_propagator_matches_dense_inverse(L, beta):
    g = _dense_propagator(L, beta)
    fft = ex.gaussian_propagator(L, beta)
    n = L * L
    for j in range(n):  # G(0, j) = <phi_0 phi_j>, j = y L + x
        assert fft[j // L, j % L] == pytest.approx(g[0, j], rel=1e-12, abs=1e-14)
    e = ex.gaussian_exact(L, beta)
    assert e["m2"] == pytest.approx(g.sum() / n**2, rel=1e-12)
    assert e["phi2"] == pytest.approx(np.trace(g) / n, rel=1e-12)
    hop = sum(g[i, j] for i, j in square(L).bonds) / n
    assert e["hop"] == pytest.approx(hop, rel=1e-12, abs=1e-14)
    # action density 1/2 (equipartition) from the same numbers
    assert -beta * e["hop"] + e["phi2"] == pytest.approx(0.5, rel=1e-12)


def test_unstable_gaussian_is_rejected_everywhere():
    for L, beta in [(4, 0.5), (4, 0.7), (4, -0.5), (3, -1.0)]:
        with pytest.raises(ValueError, match="unstable Gaussian"):
            ex.gaussian_exact(L, beta)
        with pytest.raises(ValueError, match="unstable Gaussian"):
            run_phi4({"L": L, "betas": [0.1, beta], "lam": 0.0, "sweeps": 10})
    with pytest.raises(ValueError, match="'lam': value -1"):
        run_phi4({"L": 4, "betas": [0.1], "lam": -1.0, "sweeps": 10})


def _ising_transfer_log_z(L: int, K: float, h: float = 0.0) -> float:
    """log Z of the L x L Ising torus (with field h, weight exp(K sum s s + h sum s)) by a
    row-to-row transfer matrix: independent of the enumeration in phi4_exact."""
    rows = 1 - 2 * ((np.arange(2**L)[:, None] >> np.arange(L)) & 1)
    intra = (rows * np.roll(rows, -1, axis=1)).sum(axis=1)  # forward bonds in a row (L=2: 2)
    inter = rows @ rows.T
    t = np.exp(
        K * inter
        + (0.5 * K * (intra[:, None] + intra[None, :]))
        + 0.5 * h * (rows.sum(1)[:, None] + rows.sum(1)[None, :])
    )
    ev = np.linalg.eigvalsh(t)
    return float(np.log(np.sum(ev**L)))


@pytest.mark.parametrize(("L", "K"), [(2, 0.3), (3, 0.25), (4, 0.44), (4, 0.9)])
def test_ising_enumeration_matches_transfer_matrix(L, K):
    e = ex.ising_limit_exact(K, L)
    n = L * L
    assert e["log_z"] == pytest.approx(_ising_transfer_log_z(L, K), rel=1e-12)
    dk = 1e-4  # <sum s s> = d log Z / dK
    hop = (_ising_transfer_log_z(L, K + dk) - _ising_transfer_log_z(L, K - dk)) / (2 * dk) / n
    assert e["hop"] == pytest.approx(hop, rel=1e-6)

    def d2(dh: float) -> float:  # <M^2> = d^2 log Z / dh^2 at h = 0
        lz = [_ising_transfer_log_z(L, K, s * dh) for s in (-1, 0, 1)]
        return (lz[0] - 2 * lz[1] + lz[2]) / dh**2

    m2 = (4 * d2(1e-3) - d2(2e-3)) / 3 / n**2  # Richardson: O(dh^4) truncation
    assert e["m2"] == pytest.approx(m2, rel=1e-5)
    if L == 2:  # ring of 4 with coupling 2K
        z = (2 * np.cosh(2 * K)) ** 4 + (2 * np.sinh(2 * K)) ** 4
        assert e["log_z"] == pytest.approx(np.log(z), rel=1e-13)


@pytest.mark.parametrize(("beta", "lam"), [(0.5, 1.0), (0.3, 0.0), (0.7, 0.5), (-0.4, 2.0)])
def test_two_by_two_reduction_equals_bruteforce_4d_sum(beta, lam):
    x = np.linspace(-3.0, 3.0, 31)
    fast = ex.two_by_two_on_grid(beta, lam, x)
    slow = ex.two_by_two_bruteforce(beta, lam, x)
    for k in ("phi2", "phi4", "hop", "m2", "m4"):
        assert fast[k] == pytest.approx(slow[k], rel=1e-12, abs=1e-14), k


@pytest.mark.parametrize(("beta", "lam"), [(0.5, 1.0), (0.7, 0.05), (0.2, 20.0)])
def test_two_by_two_quadrature_is_converged(beta, lam):
    h = ex.quadrature_grid(beta, lam)[1] - ex.quadrature_grid(beta, lam)[0]
    a = ex.two_by_two_exact(beta, lam)
    b = ex.two_by_two_exact(beta, lam, h=h / 2)
    for k in ("phi2", "phi4", "hop", "m2", "m4", "binder"):
        assert a[k] == pytest.approx(b[k], rel=1e-11, abs=1e-13), k


@pytest.mark.parametrize(("beta", "lam"), [(1.0, 1e-3), (3.0, 1.0), (-2.0, 0.5)])
def test_two_by_two_grid_covers_deep_wells(beta, lam):
    """Strongly ordered points (|phi| up to ~20): a grid twice as wide and twice as fine
    gives the same values, so the default range does not truncate the integrand."""
    x = ex.quadrature_grid(beta, lam)
    h = x[1] - x[0]
    wide = (h / 2) * np.arange(-4 * (x.size // 2), 4 * (x.size // 2) + 1)
    a = ex.two_by_two_exact(beta, lam)
    b = ex.two_by_two_on_grid(beta, lam, wide)
    for k in ("phi2", "phi4", "hop", "m2", "m4"):
        assert a[k] == pytest.approx(b[k], rel=1e-10), k
    assert a["phi2"] > 3.0


@pytest.mark.parametrize("beta", [0.3, -0.45, 0.46])
def test_two_by_two_quadrature_reproduces_the_gaussian(beta):
    q = ex.two_by_two_exact(beta, 0.0)
    g = ex.gaussian_exact(2, beta)
    for k in ("phi2", "phi4", "hop", "m2", "m4", "action"):
        assert q[k] == pytest.approx(g[k], rel=1e-10), k


def test_two_by_two_approaches_the_ising_limit_as_one_over_lambda():
    beta = 0.4
    ising = ex.ising_limit_exact(beta, 2)
    dev = []
    for lam in (1e2, 1e3):
        q = ex.two_by_two_exact(beta, lam)
        dev.append(np.array([q[k] - ising[k] for k in ("m2", "m4", "hop", "binder")]))
    assert np.all(np.abs(dev[1]) < 2e-3)
    assert np.abs(dev[0] / dev[1]) == pytest.approx(10.0, rel=0.05)


def test_single_site_moments_gaussian_closed_form():
    b = 1.3  # lam = 0: mean b/2, variance 1/2
    mu, var = b / 2, 0.5
    m = ex.single_site_moments(b, 0.0)
    assert m[1:] == pytest.approx(
        [mu, mu**2 + var, mu**3 + 3 * mu * var, mu**4 + 6 * mu**2 * var + 3 * var**2], rel=1e-12
    )


# ------------------------------------------------------------------------------------------
# update kernels
# ------------------------------------------------------------------------------------------


def test_overrelaxation_partner_is_the_other_point_of_its_own_well():
    """Against the level set computed by numpy: the image of x is the level-set point on the
    other side of the minimum of the well holding x (pairs (1,2), (3,4) of the sorted set)."""
    rng = np.random.default_rng(8)
    for _ in range(2000):
        lam = 10 ** rng.uniform(-2, 3)
        b = 2.0 * rng.normal()
        x = 1.5 * rng.normal()
        # f(y) - f(x) = lam y^4 + (1 - 2 lam) y^2 - b y - (same at x)
        c0 = -(lam * x**4 + (1 - 2 * lam) * x**2 - b * x)
        roots = np.roots([lam, 0.0, 1 - 2 * lam, -b, c0])
        level = np.sort(roots[np.abs(roots.imag) < 1e-6].real)
        if len(level) not in (2, 4) or np.min(np.diff(level)) < 1e-4:
            continue  # tangent level sets: measure zero
        i = int(np.argmin(np.abs(level - x)))
        expected = level[i ^ 1]  # partner index in pairs (0,1), (2,3)
        y, _ = mc.overrelax_partner(x, b, lam)
        assert y == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_overrelaxation_is_an_involution_on_the_level_set():
    rng = np.random.default_rng(9)
    for _ in range(3000):
        lam = 0.0 if rng.random() < 0.1 else 10 ** rng.uniform(-3, 4)
        b = 2 * rng.normal()
        x = 1.5 * rng.normal()
        y, r = mc.overrelax_partner(x, b, lam)
        z, r2 = mc.overrelax_partner(y, b, lam)
        f = lambda u, lam=lam, b=b: u * u + lam * (u * u - 1) ** 2 - b * u  # noqa: E731
        assert f(y) == pytest.approx(f(x), rel=1e-10, abs=1e-10)
        assert z == pytest.approx(x, rel=1e-9, abs=1e-9)
        assert r * r2 == pytest.approx(1.0, rel=1e-6)  # Jacobians of an involution
        if lam == 0.0:
            assert (y, r) == (b - x, 1.0)


@numba.njit(cache=True)
def _apply_overrelaxation(xs, us, b, lam):
    out = xs.copy()
    for i in range(xs.size):
        y, r = mc.overrelax_partner(xs[i], b, lam)
        if y != xs[i] and (r >= 1.0 or us[i] < r):
            out[i] = y
    return out


@pytest.mark.parametrize(("b", "lam"), [(0.5, 1.0), (0.0, 3.0), (2.0, 0.3), (-1.0, 5.0)])
def test_overrelaxation_preserves_the_single_site_distribution(b, lam):
    """Exact samples of p(x) ~ exp(-f(x)) stay exact after one move: this fails for a
    wrong Jacobian (e.g. without the Metropolis correction) by tens of sigma."""
    rng = np.random.default_rng(21)
    grid = np.linspace(-6.0, 6.0, 1_200_001)
    logp = -(grid**2 + lam * (grid**2 - 1) ** 2 - b * grid)
    cdf = np.cumsum(np.exp(logp - logp.max()))
    n = 1_000_000
    xs = np.interp(rng.random(n), cdf / cdf[-1], grid)
    ys = _apply_overrelaxation(xs, rng.random(n), b, lam)
    assert np.mean(ys != xs) > 0.4
    exact = ex.single_site_moments(b, lam)
    for k in (1, 2, 3, 4):
        # the error bar bounded by the spread of the exact samples xs themselves
        bound = 1.05 * np.std(xs**k) / math.sqrt(n)
        z = pull(np.mean(ys**k), np.std(ys**k) / math.sqrt(n), exact[k], bound, f"x^{k}")
        assert abs(z) < 3, (k, z)


def test_overrelaxation_without_jacobian_would_be_detected():
    """The same check is sensitive: always accepting the reflection biases the moments."""
    rng = np.random.default_rng(22)
    b, lam = 0.5, 1.0
    grid = np.linspace(-6.0, 6.0, 1_200_001)
    cdf = np.cumsum(np.exp(-(grid**2 + lam * (grid**2 - 1) ** 2 - b * grid)))
    xs = np.interp(rng.random(1_000_000), cdf / cdf[-1], grid)
    ys = _apply_overrelaxation(xs, np.zeros(xs.size), b, lam)  # u = 0: always accept
    exact = ex.single_site_moments(b, lam)
    z = (np.mean(ys**2) - exact[2]) / (np.std(ys**2) / 1000.0)
    assert abs(z) > 10


def test_wolff_cluster_flips_only_signs_and_leaves_work_space_clean():
    L = 6
    nbr = square(L).neighbors
    rng = np.random.default_rng(4)
    phi = rng.normal(size=L * L)
    before = phi.copy()
    state = stream_states(1, (5,), 1)[0]
    stack = np.empty(L * L, dtype=np.int64)
    mark = np.zeros(L * L, dtype=np.uint8)
    size = mc.wolff_cluster(phi, nbr, 0.9, state, stack, mark)
    flipped = phi != before
    assert size == flipped.sum() >= 1
    assert np.array_equal(phi[flipped], -before[flipped]) and not mark.any()
    # beta = 0: single-site clusters
    assert mc.wolff_cluster(phi, nbr, 0.0, state, stack, mark) == 1


# ------------------------------------------------------------------------------------------
# Monte Carlo against exact values
# ------------------------------------------------------------------------------------------

GAUSS_NAMES = ["phi2", "phi4", "hop", "action", "m2", "m4", "abs_m", "binder", "specific_heat"]


@pytest.mark.parametrize("update", UPDATES)
def test_gaussian_lattice_against_exact_propagator(update):
    """lam = 0 on 4 x 4 at beta = 0.4 (chi 5x the free value) and on 3 x 3 at beta = -0.7
    (antiferromagnetic, stable only because L is odd)."""
    for L, beta, seed in ((4, 0.4, 101), (3, -0.7, 102)):
        res = run_phi4(
            {
                "L": L,
                "betas": [beta],
                "lam": 0.0,
                "update": update,
                "sweeps": 100000,
                "thermalization": 500,
                "seed": seed,
            }
        )
        z = zscores(res, ex.gaussian_exact(L, beta), GAUSS_NAMES)
        assert_within_3_sigma(z, f"Gaussian L={L} beta={beta} {update}")


TWO_NAMES = ["phi2", "phi4", "hop", "action", "m2", "m4", "binder"]


@pytest.mark.parametrize("update", UPDATES)
def test_two_by_two_against_quadrature(update):
    """lam = 1 (shallow double well), a ferromagnetic and an antiferromagnetic coupling."""
    res = run_phi4(
        {
            "L": 2,
            "betas": [0.55, -0.4],
            "lam": 1.0,
            "update": update,
            "sweeps": 150000,
            "thermalization": 500,
            "seed": 7,
        }
    )
    for ip, beta in enumerate((0.55, -0.4)):
        z = zscores(res, ex.two_by_two_exact(beta, 1.0), TWO_NAMES, ip)
        assert_within_3_sigma(z, f"2x2 beta={beta} lam=1 {update}")


@pytest.mark.parametrize("update", ["wolff", "combined"])
def test_large_lambda_2x2_against_quadrature(update):
    """lam = 1e4: local moves cannot change signs; the cluster move must.  Also guards the
    error bars: with a fixed odd number of over-relaxation passes the stiff radial mode
    alternates in sign and the Gamma method underestimated the error of phi2 ~400-fold."""
    res = run_phi4(
        {
            "L": 2,
            "betas": [0.4],
            "lam": 1e4,
            "update": update,
            "sweeps": 100000,
            "thermalization": 500,
            "seed": 8,
        }
    )
    z = zscores(res, ex.two_by_two_exact(0.4, 1e4), TWO_NAMES)
    assert_within_3_sigma(z, f"2x2 lam=1e4 {update}")


@pytest.mark.parametrize("update", ["wolff", "combined"])
def test_ising_limit_4x4_against_enumeration(update):
    """lam = 1e5 at beta = K = 0.4 on 4 x 4: the O(1/lam) distance to the Ising values (about
    1e-5 here, measured on 2 x 2 above) is far below the statistical errors (~2e-3)."""
    res = run_phi4(
        {
            "L": 4,
            "betas": [0.4],
            "lam": 1e5,
            "update": update,
            "sweeps": 100000,
            "thermalization": 500,
            "seed": 9,
            "or_sweeps": 1,
        }
    )
    names = ["hop", "m2", "m4", "abs_m", "binder", "chi_connected"]
    z = zscores(res, ex.ising_limit_exact(0.4, 4), names)
    assert_within_3_sigma(z, f"Ising limit 4x4 {update}")
    assert res["estimates"]["phi2"].mean[0] == pytest.approx(1.0, abs=1e-3)


# ------------------------------------------------------------------------------------------
# driver: reproducibility, parameter forms, output layout, validation
# ------------------------------------------------------------------------------------------


def _small_job(**kw):
    job = {
        "L": 4,
        "betas": [0.5, 0.7],
        "lam": 1.0,
        "sweeps": 300,
        "thermalization": 50,
        "seed": 3,
        "configurations": 4,
    }
    job.update(kw)
    return job


def test_same_seed_is_bit_identical_and_points_are_independent():
    a = run_phi4(_small_job())
    b = run_phi4(_small_job())
    for k in a["series"]:
        assert np.array_equal(a["series"][k], b["series"][k])
    assert np.array_equal(a["samples"]["phi"], b["samples"]["phi"])
    c = run_phi4(_small_job(seed=4))
    assert not np.array_equal(a["series"]["m"], c["series"]["m"])
    # a point's chain does not depend on the other points of the sweep
    d = run_phi4(_small_job(betas=[0.7]))
    assert np.array_equal(a["series"]["hop"][1], d["series"]["hop"][0])


def test_continuum_form_job_runs_the_converted_couplings():
    m0sq = [-1.2, -0.8]
    a = run_phi4({"L": 4, "m0sq": m0sq, "lambda0": 0.5, "sweeps": 200, "seed": 2})
    pts = [ph.lattice_from_continuum(m, 0.5) for m in m0sq]
    assert a["parameters"]["beta"] == pytest.approx([p[0] for p in pts], rel=1e-15)
    assert a["parameters"]["m0sq"] == pytest.approx(m0sq, rel=1e-12)
    assert a["parameters"]["lambda0"] == pytest.approx([0.5, 0.5], rel=1e-12)
    for ip, (beta, lam) in enumerate(pts):
        b = run_phi4({"L": 4, "betas": [beta], "lam": lam, "sweeps": 200, "seed": 2})
        assert np.array_equal(a["series"]["m"][ip], b["series"]["m"][0])


def test_result_layout():
    r = run_phi4(_small_job(update="combined", measure_every=3))
    n_meas = 300 // 3
    assert r["values"].shape == (2,)
    for k in ("m", "phi2", "phi4", "hop", "action"):
        assert r["series"][k].shape == (2, n_meas)
    for k in ph.META:
        if k in r["parameters"]:
            continue
        st = r["estimates"][k]
        assert np.shape(st.mean) == (2,) and np.all(np.isfinite(st.error_of_mean)), k
    assert r["samples"]["phi"].shape == (2, 4, 4, 4)
    # the stored configurations are the measured ones
    idx = r["sample_attrs"]["measurement_index"]
    assert r["samples"]["phi"][:, :, :, :].mean(axis=(2, 3)) == pytest.approx(
        r["series"]["m"][:, idx], rel=1e-12
    )
    d = r["diagnostics"]
    assert np.all((d["acceptance_metropolis"] > 0.3) & (d["acceptance_metropolis"] < 0.7))
    assert np.all(d["clusters_per_sweep"] >= 1) and np.all(d["sweeps"] == 300)
    assert r["job"]["or_sweeps"] == 1 and r["job"]["update"] == "combined"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"update": "heatbath"}, "update"),
        ({"sweeps": 0}, "sweeps"),
        ({"L": 1}, "L"),
        ({"bogus": 1}, "unknown key"),
        ({"m0sq": [0.1]}, "either"),
        ({"metropolis_step": -0.1}, "metropolis_step"),
        ({"clusters": 0}, "clusters"),
        ({"betas": [0.5, 0.5]}, "non-unique"),
        ({"betas": [], "lam": 1.0}, "empty"),
    ],
)
def test_invalid_jobs_are_rejected(change, match):
    with pytest.raises(ValueError, match=match):
        run_phi4(_small_job(**change))
