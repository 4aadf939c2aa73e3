"""The exact-likelihood estimators (rgpipe.learn.estimators) against exact answers.

Two targets with closed-form or enumerated answers, including the estimators' exact
asymptotic errors, so that every reported error is bounded from above and below:

* a 1-D Gaussian p ~ exp(-x^2 / (2 s_p^2)) sampled through a Gaussian q of width s_q:
  every moment M_k = E_q[(w/Z)^k] is closed-form, and with it the asymptotic errors of
  ln Z, ESS/N, the reweighted <x^2> and the variational free energy;
* the 2D Ising model on the 3 x 3 torus (512 states, enumerated) sampled through a
  symmetric mixture of two biased product measures: exact ln Z, F/N, observables, the
  NIS errors sum_s p^2/q (influence)^2 / N, and the independence sampler's transition
  matrix, hence its exact acceptance rate, tau_int and asymptotic errors.

Edge cases: equal, underflowing, overflowing and dominant weights (against explicit
leave-one-out recomputations), q = p; the result files' attributes.
"""

from __future__ import annotations

import functools
import math
from dataclasses import astuple, dataclass

import h5py
import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import chi2

from rgpipe.learn.estimators import (
    DEFINITIONS,
    JACKKNIFE,
    Annotation,
    Estimates,
    chain_tau_int,
    ess_fraction,
    independence_metropolis,
    log_weights,
    nis_free_energy,
    nis_log_z,
    reweighted,
    standard_estimates,
    variational_free_energy,
    write_estimates,
)
from rgpipe.physics.ising_exact import enumerate_exact
from rgpipe.physics.lattice import square
from rgpipe.stats import Stats
from rgpipe.store import read_stats


def chi2_ok(pulls: np.ndarray) -> bool:
    """sum pull^2 inside the central 99.8 % of chi^2 with len(pulls) degrees of freedom."""
    k = len(pulls)
    s = float(np.sum(np.square(pulls)))
    return bool(chi2.ppf(0.001, k) < s < chi2.ppf(0.999, k))


def relative(reported: float, exact: float) -> float:
    return abs(reported / exact - 1.0)


def binder(m2, m4):
    return 1 - m4 / (3 * m2**2)


# --------------------------------------------------------------------------- Gaussian pair


@dataclass(frozen=True)
class Gaussian:
    """Target exp(-x^2 / (2 sp^2)) (beta = 1, one site), proposal N(0, sq^2)."""

    sp: float
    sq: float

    @property
    def log_z(self) -> float:
        return math.log(math.sqrt(2 * math.pi) * self.sp)

    def moment(self, k: int) -> float:
        """M_k = E_q[(w/Z)^k] = int p^k q^(1-k) = sp^-k sq^(k-1) / sqrt(k/sp^2 + (1-k)/sq^2)."""
        sp, sq = self.sp, self.sq
        return sp**-k * sq ** (k - 1) / math.sqrt(k / sp**2 + (1 - k) / sq**2)

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, log_q, log_p_unnorm), each (n,)."""
        x = np.random.default_rng(seed).normal(scale=self.sq, size=n)
        log_q = -(x**2) / (2 * self.sq**2) - math.log(math.sqrt(2 * math.pi) * self.sq)
        return x, log_q, -(x**2) / (2 * self.sp**2)

    def log_z_error(self, n: int) -> float:
        return math.sqrt((self.moment(2) - 1) / n)

    def ess(self) -> float:
        return 1.0 / self.moment(2)

    def ess_error(self, n: int) -> float:
        """Delta method for a^2/b, a = mean(u), b = mean(u^2), u = w/Z."""
        m2, m3, m4 = self.moment(2), self.moment(3), self.moment(4)
        ga, gb = 2 / m2, -1 / m2**2
        var = ga**2 * (m2 - 1) + 2 * ga * gb * (m3 - m2) + gb**2 * (m4 - m2**2)
        return math.sqrt(var / n)

    def x2_error(self, n: int) -> float:
        """<x^2>_p = sp^2; E_q[u^2 (x^2 - sp^2)^2] = M_2 E_{N(0,v)}[(x^2 - sp^2)^2]."""
        v = 1 / (2 / self.sp**2 - 1 / self.sq**2)
        return math.sqrt(self.moment(2) * (3 * v**2 - 2 * v * self.sp**2 + self.sp**4) / n)

    def variational(self) -> float:
        """F_q = -ln Z + KL(q || p) (beta = 1, one site)."""
        kl = math.log(self.sp / self.sq) + self.sq**2 / (2 * self.sp**2) - 0.5
        return -self.log_z + kl

    def variational_error(self, n: int) -> float:
        """ln w = const + x^2 (1/sq^2 - 1/sp^2) / 2 with Var(x^2) = 2 sq^4."""
        return math.sqrt((1 / self.sq**2 - 1 / self.sp**2) ** 2 * self.sq**4 / 2 / n)


GAUSSIANS = [Gaussian(1.0, 1.5), Gaussian(1.0, 3.0)]
N_GAUSS = 4000
SEEDS = range(50)


@functools.cache
def gaussian_runs(case: Gaussian) -> dict[str, np.ndarray]:
    """Every estimator over 50 seeds: name -> (50, 2) [mean, error]."""
    out: dict[str, list] = {"log_z": [], "ess": [], "x2": [], "fq": []}
    for seed in SEEDS:
        x, lq, lp = case.sample(N_GAUSS, seed)
        lw = log_weights(lp, lq)
        for name, st in (
            ("log_z", nis_log_z(lw)),
            ("ess", ess_fraction(lw)),
            ("x2", reweighted(lambda a: a, lw, x**2)),
            ("fq", variational_free_energy(lw, 1.0, 1)),
        ):
            out[name].append((st.mean, st.error_of_mean))
    return {k: np.array(v) for k, v in out.items()}


def gaussian_exact(case: Gaussian, name: str) -> tuple[float, float]:
    """(exact value, exact asymptotic error at N_GAUSS)."""
    return {
        "log_z": (case.log_z, case.log_z_error(N_GAUSS)),
        "ess": (case.ess(), case.ess_error(N_GAUSS)),
        "x2": (case.sp**2, case.x2_error(N_GAUSS)),
        "fq": (case.variational(), case.variational_error(N_GAUSS)),
    }[name]


@pytest.mark.parametrize("case", GAUSSIANS, ids=lambda c: f"sq={c.sq}")
@pytest.mark.parametrize("name", ["log_z", "ess", "x2", "fq"])
def test_gaussian_estimates_and_errors_against_closed_form(case, name):
    """Over 50 seeds of N = 4000: every reported error within 15 % of the exact
    asymptotic one and on average within 4 %; the estimates within 3.5 reported errors of
    the exact value, their pulls chi^2-distributed (the spread over seeds is the error)."""
    runs = gaussian_runs(case)[name]
    exact, exact_err = gaussian_exact(case, name)
    means, errors = runs[:, 0], runs[:, 1]
    assert np.max(np.abs(errors / exact_err - 1)) < 0.15
    assert relative(errors.mean(), exact_err) < 0.04
    pulls = (means - exact) / errors
    assert np.max(np.abs(pulls)) < 3.5
    assert chi2_ok(pulls)


def test_gaussian_closed_forms_hold():
    """The closed-form moments themselves, checked by quadrature (so that the tests above
    compare against the right numbers)."""
    from scipy.integrate import quad

    case = GAUSSIANS[1]

    def p(x):
        return math.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)

    def q(x):
        return math.exp(-(x**2) / (2 * case.sq**2)) / (math.sqrt(2 * math.pi) * case.sq)

    for k in (2, 3, 4):
        val = quad(lambda x, k=k: p(x) ** k * q(x) ** (1 - k), -40, 40)[0]
        assert val == pytest.approx(case.moment(k), rel=1e-9)

    def log_ratio(x):
        return x**2 / 2 - x**2 / (2 * case.sq**2) - math.log(case.sq)

    kl = quad(lambda x: q(x) * log_ratio(x), -40, 40)[0]
    assert case.variational() + case.log_z == pytest.approx(kl, rel=1e-9)


# --------------------------------------------------------------------------- Ising 3 x 3

K = 0.4
BIAS = 0.6
L = 3


@dataclass(frozen=True)
class Ising:
    """Everything about the 3 x 3 torus at K and the mixture proposal, per state (512)."""

    spins: np.ndarray  # (512, 9)
    e: np.ndarray  # energy per spin
    m: np.ndarray  # magnetisation per spin
    log_p_unnorm: np.ndarray  # -K E
    log_q: np.ndarray
    log_z: float

    @property
    def n(self) -> int:
        return self.spins.shape[1]

    @property
    def p(self) -> np.ndarray:
        return np.exp(self.log_p_unnorm - self.log_z)

    @property
    def q(self) -> np.ndarray:
        return np.exp(self.log_q)

    def expect(self, values: np.ndarray) -> float:
        return float(self.p @ values)

    def sample(self, n_samples: int, seed: int) -> np.ndarray:
        """State indices of n_samples draws of q: a sign c = +-1, then each spin = c with
        probability (1 + BIAS)/2."""
        rng = np.random.default_rng(seed)
        c = rng.choice([-1, 1], size=(n_samples, 1))
        s = c * np.where(rng.random((n_samples, self.n)) < (1 + BIAS) / 2, 1, -1)
        return ((s > 0).astype(np.int64) << np.arange(self.n)).sum(axis=1)


@functools.cache
def ising() -> Ising:
    lat = square(L)
    n = lat.n_sites
    states = np.arange(1 << n)
    spins = (((states[:, None] >> np.arange(n)) & 1) * 2 - 1).astype(np.float64)
    energy = -(spins[:, lat.bonds[:, 0]] * spins[:, lat.bonds[:, 1]]).sum(axis=1)
    log_p = -K * energy
    plus = np.log((1 + BIAS * spins) / 2).sum(axis=1)
    minus = np.log((1 - BIAS * spins) / 2).sum(axis=1)
    log_q = np.logaddexp(plus, minus) - math.log(2)
    return Ising(spins, energy / n, spins.mean(axis=1), log_p, log_q, float(logsumexp(log_p)))


def heat(e1, e2):
    return K**2 * L * L * (e2 - e1**2)


@functools.cache
def ising_exact() -> dict[str, tuple[float, np.ndarray]]:
    """name -> (exact value, influence per state f_s) such that the NIS estimator's
    asymptotic variance is sum_s p_s^2/q_s f_s^2 / N and the chain's is computed from
    the transition matrix with f (both linearised at the exact means)."""
    s = ising()
    e, m = s.e, s.m
    mu = {k: s.expect(v) for k, v in {"e": e, "e2": e**2, "m2": m**2, "m4": m**4}.items()}
    grad_b = (2 * mu["m4"] / (3 * mu["m2"] ** 3), -1 / (3 * mu["m2"] ** 2))
    grad_c = K**2 * s.n * np.array([-2 * mu["e"], 1.0])
    out = {
        "energy": (mu["e"], e - mu["e"]),
        "abs_m": (s.expect(np.abs(m)), np.abs(m) - s.expect(np.abs(m))),
        "m2": (mu["m2"], m**2 - mu["m2"]),
        "binder": (
            binder(mu["m2"], mu["m4"]),
            grad_b[0] * (m**2 - mu["m2"]) + grad_b[1] * (m**4 - mu["m4"]),
        ),
        "specific_heat": (
            heat(mu["e"], mu["e2"]),
            grad_c[0] * (e - mu["e"]) + grad_c[1] * (e**2 - mu["e2"]),
        ),
    }
    # ln Z: influence w/Z - 1 (in the same p^2/q form: f = 1 - q/p)
    out["free_energy"] = (-s.log_z / (K * s.n), -(1 - s.q / s.p) / (K * s.n))
    return out


def nis_error(influence: np.ndarray, n_samples: int) -> float:
    s = ising()
    return math.sqrt(float(np.sum(s.p**2 / s.q * influence**2)) / n_samples)


def test_ising_enumeration_agrees_with_the_package():
    """The test's own enumeration against rgpipe.physics.ising_exact (independent code)."""
    ref = enumerate_exact(square(L), K)
    ex = ising_exact()
    for name in ("energy", "abs_m", "m2", "binder", "specific_heat"):
        assert ex[name][0] == pytest.approx(getattr(ref, name), rel=1e-12)
    assert ising().q.sum() == pytest.approx(1.0, rel=1e-12)


N_ISING = 20000
NIS_NAMES = ("free_energy", "energy", "abs_m", "m2", "binder", "specific_heat")


def ising_estimates(seed: int, n_samples: int = N_ISING, chain: bool = True) -> Estimates:
    s = ising()
    idx = s.sample(n_samples, seed)
    rng = np.random.default_rng(10_000 + seed) if chain else None
    return standard_estimates(
        s.log_q[idx],
        s.log_p_unnorm[idx],
        beta=K,
        n_sites=s.n,
        energy=s.e[idx],
        magnetization=s.m[idx],
        rng=rng,
    )


@functools.cache
def ising_runs(n_seeds: int = 40) -> list[Estimates]:
    return [ising_estimates(seed) for seed in range(n_seeds)]


def test_ising_nis_against_enumeration():
    """One seed: NIS F/N, energy, |m|, m^2, Binder and specific heat within 3 errors of the
    enumeration, each reported error within 15 % of the exact asymptotic one."""
    est = ising_runs()[0].stats
    for name in NIS_NAMES:
        exact, influence = ising_exact()[name]
        st = est[name]
        assert abs(st.mean - exact) < 3 * st.error_of_mean, name
        assert relative(st.error_of_mean, nis_error(influence, N_ISING)) < 0.15, name


def test_ising_nis_errors_over_seeds():
    """40 seeds: the pulls of every NIS estimate are chi^2-distributed, the mean reported
    error within 4 % of the exact one; ESS/N against sum p^2/q."""
    runs = ising_runs()
    for name in NIS_NAMES:
        exact, influence = ising_exact()[name]
        means = np.array([r.stats[name].mean for r in runs])
        errors = np.array([r.stats[name].error_of_mean for r in runs])
        assert chi2_ok((means - exact) / errors), name
        assert relative(errors.mean(), nis_error(influence, N_ISING)) < 0.04, name
    s = ising()
    ess_exact = 1 / float(np.sum(s.p**2 / s.q))
    ess = np.array(
        [(r.stats["ess_fraction"].mean, r.stats["ess_fraction"].error_of_mean) for r in runs]
    )
    assert chi2_ok((ess[:, 0] - ess_exact) / ess[:, 1])


def test_ising_variational_free_energy():
    """F_q/N against sum_s q (E + T ln q) / N, with the exact error; it lies above the exact
    F/N by T KL(q||p)/N, by many errors."""
    s = ising()
    terms = (s.log_q - s.log_p_unnorm) / (K * s.n)
    exact = float(s.q @ terms)
    exact_err = math.sqrt(float(s.q @ (terms - exact) ** 2) / N_ISING)
    free_energy = ising_exact()["free_energy"][0]
    runs = ising_runs()
    fq = np.array(
        [
            (
                r.stats["free_energy_variational"].mean,
                r.stats["free_energy_variational"].error_of_mean,
            )
            for r in runs
        ]
    )
    assert exact > free_energy
    assert np.all(fq[:, 0] > free_energy + 20 * fq[:, 1])
    assert np.max(np.abs(fq[:, 1] / exact_err - 1)) < 0.15
    assert chi2_ok((fq[:, 0] - exact) / fq[:, 1])


@functools.cache
def chain_exact() -> tuple[float, dict[str, tuple[float, float]]]:
    """The independence sampler's exact acceptance rate E_{s~p, s'~q} min(1, w'/w) and,
    per observable, (asymptotic variance per proposal, tau_int) from its transition matrix:
    sigma^2 = 2 <f, Z f>_p - <f, f>_p with Z = (1 - P + 1 p^T)^-1."""
    s = ising()
    p, q = s.p, s.q
    lw = s.log_p_unnorm - s.log_q
    move = q[None, :] * np.exp(np.minimum(0.0, lw[None, :] - lw[:, None]))
    acceptance = float(p @ move.sum(axis=1))
    trans = move.copy()
    np.fill_diagonal(trans, 0.0)
    trans[np.diag_indices_from(trans)] = 1.0 - trans.sum(axis=1)
    fund = np.linalg.inv(np.eye(len(p)) - trans + np.outer(np.ones(len(p)), p))
    out = {}
    for name in ("energy", "abs_m", "m2", "binder", "specific_heat"):
        f = ising_exact()[name][1]
        var = float(p @ f**2)
        sigma2 = 2 * float(p @ (f * (fund @ f))) - var
        out[name] = (sigma2, sigma2 / (2 * var))
    return acceptance, out


def test_chain_exact_numbers_are_consistent():
    """The transition matrix is stochastic with p stationary (so chain_exact is right)."""
    s = ising()
    lw = s.log_p_unnorm - s.log_q
    move = s.q[None, :] * np.exp(np.minimum(0.0, lw[None, :] - lw[:, None]))
    np.fill_diagonal(move, 0.0)
    move[np.diag_indices_from(move)] = 1.0 - move.sum(axis=1)
    np.testing.assert_allclose(s.p @ move, s.p, rtol=1e-10, atol=1e-16)
    acceptance, taus = chain_exact()
    assert 0.3 < acceptance < 0.7 and all(t > 1.0 for _, t in taus.values())


def test_ising_neural_mcmc_against_enumeration():
    """One chain of 20000 proposals: averages within 3 errors of the enumeration, each
    error within 15 % of the exact asymptotic one, tau_int (in proposals) within 15 % of
    the exact one, the acceptance within 3 errors of E_{p x q} min(1, w'/w)."""
    est = ising_runs()[0].stats
    acceptance, exact = chain_exact()
    for name, (sigma2, tau) in exact.items():
        st = est[f"mcmc_{name}"]
        value = ising_exact()[name][0]
        assert abs(st.mean - value) < 3 * st.error_of_mean, name
        assert relative(st.error_of_mean, math.sqrt(sigma2 / N_ISING)) < 0.15, name
        assert relative(st.tau_int, tau) < 0.15, name
    acc = est["mcmc_acceptance"]
    assert abs(acc.mean - acceptance) < 3 * acc.error_of_mean
    tau = est["mcmc_tau_int"]
    assert tau.mean == est["mcmc_energy"].tau_int
    assert abs(tau.mean - exact["energy"][1]) < 3 * tau.error_of_mean


def test_ising_neural_mcmc_over_seeds():
    """40 chains: pulls of the averages and the acceptance chi^2-distributed; the spread of
    tau_int over chains matches its reported error (to the 12 % precision of a spread of
    40); the mean error within 6 % of the exact one."""
    runs = ising_runs()
    acceptance, exact = chain_exact()
    for name, (sigma2, _) in exact.items():
        value = ising_exact()[name][0]
        st = [r.stats[f"mcmc_{name}"] for r in runs]
        means = np.array([x.mean for x in st])
        errors = np.array([x.error_of_mean for x in st])
        assert chi2_ok((means - value) / errors), name
        assert relative(errors.mean(), math.sqrt(sigma2 / N_ISING)) < 0.06, name
    acc = np.array(
        [(r.stats["mcmc_acceptance"].mean, r.stats["mcmc_acceptance"].error_of_mean) for r in runs]
    )
    assert chi2_ok((acc[:, 0] - acceptance) / acc[:, 1])
    taus = np.array(
        [(r.stats["mcmc_tau_int"].mean, r.stats["mcmc_tau_int"].error_of_mean) for r in runs]
    )
    spread = taus[:, 0].std(ddof=1)
    assert 0.7 < taus[:, 1].mean() / spread < 1.4
    assert chi2_ok((taus[:, 0] - exact["energy"][1]) / taus[:, 1])


# --------------------------------------------------------------------------- edge cases


def brute_jackknife(func, values: np.ndarray) -> float:
    """Delete-one jackknife by N explicit recomputations (values: (N,) per-sample input)."""
    n = len(values)
    theta = np.array([func(np.delete(values, i)) for i in range(n)])
    return float(np.sqrt((n - 1) / n * np.sum((theta - theta.mean()) ** 2)))


def heavy_log_weights(dominant: bool) -> np.ndarray:
    """200 log weights spread over 40 nats, some underflowing (-1e4), the largest 30 nats
    above the rest when ``dominant`` (it carries more than half the weight)."""
    rng = np.random.default_rng(5)
    lw = rng.normal(scale=8.0, size=200)
    lw[::17] = -1e4
    if dominant:
        lw[3] = lw.max() + 30.0
    return lw


@pytest.mark.parametrize("dominant", [False, True])
def test_jackknife_equals_explicit_leave_one_out(dominant):
    """ln Z, ESS/N and a reweighted Binder cumulant: the error equals the jackknife done by
    N explicit recomputations (high-precision leave-one-out sums), also when one sample
    carries almost all the weight and others underflow."""
    lw = heavy_log_weights(dominant)
    rng = np.random.default_rng(6)
    m = rng.uniform(-1, 1, size=lw.size)
    idx = np.arange(lw.size, dtype=np.float64)

    def log_z(i):
        keep = lw[i.astype(int)]
        return logsumexp(keep) - math.log(len(keep))

    def ess(i):
        keep = lw[i.astype(int)]
        return math.exp(2 * logsumexp(keep) - logsumexp(2 * keep)) / len(keep)

    def bind(i):
        keep = i.astype(int)
        r = np.exp(lw[keep] - logsumexp(lw[keep]))
        return binder(r @ m[keep] ** 2, r @ m[keep] ** 4)

    got = {
        "log_z": nis_log_z(lw).error_of_mean,
        "ess": ess_fraction(lw).error_of_mean,
        "binder": reweighted(binder, lw, m**2, m**4).error_of_mean,
    }
    for name, func in (("log_z", log_z), ("ess", ess), ("binder", bind)):
        assert got[name] == pytest.approx(brute_jackknife(func, idx), rel=1e-9), name
    assert nis_log_z(lw).mean == pytest.approx(logsumexp(lw) - math.log(lw.size), rel=1e-14)


def test_equal_weights_q_equals_p():
    """All weights equal: ESS/N = 1, ln Z = ln w with error exactly 0 (not NaN), every
    proposal accepted; a reweighted mean is the plain mean with its standard error."""
    lw = np.full(1000, 3.7)
    x = np.random.default_rng(1).normal(size=1000)
    lz = nis_log_z(lw)
    assert lz.mean == pytest.approx(3.7, abs=1e-14) and lz.error_of_mean == 0.0
    ess = ess_fraction(lw)
    assert ess.mean == pytest.approx(1.0, rel=1e-12) and ess.error_of_mean == 0.0
    st = reweighted(lambda a: a, lw, x)
    assert st.mean == pytest.approx(x.mean(), rel=1e-12)
    assert st.error_of_mean == pytest.approx(x.std(ddof=1) / math.sqrt(1000), rel=1e-10)
    assert variational_free_energy(lw, 2.0, 4).error_of_mean == 0.0
    chain = independence_metropolis(lw, {"x": x}, np.random.default_rng(2))
    assert chain.accepted.all() and chain.acceptance.mean == 1.0
    assert chain.acceptance.error_of_mean == 0.0
    np.testing.assert_array_equal(chain.series["x"], x)
    flat = chain_tau_int(np.full(100, 2.0))  # a constant series: tau_int without an error
    assert flat.mean == 0.5 and np.isnan(flat.error_of_mean)


def test_ising_sampled_from_p_itself():
    """q = p on the 3 x 3 torus (log q = -K E - ln Z, weights equal up to rounding): ln Z
    and F/N exact to rounding with errors ~0, ESS/N = 1, acceptance 1, the chain's tau_int
    of an independent series 0.5 within its error; the variational F equals the exact F."""
    s = ising()
    idx = np.random.default_rng(3).choice(len(s.p), size=5000, p=s.p)
    log_q = s.log_p_unnorm[idx] - s.log_z
    est = standard_estimates(
        log_q,
        s.log_p_unnorm[idx],
        beta=K,
        n_sites=s.n,
        energy=s.e[idx],
        magnetization=s.m[idx],
        rng=np.random.default_rng(4),
    ).stats
    exact_f = ising_exact()["free_energy"][0]
    for name in ("free_energy", "free_energy_variational"):
        assert est[name].mean == pytest.approx(exact_f, abs=1e-13)
        assert 0.0 <= est[name].error_of_mean < 1e-13
    assert est["ess_fraction"].mean == pytest.approx(1.0, abs=1e-12)
    assert est["mcmc_acceptance"].mean == 1.0
    tau = est["mcmc_tau_int"]
    assert abs(tau.mean - 0.5) < 3 * tau.error_of_mean and tau.error_of_mean < 0.05
    assert est["mcmc_energy"].mean == pytest.approx(s.e[idx].mean(), rel=1e-14)


def test_underflowing_and_overflowing_weights():
    """log w of -1e4 beside 0: those samples have weight 0 exactly (ln Z = ln(n_0/N), the
    reweighted mean is the mean over the others, with the standard error of a fraction);
    shifting every log w by +1000 (exp overflows) changes only ln Z, by 1000."""
    rng = np.random.default_rng(8)
    lw = np.where(rng.random(2000) < 0.3, -1e4, 0.0)
    x = rng.normal(size=2000)
    keep = lw == 0
    frac = keep.mean()
    lz = nis_log_z(lw)
    assert lz.mean == pytest.approx(math.log(frac), rel=1e-14)
    # the jackknife of ln(mean) of a 0/1 series (n1 ones, n0 zeros) in closed form: the
    # leave-one-out values differ by ln(1 - 1/n1) between a removed 1 and a removed 0
    n, n1 = keep.size, int(keep.sum())
    jk = math.sqrt((n - 1) * n1 * (n - n1)) / n * abs(math.log1p(-1 / n1))
    assert lz.error_of_mean == pytest.approx(jk, rel=1e-10)
    st = reweighted(lambda a: a, lw, x)
    assert st.mean == pytest.approx(x[keep].mean(), rel=1e-12)
    assert np.isfinite(st.error_of_mean) and st.error_of_mean > 0
    assert ess_fraction(lw).mean == pytest.approx(frac, rel=1e-12)
    shifted = lw + 1000.0
    assert nis_log_z(shifted).mean == pytest.approx(lz.mean + 1000.0, rel=1e-14)
    assert nis_log_z(shifted).error_of_mean == pytest.approx(lz.error_of_mean, rel=1e-12)
    assert reweighted(lambda a: a, shifted, x).mean == pytest.approx(st.mean, rel=1e-12)
    assert ess_fraction(shifted).mean == pytest.approx(frac, rel=1e-12)
    chain = independence_metropolis(lw, {"x": x}, np.random.default_rng(9))
    first = int(np.argmax(keep))
    assert np.all(keep[chain.index[first:]])


def test_one_sample_with_all_the_weight():
    """Others of weight exactly 0 (log w = -inf): the estimates are defined, their errors
    not (NaN, never 0); a chain started at a zero-weight proposal leaves it at once."""
    lw = np.array([-np.inf, 0.0, -np.inf, -np.inf])
    x = np.array([5.0, 1.0, 2.0, 3.0])
    lz = nis_log_z(lw)
    assert lz.mean == pytest.approx(math.log(0.25)) and np.isnan(lz.error_of_mean)
    assert np.isnan(ess_fraction(lw).error_of_mean)
    st = reweighted(lambda a: a, lw, x)
    assert st.mean == 1.0 and np.isnan(st.error_of_mean)
    chain = independence_metropolis(lw, {"x": x}, np.random.default_rng(0))
    np.testing.assert_array_equal(chain.index, [0, 1, 1, 1])
    assert variational_free_energy(lw, 1.0, 1).mean == np.inf


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError, match="NaN or \\+inf"):
        log_weights(np.array([0.0, 1.0]), np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="NaN or \\+inf"):
        log_weights(np.array([0.0, 1.0]), np.array([0.0, -np.inf]))
    with pytest.raises(ValueError, match="differ in shape"):
        log_weights(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="at least 2"):
        nis_log_z(np.zeros(1))
    with pytest.raises(ValueError, match="weights are zero"):
        ess_fraction(np.full(3, -np.inf))
    with pytest.raises(ValueError, match="series 1 has shape"):
        reweighted(binder, np.zeros(3), np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="observable x"):
        independence_metropolis(np.zeros(3), {"x": np.ones(2)}, np.random.default_rng(0))


# --------------------------------------------------------------------------- result files


def same(a: Stats, b: Stats) -> None:
    """Identical Stats (NaN equal to NaN)."""
    np.testing.assert_array_equal(astuple(a), astuple(b))


def test_standard_set_is_the_estimators_on_the_same_samples():
    """standard_estimates is the individual estimators (same rng: the same chain), every
    name of DEFINITIONS and nothing else."""
    s = ising()
    idx = s.sample(3000, 11)
    lw = log_weights(s.log_p_unnorm[idx], s.log_q[idx])
    e, m = s.e[idx], s.m[idx]
    est = ising_estimates(11, n_samples=3000)
    assert set(est.stats) == set(DEFINITIONS) and est.n_samples == 3000
    same(est.stats["free_energy"], nis_free_energy(lw, K, s.n))
    same(est.stats["free_energy_variational"], variational_free_energy(lw, K, s.n))
    same(est.stats["binder"], reweighted(binder, lw, m**2, m**4))
    assert est.stats["specific_heat"].mean == pytest.approx(
        reweighted(heat, lw, e, e**2).mean, rel=1e-12
    )
    chain = independence_metropolis(lw, {"energy": e}, np.random.default_rng(10_011))
    same(est.stats["mcmc_energy"], chain.estimates["energy"])
    same(est.stats["mcmc_acceptance"], chain.acceptance)
    same(est.stats["mcmc_tau_int"], chain_tau_int(chain.series["energy"]))
    without = ising_estimates(11, n_samples=3000, chain=False)
    assert not any(k.startswith("mcmc_") for k in without.stats)


def annotations(est: Estimates) -> dict[str, Annotation]:
    exact = {k: v[0] for k, v in ising_exact().items()}
    exact["mcmc_acceptance"] = chain_exact()[0]
    return {
        k: Annotation(
            *DEFINITIONS[k],
            exact=exact.get(k.removeprefix("mcmc_"), exact.get(k, math.nan)),
            reference="enumeration of the 3 x 3 torus",
        )
        for k in est.stats
    }


def test_write_estimates_round_trip(tmp_path):
    """Every estimate under the group with its Stats, the caller's attributes, the
    jackknife's error model on NIS estimates and none on the chain's (Gamma method)."""
    est = ising_estimates(12, n_samples=3000)
    ann = annotations(est)
    with h5py.File(tmp_path / "e.h5", "w") as fh:
        write_estimates(fh.create_group("estimates"), est, ann)
    with h5py.File(tmp_path / "e.h5", "r") as fh:
        grp = fh["estimates"]
        assert set(grp) == set(est.stats)
        for name, st in est.stats.items():
            back = read_stats(grp[name])
            np.testing.assert_array_equal(
                [back.mean, back.error_of_mean, back.variance, back.tau_int],
                [st.mean, st.error_of_mean, st.variance, st.tau_int],
            )
            attrs = grp[name].attrs
            assert attrs["units"] == ann[name].units
            assert attrs["description"] == ann[name].description
            np.testing.assert_array_equal(attrs["exact"], ann[name].exact)
            assert attrs["reference_kind"] == "exact" and attrs["n_samples"] == 3000
            assert "status" not in grp[name]
        assert grp["free_energy"].attrs["error_model"] == JACKKNIFE
        assert "error_model" not in grp["mcmc_energy"].attrs
        assert grp["energy"].attrs["exact"] == ising_exact()["energy"][0]


def test_write_estimates_checks_before_writing(tmp_path):
    """A missing or extra annotation, an unknown reference kind or a name already there
    writes nothing; a NaN error gets a status saying why."""
    est = ising_estimates(12, n_samples=3000, chain=False)
    ann = annotations(est)
    with h5py.File(tmp_path / "e.h5", "w") as fh:
        grp = fh.create_group("estimates")
        for bad in (
            {k: v for k, v in ann.items() if k != "binder"},
            {**ann, "extra": ann["binder"]},
            {**ann, "binder": Annotation("1", "U", reference_kind="guess")},
        ):
            with pytest.raises(ValueError, match=r"annotation|reference_kind"):
                write_estimates(grp, est, bad)
            assert len(grp) == 0
        grp.create_group("binder")
        with pytest.raises(ValueError, match="already holds"):
            write_estimates(grp, est, ann)
        assert list(grp) == ["binder"]
        del grp["binder"]
        lw = np.array([0.0, -np.inf, -np.inf])
        nan = Estimates({"log_z": nis_log_z(lw)}, {"log_z": JACKKNIFE}, 3)
        write_estimates(grp, nan, {"log_z": Annotation("1", "ln Z")})
        assert grp["log_z/status"][()] == 1
        assert "jackknife" in grp["log_z/status"].attrs["meaning"]
