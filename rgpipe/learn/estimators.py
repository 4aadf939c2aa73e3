"""Estimators for any model with an exact likelihood: samples s ~ q with exact log q(s).

A generative family (autoregressive network, normalising flow, wavelet model) draws N
independent samples s_i ~ q and knows log q(s_i) exactly; the target is the Boltzmann
distribution p(s) = exp(-beta E(s)) / Z.  From the importance weights
w = exp(-beta E) / q, kept in log space (``log_w = log_p_unnorm - log_q``):

* neural importance sampling (NIS): Z = E_q[w], so ln Z is estimated by ln mean(w) (mean(w)
  is unbiased for Z; its log is biased low by about Var(w) / (2 N Z^2), i.e. by
  (N/ESS - 1) / (2 N), far below the error whenever ESS >> 1); the free energy per spin
  F/N = -ln Z / (beta N);
* the variational free energy per spin F_q/N = <E + T ln q>_q / N = -<ln w>_q / (beta N),
  an upper bound: F_q - F = T KL(q || p) >= 0;
* the effective sample size per sample, ESS/N = (sum w)^2 / (N sum w^2), in [1/N, 1];
* reweighted expectations <O>_p = sum w O / sum w (the ratio estimator) and smooth
  functions of several of them (Binder cumulant, specific heat): :func:`reweighted`;
* neural MCMC: q as the proposal of an independence Metropolis chain, which accepts s' with
  probability min(1, w(s') / w(s)) and is exact for any q > 0 wherever p > 0, however poor
  (a poor q only makes it slower): :func:`independence_metropolis`.

Errors.  The NIS quantities (ln Z, reweighted expectations, ESS/N) get the delete-one
jackknife over the N independent samples, computed from the normalised weights
w_i / sum w, so no weight is exponentiated without its scale and a weight of exp(-1e4)
beside one of 1 is simply 0; the one sample that may carry more than half the weight is
left out exactly (the others re-normalised among themselves), not by a cancelling
difference.  Their ``Stats`` have tau_int 0.5 (independent samples) and ``variance`` N
error^2, the variance of the per-sample influence (the projected series of
:func:`rgpipe.stats.derived`).  The variational free energy gets the standard error of a
mean of independent terms.  The chain's averages get the Gamma method
(:func:`rgpipe.stats.gamma_method`), its tau_int counting proposals (one chain step per
proposal, accepted or not).

These errors assume a finite Var_q(w) (the error of ESS/N a finite E_q[w^4]).  A q with
lighter tails than p can have an infinite one: the estimates then converge slower than
1/sqrt(N) while the reported errors look fine, and the independence chain, with unbounded
weights no longer geometrically ergodic, sticks at the largest ones.  A small ESS/N that
drifts with N is the symptom.

Conventions: float64 numpy arrays (a caller holding torch tensors passes
``t.detach().cpu().double().numpy()``); ``log_p_unnorm = -beta E(s)`` with E the total
energy in units of J and beta in 1/J, so free energies per spin are in units of J;
entropies and log-likelihoods in nats.  ``log_w = -inf`` is a sample of zero weight
(p(s) = 0); NaN and +inf are rejected.

The results of one model's samples are collected in :class:`Estimates` (see
:func:`standard_estimates` for spin models) and written by :func:`write_estimates` as
``<group>/<name>/{mean, error_of_mean, variance, tau_int}`` with the caller's ``units``,
``description``, ``exact``, ``reference`` and ``reference_kind`` attributes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np
from scipy.special import logsumexp

from rgpipe.stats import Stats, autocovariance, derived, gamma_method
from rgpipe.store import write_stats

JACKKNIFE = "delete-one jackknife over the N independent samples of q"
"""Error model of the NIS estimates (written as their ``error_model`` attribute)."""

STANDARD_ERROR = "standard error of the mean over the N independent samples of q"
"""Error model of the variational free energy."""

TAU_ERROR = "Madras-Sokal: tau_int sqrt(2 (2 W + 1) / N), W Sokal's window (W >= 6 tau_int)"
"""Error model of the chain's integrated autocorrelation time."""

SOKAL_C = 6.0
"""Sokal's window factor: the error of tau_int is evaluated at the first W >= c tau_int(W)."""


# --------------------------------------------------------------------------- weights


def _as_series(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must have shape (N,), got {a.shape}")
    return a


def check_log_weights(log_w: Any) -> np.ndarray:
    """``log_w`` as a float64 (N,) array, checked.

    Raises:
        ValueError: not one-dimensional, fewer than 2 samples, a NaN or +inf, or every
            weight zero (no estimate of anything).
    """
    lw = _as_series(log_w, "log_w")
    if lw.size < 2:
        raise ValueError(f"need at least 2 samples, got {lw.size}")
    bad = np.isnan(lw) | (lw == np.inf)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} of {lw.size} log weights are NaN or +inf "
            f"(first at sample {int(np.argmax(bad))}): log q or log p_unnorm is broken there"
        )
    if not np.isfinite(lw).any():
        raise ValueError(f"all {lw.size} importance weights are zero")
    return lw


def log_weights(log_p_unnorm: Any, log_q: Any) -> np.ndarray:
    """Importance log-weights log w = log p_unnorm - log q of N samples of q.

    Args:
        log_p_unnorm: float64 (N,), -beta E(s) (nats; E total energy in J, beta in 1/J).
        log_q: float64 (N,), the model's exact log-likelihood of its own samples (nats).

    Returns:
        float64 (N,); -inf where p_unnorm = 0.

    Raises:
        ValueError: shapes differ, or :func:`check_log_weights` fails (a sample with
            q = 0, a NaN, ...).
    """
    lp = _as_series(log_p_unnorm, "log_p_unnorm")
    lq = _as_series(log_q, "log_q")
    if lp.shape != lq.shape:
        raise ValueError(f"log_p_unnorm {lp.shape} and log_q {lq.shape} differ in shape")
    with np.errstate(invalid="ignore"):
        return check_log_weights(lp - lq)


def _normalised(lw: np.ndarray) -> tuple[np.ndarray, float]:
    """(w_i / sum w, ln sum w), computed in log space."""
    lse = float(logsumexp(lw))
    return np.exp(lw - lse), lse


def _dominant(r: np.ndarray) -> int | None:
    """The sample carrying more than half of the normalised weight ``r``, if any (at most
    one can): leaving it out is computed directly, not as 1 - r (which would cancel)."""
    i = int(np.argmax(r))
    return i if r[i] > 0.5 else None


def _jackknife(theta: np.ndarray) -> float:
    """Delete-one jackknife error from the N leave-one-out values (NaN if one is not
    finite: that replicate has no estimate)."""
    if not np.all(np.isfinite(theta)):
        return float("nan")
    n = theta.size
    d = theta - theta[0]  # exact zeros where all values are equal (error exactly 0)
    d -= d.mean()
    return float(np.sqrt((n - 1) / n * np.dot(d, d)))


def _independent(mean: float, error: float, n: int) -> Stats:
    """Stats of an estimate from n independent samples: variance n error^2, tau_int 0.5."""
    return Stats(float(mean), float(error), float(n * error**2), 0.5)


# --------------------------------------------------------------------------- NIS


def nis_log_z(log_w: Any) -> Stats:
    """ln Z estimated by ln mean(w) over N samples of q (neural importance sampling).

    Args:
        log_w: float64 (N,) importance log-weights (:func:`log_weights`).

    Returns:
        Stats (nats): ``mean`` ln mean(w), ``error_of_mean`` its delete-one jackknife error
        (asymptotically sqrt(Var(w) / N) / Z), ``variance`` N error^2 (about
        N/ESS - 1), ``tau_int`` 0.5.  The error is 0 when all weights are equal (q = p)
        and NaN when leaving out the one sample of non-zero weight leaves no weight.
    """
    lw = check_log_weights(log_w)
    n = lw.size
    r, lse = _normalised(lw)
    # ln of the leave-one-out mean minus the full one's: ln(1 - r_i) + ln(N / (N - 1))
    with np.errstate(divide="ignore"):
        d = np.log1p(-r)
        i = _dominant(r)
        if i is not None:
            d[i] = logsumexp(np.delete(lw, i)) - lse
    value = lse - math.log(n)
    return _independent(value, _jackknife(d), n)


def nis_free_energy(log_w: Any, beta: float, n_sites: int) -> Stats:
    """Free energy per spin F/N = -ln Z / (beta N), ln Z by :func:`nis_log_z`.

    Args:
        log_w: float64 (N,) importance log-weights with log p_unnorm = -beta E.
        beta: inverse temperature (1/J).
        n_sites: number of spins N of one configuration.

    Returns:
        Stats in units of J (``variance``: of the per-sample influence, in J^2).
    """
    st = nis_log_z(log_w)
    scale = -1.0 / (beta * n_sites)
    return Stats(scale * st.mean, abs(scale) * st.error_of_mean, scale**2 * st.variance, 0.5)


def variational_free_energy(log_w: Any, beta: float, n_sites: int) -> Stats:
    """Variational free energy per spin F_q/N = <E + T ln q>_q / N = -<ln w>_q / (beta N).

    An upper bound of F/N (by T KL(q || p) / N); biased, reported beside the NIS value.

    Args:
        log_w: float64 (N,) importance log-weights with log p_unnorm = -beta E.
        beta: inverse temperature (1/J).
        n_sites: number of spins N of one configuration.

    Returns:
        Stats in units of J: the sample mean, its standard error std(ddof=1)/sqrt(N),
        ``variance`` of one term, tau_int 0.5; +inf with a NaN error if a sample has
        p = 0 (q puts weight where p has none).
    """
    lw = check_log_weights(log_w)
    n = lw.size
    terms = -lw / (beta * n_sites)
    if not np.all(np.isfinite(terms)):
        return Stats(float("inf"), float("nan"), float("nan"), 0.5)
    var = float((terms - terms[0]).var(ddof=1))  # exactly 0 for equal terms
    return Stats(float(terms.mean()), math.sqrt(var / n), var, 0.5)


def ess_fraction(log_w: Any) -> Stats:
    """Effective sample size per sample, ESS/N = (sum w)^2 / (N sum w^2), in [1/N, 1].

    Asymptotically Z^2 / E_q[w^2]: 1 for q = p, small where q misses p's mass.

    Args:
        log_w: float64 (N,) importance log-weights.

    Returns:
        Stats (dimensionless) with the delete-one jackknife error, tau_int 0.5.
    """
    lw = check_log_weights(log_w)
    n = lw.size
    r, _ = _normalised(lw)
    b = float(np.dot(r, r))  # sum r^2 = 1 / ESS
    value = 1.0 / (n * b)
    # leave-one-out: (1 - r_i)^2 / ((N - 1) (b - r_i^2)); at most one i has r_i^2 > b/2
    with np.errstate(divide="ignore", invalid="ignore"):
        loo = (1.0 - r) ** 2 / ((n - 1) * (b - r**2))
        i = int(np.argmax(r))
        if r[i] ** 2 > b / 2:
            others = np.delete(lw, i)
            loo[i] = np.exp(2 * logsumexp(others) - logsumexp(2 * others)) / (n - 1)
    return _independent(value, _jackknife(loo), n)


def reweighted(func: Callable[..., Any], log_w: Any, *series: Any) -> Stats:
    """F(<a_1>_p, ..., <a_k>_p) from samples of q, with ratio estimators
    <a>_p = sum w a / sum w and a delete-one jackknife error.

    In the style of :func:`rgpipe.stats.derived`, for independent weighted samples:
    ``reweighted(lambda e: e, log_w, e)`` is <e>_p, ``reweighted(lambda m2, m4: 1 - m4 /
    (3 * m2**2), log_w, m**2, m**4)`` the Binder cumulant.

    Args:
        func: F, called as ``func(*means)``; it must act elementwise on arrays (numpy
            broadcasting), since the jackknife calls it once with the N leave-one-out
            means of each series, arrays of shape (N,).
        log_w: float64 (N,) importance log-weights.
        series: k float64 (N,) arrays, the observables a_j of the samples.

    Returns:
        Stats of F: ``mean`` F at the reweighted means (the ratio estimator's bias O(1/N)
        is not removed), ``error_of_mean`` the jackknife error, ``variance`` N error^2,
        tau_int 0.5.  NaN error where a leave-one-out value is undefined (F undefined
        there, or the left-out sample carried all the weight).

    Raises:
        ValueError: no series, or a series of another shape than ``log_w``.
    """
    lw = check_log_weights(log_w)
    n = lw.size
    if not series:
        raise ValueError("reweighted needs at least one series")
    a = [_as_series(s, f"series {j}") for j, s in enumerate(series)]
    for j, s in enumerate(a):
        if s.shape != lw.shape:
            raise ValueError(f"series {j} has shape {s.shape}, log_w {lw.shape}")
    r, _ = _normalised(lw)
    i = _dominant(r)
    means, loo = [], []
    for s in a:
        mean = float(np.dot(r, s))
        with np.errstate(divide="ignore", invalid="ignore"):
            # (sum_{j != i} r_j s_j) / (1 - r_i) = mean + r_i (mean - s_i) / (1 - r_i)
            left = mean + r * (mean - s) / (1.0 - r)
        if i is not None:
            left[i] = _weighted_mean(np.delete(lw, i), np.delete(s, i))
        means.append(mean)
        loo.append(left)
    value = float(func(*means))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        theta = np.broadcast_to(np.asarray(func(*loo), dtype=np.float64), (n,))
    return _independent(value, _jackknife(theta) if np.isfinite(value) else math.nan, n)


def _weighted_mean(lw: np.ndarray, s: np.ndarray) -> float:
    """sum w s / sum w in log space (NaN if every weight is zero)."""
    if not np.isfinite(lw).any():
        return float("nan")
    r, _ = _normalised(lw)
    return float(np.dot(r, s))


# --------------------------------------------------------------------------- neural MCMC


@dataclass(frozen=True)
class MetropolisChain:
    """An independence Metropolis chain run on N pre-drawn proposals.

    Attributes:
        index: int64 (N,), the proposal the chain holds after each step (index[0] = 0:
            the chain starts at the first proposal).
        accepted: bool (N - 1,), whether proposal t (t = 1..N-1) was accepted.
        series: name -> float64 (N,), the chain's observables (the proposals' values at
            ``index``).
        acceptance: Stats of the accept indicators (Gamma method).
        estimates: name -> Stats of each series (Gamma method; tau_int in proposals).
    """

    index: np.ndarray
    accepted: np.ndarray
    series: dict[str, np.ndarray]
    acceptance: Stats
    estimates: dict[str, Stats]


def _chain(lw: np.ndarray, log_u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index (N,), accepted (N-1,)): accept proposal t iff ln u_t < ln w_t - ln w_held."""
    n = lw.size
    w, u = lw.tolist(), log_u.tolist()
    index, accepted = [0] * n, [False] * (n - 1)
    held = 0
    for t in range(1, n):
        # a NaN difference (both weights zero) compares False: the zero-weight state stays
        if u[t - 1] < w[t] - w[held]:
            held = t
            accepted[t - 1] = True
        index[t] = held
    return np.asarray(index, dtype=np.int64), np.asarray(accepted, dtype=bool)


def independence_metropolis(
    log_w: Any, observables: Mapping[str, Any], rng: np.random.Generator
) -> MetropolisChain:
    """Neural MCMC: q as the independence proposal of a Metropolis chain targeting p.

    Proposal t (t = 1..N-1, in the given order) replaces the held state s with probability
    min(1, w(s_t) / w(s)); the chain starts at proposal 0.  It is exact for any q that
    covers p: after the start (drawn from q, not p; the bias this leaves is O(tau/N),
    below the error) its states are distributed as p, whatever the weights' variance.
    One step is one proposal, so tau_int counts proposals: the chain's error is that of
    N / (2 tau_int) independent samples of p.

    Args:
        log_w: float64 (N,) importance log-weights of the proposals (:func:`log_weights`).
        observables: name -> float64 (N,), the proposals' observables.
        rng: generator of the N - 1 accept uniforms (drawn at once, ``rng.random(N - 1)``).

    Returns:
        The chain: its states, accept indicators, observables, acceptance rate and their
        Gamma-method estimates.
    """
    lw = check_log_weights(log_w)
    n = lw.size
    obs = {k: _as_series(v, k) for k, v in observables.items()}
    for k, v in obs.items():
        if v.shape != lw.shape:
            raise ValueError(f"observable {k} has shape {v.shape}, log_w {lw.shape}")
    with np.errstate(divide="ignore"):
        log_u = np.log(rng.random(n - 1))
    index, accepted = _chain(lw, log_u)
    series = {k: v[index] for k, v in obs.items()}
    return MetropolisChain(
        index=index,
        accepted=accepted,
        series=series,
        acceptance=gamma_method(accepted.astype(np.float64)),
        estimates={k: gamma_method(v) for k, v in series.items()},
    )


def _sokal_window(series: np.ndarray, c: float) -> int:
    """Sokal's automatic window: the first W with W >= c tau_int(W) (or the last one)."""
    gamma = autocovariance(series)[: max(2, series.size // 2)]
    tau_w = 0.5 + np.cumsum(gamma[1:] / gamma[0])
    ok = np.arange(1, tau_w.size + 1) >= c * tau_w
    return int(np.argmax(ok)) + 1 if ok.any() else int(tau_w.size)


def chain_tau_int(series: Any, c: float = SOKAL_C) -> Stats:
    """The integrated autocorrelation time of one chain series, with an error.

    Args:
        series: float64 (N,), a Markov chain's measurements (one per proposal for
            :func:`independence_metropolis`).
        c: Sokal's window factor.

    Returns:
        Stats (in steps of the chain): ``mean`` the Gamma method's tau_int,
        ``error_of_mean`` Madras-Sokal's tau_int sqrt(2 (2 W + 1) / N) at Sokal's window
        W, ``variance`` and ``tau_int`` NaN (not series statistics); NaN error for a
        constant series.
    """
    x = _as_series(series, "series")
    st = gamma_method(x)
    if not st.variance > 0:
        return Stats(st.tau_int, float("nan"), float("nan"), float("nan"))
    w = _sokal_window(x, c)
    err = st.tau_int * math.sqrt(2.0 * (2 * w + 1) / x.size)
    return Stats(float(st.tau_int), float(err), float("nan"), float("nan"))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Estimates:
    """The estimates from one model's samples, by name: what a family writes to
    ``/estimates/<name>`` (:func:`write_estimates`).

    Attributes:
        stats: name -> scalar Stats (tau_int 0.5 for the independent samples of q, in
            proposals for chain averages, NaN where no series underlies the number).
        error_models: name -> how its error was computed, for estimates not from the
            Gamma method of a Markov chain (written as the ``error_model`` attribute).
        n_samples: the number N of samples (proposals) of q.
    """

    stats: dict[str, Stats]
    error_models: dict[str, str] = field(default_factory=dict)
    n_samples: int = 0


@dataclass(frozen=True)
class Annotation:
    """What the caller knows about one estimate: written as its group's attributes.

    Attributes:
        units: e.g. ``J``, ``1``.
        description: what the number is (one line).
        exact: the reference value (NaN when none is known).
        reference: the source of ``exact``.
        reference_kind: ``exact`` (a pull is meaningful) or ``literature``.
    """

    units: str
    description: str
    exact: float = float("nan")
    reference: str = "none"
    reference_kind: str = "exact"


def write_estimates(
    group: h5py.Group, estimates: Estimates, annotations: Mapping[str, Annotation]
) -> None:
    """Write every estimate as ``group/<name>/{mean, error_of_mean, variance, tau_int}``.

    Attributes of each ``group/<name>``: ``units``, ``description``, ``exact``,
    ``reference``, ``reference_kind`` (from ``annotations``), ``n_samples``, and
    ``error_model`` where the error is not the Gamma method's.  Where the error is not
    finite, a ``status`` dataset (int8 1; attribute ``meaning``, JSON code -> why) says so.

    Args:
        group: an open, writable h5py group (e.g. the file's ``/estimates``).
        estimates: the estimates (:func:`standard_estimates` or built by the caller).
        annotations: name -> Annotation, exactly one per estimate.

    Raises:
        ValueError: an estimate without annotation or an annotation of no estimate, a name
            the group already holds, or a ``reference_kind`` other than ``exact`` or
            ``literature`` (nothing written).
    """
    missing = sorted(set(estimates.stats) - set(annotations))
    extra = sorted(set(annotations) - set(estimates.stats))
    if missing or extra:
        raise ValueError(f"estimates without annotation {missing}, annotations of none {extra}")
    clash = sorted(set(estimates.stats) & set(group))
    if clash:
        raise ValueError(f"{group.name} already holds {clash}")
    kinds = {k: a.reference_kind for k, a in annotations.items()}
    bad = sorted(k for k, v in kinds.items() if v not in ("exact", "literature"))
    if bad:
        raise ValueError(f"reference_kind must be exact or literature: {bad}")
    for name, st in estimates.stats.items():
        ann = annotations[name]
        attrs = {
            "units": ann.units,
            "description": ann.description,
            "exact": float(ann.exact),
            "reference": ann.reference,
            "reference_kind": ann.reference_kind,
            "n_samples": int(estimates.n_samples),
        }
        model = estimates.error_models.get(name, "")
        if model:
            attrs["error_model"] = model
        grp = write_stats(group, name, st, attrs)
        if not np.isfinite(st.error_of_mean):
            why = f"error not estimable from these samples ({model or 'Gamma method'})"
            status = grp.create_dataset("status", data=np.int8(1))
            status.attrs["meaning"] = json.dumps({"0": "ok", "1": why})


# --------------------------------------------------------------------------- spin models

DEFINITIONS: dict[str, tuple[str, str]] = {
    "free_energy": ("J", "free energy per spin -ln Z/(beta N), Z by importance sampling"),
    "free_energy_variational": ("J", "variational free energy per spin <E + T ln q>_q / N"),
    "energy": ("J", "energy per spin <E/N>_p, reweighted samples of q"),
    "abs_m": ("1", "<|m|>_p, reweighted samples of q"),
    "m2": ("1", "<m^2>_p, reweighted samples of q"),
    "m4": ("1", "<m^4>_p, reweighted samples of q"),
    "binder": ("1", "Binder cumulant 1 - <m^4>/(3 <m^2>^2), reweighted samples of q"),
    "specific_heat": ("k_B", "specific heat per spin beta^2 N (<e^2> - <e>^2), reweighted"),
    "ess_fraction": ("1", "effective sample size per sample (sum w)^2 / (N sum w^2)"),
    "mcmc_energy": ("J", "energy per spin, independence Metropolis chain with proposal q"),
    "mcmc_abs_m": ("1", "<|m|>, independence Metropolis chain with proposal q"),
    "mcmc_m2": ("1", "<m^2>, independence Metropolis chain with proposal q"),
    "mcmc_m4": ("1", "<m^4>, independence Metropolis chain with proposal q"),
    "mcmc_binder": ("1", "Binder cumulant, independence Metropolis chain with proposal q"),
    "mcmc_specific_heat": ("k_B", "specific heat per spin, independence Metropolis chain"),
    "mcmc_acceptance": ("1", "acceptance rate of the independence Metropolis chain"),
    "mcmc_tau_int": ("proposals", "tau_int of the chain's energy, in proposals"),
}
"""(units, description) of every name :func:`standard_estimates` returns; a caller's
:class:`Annotation` may start from them."""


def _binder(m2: Any, m4: Any) -> Any:
    return 1.0 - m4 / (3.0 * m2**2)


def standard_estimates(
    log_q: Any,
    log_p_unnorm: Any,
    *,
    beta: float,
    n_sites: int,
    energy: Any,
    magnetization: Any,
    rng: np.random.Generator | None = None,
) -> Estimates:
    """The standard set of a spin model's samples of q (names: :data:`DEFINITIONS`).

    NIS: ``free_energy``, ``energy``, ``abs_m``, ``m2``, ``m4``, ``binder``,
    ``specific_heat``, ``ess_fraction``; ``free_energy_variational``; with ``rng`` also
    the independence Metropolis chain on the same samples: ``mcmc_<observable>``,
    ``mcmc_acceptance`` and ``mcmc_tau_int`` (of the energy).

    Args:
        log_q: float64 (N,) exact log-likelihood of each sample under the model (nats).
        log_p_unnorm: float64 (N,) -beta E_total(s) (nats).
        beta: inverse temperature (1/J); for the Ising model the coupling K.
        n_sites: spins per configuration.
        energy: float64 (N,) energy per spin E/N (J).
        magnetization: float64 (N,) magnetisation per spin.
        rng: generator of the chain's accept uniforms; None: no chain.
    """
    lw = log_weights(log_p_unnorm, log_q)
    e, m = _as_series(energy, "energy"), _as_series(magnetization, "magnetization")
    am, m2, m4 = np.abs(m), m**2, m**4
    n = lw.size

    def heat(e1: Any, e2: Any) -> Any:
        return beta**2 * n_sites * (e2 - e1**2)

    stats = {
        "free_energy": nis_free_energy(lw, beta, n_sites),
        "free_energy_variational": variational_free_energy(lw, beta, n_sites),
        "energy": reweighted(_identity, lw, e),
        "abs_m": reweighted(_identity, lw, am),
        "m2": reweighted(_identity, lw, m2),
        "m4": reweighted(_identity, lw, m4),
        "binder": reweighted(_binder, lw, m2, m4),
        "specific_heat": reweighted(heat, lw, e, e**2),
        "ess_fraction": ess_fraction(lw),
    }
    models = dict.fromkeys(stats, JACKKNIFE)
    models["free_energy_variational"] = STANDARD_ERROR
    if rng is not None:
        chain = independence_metropolis(lw, {"energy": e, "abs_m": am, "m2": m2, "m4": m4}, rng)
        s = chain.series
        stats.update({f"mcmc_{k}": v for k, v in chain.estimates.items()})
        stats["mcmc_binder"] = derived(lambda a: _binder(a[0], a[1]), np.stack([s["m2"], s["m4"]]))
        stats["mcmc_specific_heat"] = derived(
            lambda a: heat(a[0], a[1]), np.stack([s["energy"], s["energy"] ** 2])
        )
        stats["mcmc_acceptance"] = chain.acceptance
        stats["mcmc_tau_int"] = chain_tau_int(s["energy"])
        models["mcmc_tau_int"] = TAU_ERROR
    return Estimates(stats=stats, error_models=models, n_samples=n)


def _identity(a: Any) -> Any:
    return a
