"""0+1D field (particle in a potential): exact references and Monte Carlo against them.

The references are tested against closed forms (harmonic oscillator: continuum and the
Gaussian lattice action), a brute-force integral (N = 3 time slices) and their own grid
convergence; the Monte Carlo updates are tested against the transfer matrix of the same
lattice action at fixed seeds, |z| < 3 with Gamma-method errors.
"""

from __future__ import annotations

import json

import numba
import numpy as np
import pytest
from util import assert_z, max_error, mean_of, pull

from rgpipe.mc.oscillator.driver import simulate
from rgpipe.mc.oscillator.fourier import cyclic_factor
from rgpipe.mc.oscillator.fourier import cyclic_solve as _cyclic_solve
from rgpipe.mc.oscillator.spec import moves
from rgpipe.mc.systems import validate_job
from rgpipe.physics.oscillator import (
    action,
    correlator,
    correlator_weights,
    double_well,
    effective_mass,
    extrapolate_continuum,
    fit_cosh_gap,
    fit_times,
    harmonic,
    polynomial,
    potential_from_spec,
    scalar_observables,
)
from rgpipe.physics.oscillator_exact import (
    continuum_spectrum,
    continuum_thermal,
    gap_fit_bias,
    gap_fit_window,
    lattice_exact,
    transfer_matrix,
)

numba.set_num_threads(1)

SCALARS = ("x", "x2", "x4", "energy", "energy_thermo")


def normalize_job(job: dict) -> dict:
    """A job given by some of its options, validated, defaults filled, moves resolved."""
    checked = validate_job({"system": "oscillator", **job}, "oscillator")
    even = potential_from_spec(checked, checked["mass"]).is_even
    return {**checked, "update": moves(checked["update"], even)}


def run_oscillator(job: dict) -> dict:
    """Simulate a job given by some of its options (validated, defaults filled)."""
    return simulate(validate_job({"system": "oscillator", **job}, "oscillator"))


ASYMMETRIC = [0.0, 0.3, -2.0, 0.0, 1.0]  # x^4 - 2 x^2 + 0.3 x: two wells of unequal depth


# ------------------------------------------------------------------------------ potentials


def test_potentials():
    dw = double_well(4.0, 1.4)
    x = np.linspace(-3, 3, 7)
    assert np.allclose(dw.value(x), 4.0 / 4 * (x**2 - 1.4**2) ** 2)
    assert np.allclose(dw.derivative(x), 4.0 * x * (x**2 - 1.4**2))
    assert np.allclose(dw.virial(x), dw.value(x) + 0.5 * x * dw.derivative(x))
    assert dw.is_even and np.allclose(dw.minima(), [-1.4, 1.4])
    asym = polynomial(ASYMMETRIC)
    assert not asym.is_even
    x0, v0 = asym.global_minimum()
    assert (
        x0 < 0
        and v0 == pytest.approx(asym.value(x0))
        and asym.derivative(x0) == pytest.approx(0, abs=1e-12)
    )
    assert np.allclose(harmonic(2.0, 3.0).coeffs, [0, 0, 9.0])
    assert potential_from_spec({"potential": "polynomial", "coeffs": [0, 0, 1, 0, 1]}).degree == 4
    for bad in ([0, 0, 0, 1], [0, 0, -1], [0, 1], [0, 0, 1, 0, -1]):
        with pytest.raises(ValueError, match="confining"):
            polynomial(bad)


def test_observables_of_a_configuration():
    rng = np.random.default_rng(5)
    pot, mass, a = polynomial(ASYMMETRIC), 1.3, 0.2
    x = rng.normal(size=(3, 10))
    n = x.shape[1]
    obs = scalar_observables(x, pot, mass, a)
    s = action(x, pot, mass, a)
    kin = sum(mass * (x[:, (i + 1) % n] - x[:, i]) ** 2 / (2 * a) for i in range(n))
    assert np.allclose(s, kin + a * pot.value(x).sum(1))
    assert np.allclose(obs["energy_thermo"], 1 / (2 * a) - kin / (a * n) + pot.value(x).mean(1))
    direct = np.array(
        [[np.mean(x[c] * np.roll(x[c], -k)) for k in range(n // 2 + 1)] for c in range(3)]
    )
    assert np.allclose(correlator(x), direct)


# ---------------------------------------------------------------- exact: transfer matrix


def _gaussian_lattice(mass, omega, beta, n):
    """Closed forms of the harmonic lattice action: C(k), levels, -d ln Z/d beta."""
    a = beta / n
    q = 2 * np.pi * np.arange(n) / n
    mu = mass / a * (2 - 2 * np.cos(q)) + a * mass * omega**2
    corr = np.array([np.mean(np.cos(q * k) / mu) for k in range(n // 2 + 1)])
    omega_lat = np.arccosh(1 + a * a * omega * omega / 2) / a

    def log_z(b):  # ln Z = -ln(2 sinh(b omega_lat(b/n) / 2)) at fixed n
        wl = np.arccosh(1 + (b / n) ** 2 * omega**2 / 2) / (b / n)
        return -np.log(2 * np.sinh(b * wl / 2))

    h = 1e-5 * beta
    energy = -(log_z(beta + h) - log_z(beta - h)) / (2 * h)
    return corr, omega_lat, energy


@pytest.mark.parametrize(("beta", "n"), [(20.0, 200), (5.0, 10), (3.0, 60)])
def test_transfer_matrix_gaussian_closed_form(beta, n):
    mass, omega = 0.7, 2.0
    ex = lattice_exact(harmonic(mass, omega), mass, beta, n)
    corr, omega_lat, energy = _gaussian_lattice(mass, omega, beta, n)
    assert np.allclose(ex.correlator, corr, rtol=1e-9, atol=1e-12)
    assert ex.x2 == pytest.approx(corr[0], rel=1e-9)
    assert ex.x4 == pytest.approx(3 * corr[0] ** 2, rel=1e-9)  # Gaussian
    assert ex.energy == pytest.approx(mass * omega**2 * corr[0], rel=1e-9)
    assert ex.energy_thermo == pytest.approx(energy, rel=1e-6)
    assert np.allclose(ex.energies[:4], omega_lat * (np.arange(4) + 0.5), rtol=1e-9)


@pytest.mark.parametrize("pot", [double_well(4.0, 1.4), polynomial(ASYMMETRIC)])
def test_transfer_matrix_against_brute_force_three_slices(pot):
    """N = 3: the lattice integral done directly on a Gauss-Legendre product grid."""
    mass, beta, n = 0.8, 0.9, 3
    a = beta / n
    nodes, weights = np.polynomial.legendre.leggauss(120)
    lo, hi = -4.0, 4.0
    x = 0.5 * (hi - lo) * nodes + 0.5 * (hi + lo)
    w = 0.5 * (hi - lo) * weights
    x0, x1, x2 = np.meshgrid(x, x, x, indexing="ij")
    conf = np.stack([x0, x1, x2], axis=-1)
    weight = w[:, None, None] * w[None, :, None] * w[None, None, :]
    weight = weight * np.exp(-action(conf, pot, mass, a))
    z = weight.sum()

    def mean(f):
        return float((weight * f).sum() / z)

    obs = scalar_observables(conf, pot, mass, a)
    ex = lattice_exact(pot, mass, beta, n)
    for name in SCALARS:
        assert getattr(ex, name) == pytest.approx(mean(obs[name]), rel=1e-9, abs=1e-11), name
    assert ex.correlator[1] == pytest.approx(mean(x0 * x1), rel=1e-9)


@pytest.mark.parametrize(
    ("pot", "beta", "n"),
    [
        (double_well(4.0, 1.4), 20.0, 400),
        (polynomial(ASYMMETRIC), 8.0, 32),
        (polynomial([0, 0, 1, 0, 1]), 4.0, 8),
    ],
)
def test_transfer_matrix_grid_convergence(pot, beta, n):
    """Halving the grid spacing and doubling the box changes nothing beyond 1e-9."""
    ex = lattice_exact(pot, 1.0, beta, n)
    tm = transfer_matrix(pot, 1.0, beta / n, beta=beta)
    width = tm.x[-1] - tm.x[0]
    box = (tm.x[0] - width / 2, tm.x[-1] + width / 2)
    fine = lattice_exact(pot, 1.0, beta, n, spacing=ex.spacing / 2, box=box)
    assert fine.grid_points > 3 * ex.grid_points
    for name in (*SCALARS, "e0", "gap"):
        assert getattr(ex, name) == pytest.approx(getattr(fine, name), rel=1e-9, abs=1e-10), name
    assert np.allclose(ex.correlator, fine.correlator, rtol=1e-9, atol=1e-10)
    # a visibly too coarse grid is visibly wrong: the check above can fail
    coarse = lattice_exact(pot, 1.0, beta, n, spacing=4 * ex.spacing)
    assert abs(coarse.x2 - ex.x2) > 1e-6


def test_lattice_virial_theorem():
    """<V + x V'/2> equals -d ln Z/d beta exactly on the lattice (x -> (1+e) x scaling)."""
    for pot, beta, n in [(double_well(1.0, 1.0), 3.0, 12), (polynomial(ASYMMETRIC), 5.0, 7)]:
        ex = lattice_exact(pot, 1.3, beta, n)
        assert ex.energy == pytest.approx(ex.energy_thermo, rel=1e-9)
        # and -d ln Z/d beta by finite differences of Z = sum_n lambda_n^N
        h = 1e-4

        def log_z(b, pot=pot, n=n):
            tm = transfer_matrix(pot, 1.3, b / n, beta=b, spacing=0.02)
            lv = n * tm.log_eigenvalues
            return lv.max() + np.log(np.exp(lv - lv.max()).sum())

        fd = -(log_z(beta + h) - log_z(beta - h)) / (2 * h)
        assert fd == pytest.approx(ex.energy, rel=1e-6)


# ----------------------------------------------------------- exact: continuum diagonalisation


def test_exact_diagonalisation_harmonic():
    mass, omega, beta = 0.7, 1.9, 3.0
    spec = continuum_spectrum(harmonic(mass, omega), mass, n_states=30)
    assert np.allclose(spec.energies[:20], omega * (np.arange(20) + 0.5), rtol=1e-10)
    x2_ground = spec.matrix_element(spec.x**2)[0, 0]
    assert x2_ground == pytest.approx(1 / (2 * mass * omega), rel=1e-10)
    tau = np.array([0.0, 0.4, 1.5])
    th = continuum_thermal(spec, beta, tau)
    x2 = 1 / (2 * mass * omega * np.tanh(beta * omega / 2))
    assert th.x2 == pytest.approx(x2, rel=1e-10)
    assert th.x4 == pytest.approx(3 * x2**2, rel=1e-10)
    assert th.energy == pytest.approx(omega / 2 / np.tanh(beta * omega / 2), rel=1e-10)
    exact_c = np.cosh(omega * (tau - beta / 2)) / (2 * mass * omega * np.sinh(beta * omega / 2))
    assert np.allclose(th.correlator, exact_c, rtol=1e-10)


@pytest.mark.parametrize(
    "pot", [double_well(4.0, 1.4), polynomial([0, 0, 1, 0, 1]), polynomial(ASYMMETRIC)]
)
def test_exact_diagonalisation_convergence_and_continuum_limit(pot):
    """ED converges in its grid, and the transfer matrix tends to it as a -> 0 (O(a^2))."""
    spec = continuum_spectrum(pot, 1.0, n_states=6)
    fine = continuum_spectrum(pot, 1.0, 6, spacing=spec.h / 2, box=(spec.x[0] - 1, spec.x[-1] + 1))
    assert np.allclose(spec.energies, fine.energies, rtol=1e-10, atol=1e-12)
    pts_e0, pts_gap = [], []
    for a in (0.04, 0.03, 0.02):
        tm = transfer_matrix(pot, 1.0, a)
        pts_e0.append((a, tm.energies[0], 1e-6))
        pts_gap.append((a, tm.gap, 1e-6))
    e0 = extrapolate_continuum(pts_e0, (0, 2, 4))
    gap = extrapolate_continuum(pts_gap, (0, 2, 4))
    assert e0.value == pytest.approx(spec.energies[0], abs=2e-6)
    assert gap.value == pytest.approx(spec.energies[1] - spec.energies[0], abs=2e-6)
    # the finite-a values really differ: the extrapolation is doing the work
    assert abs(pts_e0[0][1] - spec.energies[0]) > 1e-4


# ------------------------------------------------------------------- analysis helpers


def test_cosh_fit_and_effective_mass_recover_a_cosh():
    beta, n, gap = 12.0, 48, 0.37
    a = beta / n
    tau = np.arange(n // 2 + 1) * a
    c = 0.8 * np.cosh(gap * (tau - beta / 2))
    assert np.allclose(effective_mass(c, a), gap, rtol=1e-10)
    assert fit_cosh_gap(c[5:], tau[5:], beta) == pytest.approx(gap, rel=1e-12)
    assert fit_cosh_gap(np.full(5, 2.0), tau[-5:], beta) == 0.0  # flat: no gap resolved
    # an admixture of a faster state is what the fit window must avoid
    c2 = c + 0.2 * np.exp(-3.0 * tau)
    assert fit_cosh_gap(c2[1:], tau[1:], beta) > 1.01 * gap


def test_extrapolate_continuum():
    a = np.array([0.2, 0.15, 0.1, 0.05])
    y = 1.5 - 0.7 * a**2 + 0.3 * a**4
    fit = extrapolate_continuum([(ai, yi, 0.01) for ai, yi in zip(a, y, strict=True)], (0, 2, 4))
    assert fit.value == pytest.approx(1.5, abs=1e-12) and fit.chi2 == pytest.approx(0, abs=1e-18)
    assert fit.dof == 1
    # two points, c0 + c2 a^2: closed-form error propagation
    two = extrapolate_continuum([(0.2, 1.0, 0.01), (0.1, 1.2, 0.02)])
    w1, w2 = -0.01 / 0.03, 0.04 / 0.03  # c0 = (a1^2 y2 - a2^2 y1) / (a1^2 - a2^2)
    assert two.value == pytest.approx(w1 * 1.0 + w2 * 1.2)
    assert two.error == pytest.approx(np.hypot(w1 * 0.01, w2 * 0.02))
    with pytest.raises(ValueError):
        extrapolate_continuum([(0.1, 1.0, 0.1)])


def test_cyclic_solver():
    for n in (3, 4, 17):
        d, e = 2.3, -1.1
        den, cp, z = cyclic_factor(n, d, e)
        mat = (
            np.diag(np.full(n, d)) + np.diag(np.full(n - 1, e), 1) + np.diag(np.full(n - 1, e), -1)
        )
        mat[0, -1] += e
        mat[-1, 0] += e
        r = np.random.default_rng(n).normal(size=n)
        out = np.empty(n)
        _cyclic_solve(den, cp, z, d, e, r, out)
        assert np.allclose(mat @ out, r, rtol=1e-12, atol=1e-12)


# -------------------------------------------------------------- Monte Carlo vs exact


def _z_scores(res, ex, n, bounded=True):
    """Pulls of the scalars and of C(n/4), C(n/2) against the transfer matrix; with
    ``bounded`` each error is first checked against its upper bound from blocking the stored
    series (tests/util.py max_error), so an inflated error bar fails."""
    est, ser = res["estimates"], res["series"]
    big = float("inf")
    z = {}
    for k in SCALARS:
        bound = max_error(mean_of, ser[k]) if bounded else big
        z[k] = pull(est[k].mean, est[k].error_of_mean, getattr(ex, k), bound, k)
    c = est["correlator"]
    for k in (n // 4, n // 2):
        bound = max_error(mean_of, ser["correlator"][:, k]) if bounded else big
        z[f"C({k})"] = pull(c.mean[k], c.error_of_mean[k], ex.correlator[k], bound, f"C({k})")
    return z


def _gap_error_bound(res, beta, n):
    """Upper bound on the gap's error: blocking jackknife of the run's own cosh fit (its
    times, its fixed inverse-variance weights, C - <x>^2 for a potential that is not even)
    over blocks of the stored correlator rows."""
    corr = res["series"]["correlator"]
    a = beta / n
    ks = fit_times(round(res["meta"]["gap_window"][0] / a), n // 2)
    w = correlator_weights(corr)[ks]
    columns = [corr[:, k] for k in ks]
    if potential_from_spec(res["job"]).is_even:
        return max_error(lambda *m: fit_cosh_gap(np.array(m), ks * a, beta, w), *columns)
    bin_size = res["meta"]["correlator_bin"]
    x = res["series"]["x"][: len(corr) * bin_size].reshape(len(corr), bin_size).mean(axis=1)

    def connected(*m):
        return fit_cosh_gap(np.array(m[:-1]) - m[-1] ** 2, ks * a, beta, w)

    return max_error(connected, *columns, x)


SHALLOW = {"potential": "double_well", "lam": 1.0, "eta": 1.0}
QUARTIC = {"potential": "polynomial", "coeffs": [0.0, 0.0, 1.0, 0.0, 1.0]}
ASYM = {"potential": "polynomial", "coeffs": ASYMMETRIC}
MC_CASES = [
    (SHALLOW, 6.0, 24, "hmc", {}),
    (SHALLOW, 6.0, 24, "hmc", {"fourier_acceleration": False}),
    (SHALLOW, 6.0, 24, "metropolis", {}),
    (SHALLOW, 6.0, 24, "hmc+reflect", {}),
    (SHALLOW, 6.0, 24, "metropolis+reflect", {}),
    (QUARTIC, 6.0, 24, "hmc", {}),
    (QUARTIC, 6.0, 24, "metropolis", {}),
    (QUARTIC, 6.0, 24, "hmc+metropolis+reflect", {}),
    (ASYM, 8.0, 32, "hmc", {}),
    (ASYM, 8.0, 32, "metropolis", {}),
]


@pytest.mark.parametrize(("spec", "beta", "n", "update", "extra"), MC_CASES)
def test_updates_agree_with_transfer_matrix(spec, beta, n, update, extra):
    job = {**spec, "mass": 1.0, "beta": beta, "n_tau": n, "update": update, **extra}
    res = run_oscillator({**job, "sweeps": 12000, "thermalization": 1000, "seed": 11})
    ex = lattice_exact(potential_from_spec(spec), 1.0, beta, n)
    z = _z_scores(res, ex, n)
    assert max(abs(v) for v in z.values()) < 3, z


@pytest.mark.parametrize(
    ("beta", "n", "sweeps", "seed"),
    [(16.0, 64, 16000, 3), (60.0, 300, 10000, 5)],  # the second: the default config's coarsest a
)
def test_gap_from_correlator_agrees_with_transfer_matrix(beta, n, sweeps, seed):
    """Double well lam = 4, eta = 1.4 (tunnelling splitting 0.1): cosh fit of C(tau)."""
    spec = {"potential": "double_well", "lam": 4.0, "eta": 1.4}
    res = run_oscillator({**spec, "beta": beta, "n_tau": n, "sweeps": sweeps, "seed": seed})
    ex = lattice_exact(potential_from_spec(spec), 1.0, beta, n)
    gap = res["estimates"]["gap"]
    assert_z(gap.mean, gap.error_of_mean, ex.gap, _gap_error_bound(res, beta, n), what="gap")
    assert gap.error_of_mean < 0.05 * ex.gap  # a decisive test, not a wide error bar
    # the fit the analysis makes (its times, its inverse-variance weights, its window)
    # applied to the exact lattice correlator reproduces the transfer-matrix gap: the
    # window's systematic error is far below the statistical one.  (With the window chosen
    # for an unweighted fit it was 0.3 error bars at beta = 60: the weights favour short
    # times, where the higher levels contaminate C(tau) most.)
    weights = correlator_weights(res["series"]["correlator"])
    kmin = round(res["meta"]["gap_window"][0] * n / beta)
    k = fit_times(kmin, n // 2)
    fitted = fit_cosh_gap(ex.correlator[k], k * beta / n, beta, weights[k])
    assert abs(fitted - ex.gap) < 0.15 * gap.error_of_mean, (fitted, ex.gap)
    # the window is never later than the one whose systematic is 1e-3 of the gap
    k_rel, _ = gap_fit_window(potential_from_spec(spec), 1.0, beta, n, weights=weights)
    assert 1 <= kmin <= k_rel
    # and the scalar observables and correlator pass with the default update
    z = _z_scores(res, ex, n)
    assert max(abs(v) for v in z.values()) < 3, z


def test_gap_connected_correlator_asymmetric_potential():
    spec, beta, n = ASYM, 10.0, 40
    res = run_oscillator({**spec, "beta": beta, "n_tau": n, "sweeps": 12000, "seed": 4})
    ex = lattice_exact(potential_from_spec(spec), 1.0, beta, n)
    gap = res["estimates"]["gap"]
    assert_z(gap.mean, gap.error_of_mean, ex.gap, _gap_error_bound(res, beta, n), what="gap")
    assert gap.error_of_mean < 0.1 * ex.gap


@pytest.mark.parametrize("local", ["hmc", "metropolis"])
def test_deep_double_well_needs_the_reflection_move(local):
    """lam = 4, eta = 1.6 (barrier 6.6, instanton action 7.7), beta = 60: about one
    tunnelling pair per path.  Started in one well, HMC or Metropolis alone stay there
    (wrong <x>, C(beta/2), <x^2>); with the reflection move everything agrees."""
    spec, beta, n = {"potential": "double_well", "lam": 4.0, "eta": 1.6}, 60.0, 120
    ex = lattice_exact(potential_from_spec(spec), 1.0, beta, n)
    common = {**spec, "beta": beta, "n_tau": n, "sweeps": 10000, "seed": 7}
    stuck = _z_scores(run_oscillator({**common, "update": local}), ex, n, bounded=False)
    assert abs(stuck["x"]) > 30 and abs(stuck[f"C({n // 2})"]) > 10, stuck
    good_run = run_oscillator({**common, "update": local + "+reflect"})
    good = _z_scores(good_run, ex, n)
    assert max(abs(v) for v in good.values()) < 3, good
    gap = good_run["estimates"]["gap"]
    bound = _gap_error_bound(good_run, beta, n)
    assert_z(gap.mean, gap.error_of_mean, ex.gap, bound, what="gap")


# ------------------------------------------------------------------ driver behaviour


def test_reproducible_and_seed_dependent():
    job = {**SHALLOW, "beta": 4.0, "n_tau": 16, "sweeps": 300, "thermalization": 60}
    for update in ("hmc+reflect", "metropolis"):
        r1 = run_oscillator({**job, "update": update, "seed": 5})
        r2 = run_oscillator({**job, "update": update, "seed": 5})
        r3 = run_oscillator({**job, "update": update, "seed": 6})
        for key, arr in r1["series"].items():
            assert arr.tobytes() == r2["series"][key].tobytes(), key
        assert not np.array_equal(r1["series"]["x2"], r3["series"]["x2"])
        assert r1["estimates"]["gap"] == r2["estimates"]["gap"]


def test_result_layout():
    res = run_oscillator(
        {**QUARTIC, "beta": 4.0, "n_tau": 16, "sweeps": 500, "correlator_rows": 100}
    )
    assert res["job"]["update"] == "hmc+reflect" and res["job"]["seed"] == 0
    assert res["meta"]["correlator_bin"] == 5
    assert res["series"]["correlator"].shape == (100, 9)
    assert res["estimates"]["correlator"].mean.shape == (9,)
    assert res["estimates"]["effective_mass"].mean.shape == (8,)
    for name in (*SCALARS, "gap"):
        st = res["estimates"][name]
        assert np.isfinite(st.mean) and st.error_of_mean > 0
        assert res["series"].get(name, np.zeros(500)).shape == (500,)
    assert np.allclose(res["series"]["correlator"][:, 0].mean(), res["series"]["x2"].mean())
    json.dumps(res["job"])  # the configuration slice and metadata are JSON-able as they are
    json.dumps(res["meta"])


def test_job_validation():
    base = {"potential": "double_well", "lam": 4.0, "eta": 1.4, "beta": 10.0, "n_tau": 40}
    assert normalize_job(base)["update"] == "hmc+reflect"
    assert normalize_job({**ASYM, "beta": 1.0, "n_tau": 8})["update"] == "hmc"
    with pytest.raises(ValueError, match="lamda': unknown key"):
        normalize_job({**base, "lamda": 1})
    with pytest.raises(ValueError, match="'eta': missing"):
        normalize_job({"lam": 1.0, "beta": 1.0, "n_tau": 8})
    with pytest.raises(ValueError, match="exact only for an even potential"):
        normalize_job({**ASYM, "beta": 1.0, "n_tau": 8, "update": "hmc+reflect"})
    with pytest.raises(ValueError, match="update"):
        normalize_job({**base, "update": "reflect"})
    with pytest.raises(ValueError, match="n_tau"):
        normalize_job({**base, "n_tau": 2})
    with pytest.raises(ValueError, match="'sweeps': value 'many'"):
        normalize_job({**base, "sweeps": "many"})
    with pytest.raises(ValueError, match="system"):
        normalize_job({**base, "system": "ising"})


def test_gap_window_trades_systematic_against_statistical_error():
    """The window starts where the fit's systematic error (exact correlator, the same
    weights) is below 1e-3 of the gap, or earlier where it is below 0.1 statistical errors."""
    pot = potential_from_spec({"potential": "double_well", "lam": 4.0, "eta": 1.4})
    beta, n = 20.0, 80
    w = 1.0 / (1.0 + np.arange(n // 2 + 1))  # favour short times, like 1/Var

    def start(stat_error=None) -> int:
        return gap_fit_window(pot, 1.0, beta, n, weights=w, stat_error=stat_error)[0]

    bias, gap = gap_fit_bias(pot, 1.0, beta, n, weights=w)
    k_rel = start()
    assert bias[k_rel] <= 1e-3 * gap < bias[k_rel - 1]
    assert gap_fit_window(pot, 1.0, beta, n, weights=w)[1] == n // 2
    assert start(lambda k: 1e-12) == k_rel  # tiny statistical errors: the strict window
    assert start(lambda k: 1e3) == 1  # huge ones: every start is good enough
    err = 20 * bias[k_rel - 2]  # the start two steps earlier is good enough at this error
    assert start(lambda k: err) <= k_rel - 2
