"""Monte Carlo for the 0+1D field (:mod:`rgpipe.physics.oscillator`): samplers and driver.

Updates (one "sweep" applies each selected update once, in this order):

* ``hmc``: one hybrid Monte Carlo trajectory (leapfrog, Metropolis accept/reject).  By
  default Fourier accelerated: the momenta have the mass matrix
  ``M = (m/a) D^T D + a m Omega^2`` (D the periodic forward difference, Omega the well
  frequency), the Hessian of the action of a harmonic well, so every Gaussian mode
  oscillates with the same frequency 1 and a trajectory of length pi/2 decorrelates them
  all whatever a is.  M^{-1} is applied in O(N) (cyclic tridiagonal solve,
  Sherman-Morrison) and p ~ N(0, M) is drawn as sqrt(m/a) D^T xi + sqrt(a m) Omega zeta.
  The step size is jittered by +-10 % per trajectory (independently of the state) to
  avoid resonances.  Without acceleration M = 1.
* ``metropolis``: a sequential sweep of single-site Metropolis proposals
  x_i -> x_i + delta (2u - 1).
* ``reflect``: the tunnelling move for even potentials (V(-x) = V(x)).  With
  x_i = s_i |x_i| the action is an Ising chain in the signs with couplings
  J_i = (m/a) |x_i x_{i+1}| plus terms that do not depend on the signs, so a
  Swendsen-Wang update of the embedded signs (Brower-Tamayo embedding) is exact: a link
  with s_i = s_{i+1} is bonded with probability 1 - exp(-2 J_i); the time segments
  between unbonded links (which sit where the path comes close to x = 0, i.e. at or
  near zero crossings) are reflected x -> -x with probability 1/2 each.  It creates and
  removes instanton/anti-instanton pairs and flips the whole path between the wells at
  no cost, which local and HMC updates cannot do in a deep double well.

Default: ``hmc+reflect`` for even potentials, ``hmc`` otherwise.  During thermalisation
the Metropolis step is tuned towards 50 % acceptance and the number of HMC steps is
increased while the acceptance is below 70 %; both are frozen before measuring.

Random numbers: one xoshiro256** stream (:mod:`rgpipe.mc.rng`) derived from the job's
seed with numpy SeedSequence; the whole chain runs in one numba kernel call per block,
so a seed gives bit-identical output.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from typing import Any

import numba as nb
import numpy as np

from rgpipe.mc.rng import next_double, stream_key, stream_states
from rgpipe.physics.oscillator import (
    Potential,
    correlator,
    correlator_weights,
    effective_mass_stats,
    gap_stats,
    potential_from_spec,
    series_stats,
    well_frequency,
)
from rgpipe.physics.oscillator_exact import gap_fit_window
from rgpipe.stats import Stats, gamma_method

SCALARS = ("x", "x2", "x4", "energy", "energy_thermo")
"""Per-measurement scalar observables, in the column order of the kernel output."""

UPDATES = ("hmc", "metropolis", "reflect")

# ---------------------------------------------------------------------------- kernels


@nb.njit(cache=True, inline="always")
def _pot(c: np.ndarray, x: float) -> float:
    """V(x) by Horner's rule (c in increasing powers)."""
    v = 0.0
    for k in range(c.size - 1, -1, -1):
        v = v * x + c[k]
    return v


@nb.njit(cache=True, inline="always")
def _dpot(c: np.ndarray, x: float) -> float:
    """V'(x) by Horner's rule."""
    v = 0.0
    for k in range(c.size - 1, 0, -1):
        v = v * x + k * c[k]
    return v


@nb.njit(cache=True)
def _normals(s: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` with independent standard normals (Box-Muller, both outputs used)."""
    n = out.size
    i = 0
    while i < n:
        u1 = 1.0 - next_double(s)  # (0, 1]
        u2 = next_double(s)
        r = math.sqrt(-2.0 * math.log(u1))
        out[i] = r * math.cos(2.0 * math.pi * u2)
        if i + 1 < n:
            out[i + 1] = r * math.sin(2.0 * math.pi * u2)
        i += 2


@nb.njit(cache=True)
def _action(x: np.ndarray, c: np.ndarray, ka: float, a: float) -> float:
    """S = (ka/2) sum (x_{i+1} - x_i)^2 + a sum V(x_i), ka = m/a."""
    n = x.size
    kin = 0.0
    pot = 0.0
    for i in range(n):
        d = x[(i + 1) % n] - x[i]
        kin += d * d
        pot += _pot(c, x[i])
    return 0.5 * ka * kin + a * pot


@nb.njit(cache=True)
def _force(x: np.ndarray, c: np.ndarray, ka: float, a: float, f: np.ndarray) -> None:
    """f_i = -dS/dx_i = -ka (2 x_i - x_{i-1} - x_{i+1}) - a V'(x_i)."""
    n = x.size
    for i in range(n):
        il = i - 1 if i > 0 else n - 1
        ir = i + 1 if i < n - 1 else 0
        f[i] = -ka * (2.0 * x[i] - x[il] - x[ir]) - a * _dpot(c, x[i])


def cyclic_factor(n: int, diag: float, off: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precompute the O(n) solver of the symmetric cyclic tridiagonal matrix (n >= 3).

    The matrix has ``diag`` on the diagonal and ``off`` on the two off-diagonals and in
    the corners (0, n-1), (n-1, 0).  Sherman-Morrison reduces it to a tridiagonal system
    (Thomas algorithm).  Returns (den, cp, z): the Thomas denominators and modified
    super-diagonal of the reduced matrix, and its solution for the correction vector.
    """
    if n < 3:
        raise ValueError(f"cyclic solve needs n >= 3, got {n}")
    gamma = -diag
    b = np.full(n, diag)
    b[0] = diag - gamma
    b[-1] = diag - off * off / gamma
    den = np.empty(n)
    cp = np.empty(n)
    den[0] = b[0]
    cp[0] = off / den[0]
    for i in range(1, n):
        den[i] = b[i] - off * cp[i - 1]
        cp[i] = off / den[i]
    u = np.zeros(n)
    u[0] = gamma
    u[-1] = off
    z = np.empty(n)
    _thomas(den, cp, off, u, z)
    return den, cp, z


@nb.njit(cache=True)
def _thomas(den: np.ndarray, cp: np.ndarray, off: float, r: np.ndarray, out: np.ndarray) -> None:
    """Solve the reduced tridiagonal system (factorised by :func:`cyclic_factor`)."""
    n = r.size
    out[0] = r[0] / den[0]
    for i in range(1, n):
        out[i] = (r[i] - off * out[i - 1]) / den[i]
    for i in range(n - 2, -1, -1):
        out[i] -= cp[i] * out[i + 1]


@nb.njit(cache=True)
def _cyclic_solve(
    den: np.ndarray,
    cp: np.ndarray,
    z: np.ndarray,
    diag: float,
    off: float,
    r: np.ndarray,
    out: np.ndarray,
) -> None:
    """out = A^{-1} r for the cyclic tridiagonal A of :func:`cyclic_factor`."""
    n = r.size
    _thomas(den, cp, off, r, out)
    gamma = -diag
    fact = (out[0] + off * out[n - 1] / gamma) / (1.0 + z[0] + off * z[n - 1] / gamma)
    for i in range(n):
        out[i] -= fact * z[i]


@nb.njit(cache=True)
def _metropolis_sweep(
    x: np.ndarray, c: np.ndarray, ka: float, a: float, delta: float, s: np.ndarray
) -> int:
    """One sequential sweep of single-site Metropolis; returns the number accepted."""
    n = x.size
    acc = 0
    for i in range(n):
        il = i - 1 if i > 0 else n - 1
        ir = i + 1 if i < n - 1 else 0
        xo = x[i]
        xn = xo + delta * (2.0 * next_double(s) - 1.0)
        nb_sum = x[il] + x[ir]
        # kinetic part: (ka/2)[(x-xl)^2 + (x-xr)^2] = ka x^2 - ka x (xl+xr) + const
        ds = ka * (xn * xn - xo * xo - (xn - xo) * nb_sum) + a * (_pot(c, xn) - _pot(c, xo))
        if ds <= 0.0 or next_double(s) < math.exp(-ds):
            x[i] = xn
            acc += 1
    return acc


@nb.njit(cache=True)
def _hmc_trajectory(
    x: np.ndarray,
    c: np.ndarray,
    ka: float,
    a: float,
    eps: float,
    n_steps: int,
    fourier: bool,
    fa_diag: float,
    fa_off: float,
    fa_mass: float,
    den: np.ndarray,
    cp: np.ndarray,
    z: np.ndarray,
    s: np.ndarray,
    work: np.ndarray,
) -> int:
    """One HMC trajectory; returns 1 if accepted (x updated in place), else 0.

    ``work`` is scratch of shape (6, N): p, v = M^{-1} p, force, saved x, two normals.
    Fourier acceleration uses M = cyclic tridiagonal(fa_diag, fa_off) with
    p = sqrt(ka) D^T xi + fa_mass zeta, fa_mass = sqrt(a m) Omega.
    """
    n = x.size
    p = work[0]
    v = work[1]
    f = work[2]
    x0 = work[3]
    xi = work[4]
    zeta = work[5]
    for i in range(n):
        x0[i] = x[i]
    _normals(s, xi)
    if fourier:
        _normals(s, zeta)
        sk = math.sqrt(ka)
        for i in range(n):
            il = i - 1 if i > 0 else n - 1
            p[i] = sk * (xi[il] - xi[i]) + fa_mass * zeta[i]
        _cyclic_solve(den, cp, z, fa_diag, fa_off, p, v)
    else:
        for i in range(n):
            p[i] = xi[i]
            v[i] = p[i]
    kin0 = 0.0
    for i in range(n):
        kin0 += p[i] * v[i]
    h0 = 0.5 * kin0 + _action(x, c, ka, a)
    step = eps * (0.9 + 0.2 * next_double(s))
    _force(x, c, ka, a, f)
    for i in range(n):
        p[i] += 0.5 * step * f[i]
    for k in range(n_steps):
        if fourier:
            _cyclic_solve(den, cp, z, fa_diag, fa_off, p, v)
        else:
            for i in range(n):
                v[i] = p[i]
        for i in range(n):
            x[i] += step * v[i]
        _force(x, c, ka, a, f)
        w = step if k < n_steps - 1 else 0.5 * step
        for i in range(n):
            p[i] += w * f[i]
    if fourier:
        _cyclic_solve(den, cp, z, fa_diag, fa_off, p, v)
    else:
        for i in range(n):
            v[i] = p[i]
    kin1 = 0.0
    for i in range(n):
        kin1 += p[i] * v[i]
    dh = 0.5 * kin1 + _action(x, c, ka, a) - h0
    if dh <= 0.0 or next_double(s) < math.exp(-dh):
        return 1
    for i in range(n):
        x[i] = x0[i]
    return 0


@nb.njit(cache=True)
def _reflect_sweep(x: np.ndarray, ka: float, s: np.ndarray) -> int:
    """Swendsen-Wang update of the embedded signs (exact for even V); returns #segments.

    Link i joins sites i and i+1 (periodic).  It is cut if the signs differ or, for equal
    signs, with probability exp(-2 ka x_i x_{i+1}).  Each segment between cuts is
    reflected with probability 1/2.
    """
    n = x.size
    first_cut = -1
    cut = np.empty(n, dtype=np.bool_)
    for i in range(n):
        j = i + 1 if i < n - 1 else 0
        prod = x[i] * x[j]
        if prod <= 0.0:
            cut[i] = True
        else:
            cut[i] = next_double(s) < math.exp(-2.0 * ka * prod)
        if cut[i] and first_cut < 0:
            first_cut = i
    if first_cut < 0:  # one segment: the whole closed path
        if next_double(s) < 0.5:
            for i in range(n):
                x[i] = -x[i]
        return 1
    segments = 0
    start = first_cut + 1
    flip = False
    for k in range(n):
        i = (start + k) % n
        if k == 0 or cut[(i - 1 + n) % n]:
            flip = next_double(s) < 0.5
            segments += 1
        if flip:
            x[i] = -x[i]
    return segments


@nb.njit(cache=True)
def _measure(x: np.ndarray, c: np.ndarray, ka: float, a: float, out: np.ndarray) -> None:
    """Scalar observables of one configuration in the order of SCALARS."""
    n = x.size
    s1 = 0.0
    s2 = 0.0
    s4 = 0.0
    vir = 0.0
    kin = 0.0
    pot = 0.0
    for i in range(n):
        xi = x[i]
        x2 = xi * xi
        s1 += xi
        s2 += x2
        s4 += x2 * x2
        v = _pot(c, xi)
        pot += v
        vir += v + 0.5 * xi * _dpot(c, xi)
        d = x[(i + 1) % n] - xi
        kin += d * d
    out[0] = s1 / n
    out[1] = s2 / n
    out[2] = s4 / n
    out[3] = vir / n
    out[4] = 0.5 / a - 0.5 * ka * kin / (a * n) + pot / n


@nb.njit(cache=True)
def _run(
    x: np.ndarray,
    c: np.ndarray,
    ka: float,
    a: float,
    use_hmc: bool,
    use_metro: bool,
    use_reflect: bool,
    eps: float,
    n_steps: int,
    fourier: bool,
    fa_diag: float,
    fa_off: float,
    fa_mass: float,
    den: np.ndarray,
    cp: np.ndarray,
    z: np.ndarray,
    delta: float,
    n_sweeps: int,
    measure_every: int,
    s: np.ndarray,
    scalars: np.ndarray,
    configs: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Run ``n_sweeps`` sweeps; every ``measure_every``-th writes a row of the outputs.

    scalars: (n_sweeps // measure_every, 5); configs: same rows, (., N) copies of x.
    counts (int64, 4) accumulates: HMC accepted, Metropolis accepted, reflected
    segments, sweeps.
    """
    n = x.size
    work = np.empty((6, n))
    row = 0
    for sweep in range(n_sweeps):
        if use_hmc:
            counts[0] += _hmc_trajectory(
                x, c, ka, a, eps, n_steps, fourier, fa_diag, fa_off, fa_mass, den, cp, z, s, work
            )
        if use_metro:
            counts[1] += _metropolis_sweep(x, c, ka, a, delta, s)
        if use_reflect:
            counts[2] += _reflect_sweep(x, ka, s)
        counts[3] += 1
        if (sweep + 1) % measure_every == 0 and row < scalars.shape[0]:
            _measure(x, c, ka, a, scalars[row])
            for i in range(n):
                configs[row, i] = x[i]
            row += 1


# ----------------------------------------------------------------------------- driver

_DEFAULTS: dict[str, Any] = {
    "system": "oscillator",
    "potential": "double_well",
    "mass": 1.0,
    "update": None,  # hmc+reflect for even potentials, else hmc
    "sweeps": 10000,
    "thermalization": 1000,
    "measure_every": 1,
    "seed": 0,
    "hmc_steps": 10,
    "hmc_length": math.pi / 2,
    "fourier_acceleration": True,
    "metropolis_step": None,  # tuned from sqrt(a / (2 m)) during thermalisation
    "gap_tmin": None,  # default_gap_window
    "correlator_rows": 2000,
}
_POTENTIAL_KEYS = {"double_well": ("lam", "eta"), "harmonic": ("omega",), "polynomial": ("coeffs",)}
_REQUIRED = ("beta", "n_tau")


def normalize_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a job and fill in defaults (a JSON-able copy).

    Keys: ``potential`` (double_well: lam, eta; harmonic: omega; polynomial: coeffs in
    increasing powers), ``mass``, ``beta``, ``n_tau`` (>= 4), ``update`` ('+'-joined
    subset of hmc, metropolis, reflect containing hmc or metropolis), ``sweeps``,
    ``thermalization``, ``measure_every``, ``seed``, ``hmc_steps``, ``hmc_length``,
    ``fourier_acceleration``, ``metropolis_step``, ``gap_tmin`` (fit start time),
    ``correlator_rows`` (at most this many stored correlator rows; measurements are
    averaged in equal bins to get there).

    Raises:
        ValueError: naming every unknown or invalid key.
    """
    out = dict(_DEFAULTS)
    out.update(job)
    name = out["potential"]
    allowed = set(_DEFAULTS) | set(_REQUIRED) | {k for v in _POTENTIAL_KEYS.values() for k in v}
    errors = [f"unknown key {k!r}" for k in job if k not in allowed]
    if name not in _POTENTIAL_KEYS:
        errors.append(f"'potential': {name!r} is not one of {sorted(_POTENTIAL_KEYS)}")
    else:
        needed = _POTENTIAL_KEYS[name]
        errors += [f"missing key {k!r} (potential {name!r})" for k in needed if k not in job]
    errors += [f"missing key {k!r}" for k in _REQUIRED if k not in job]
    if errors:
        raise ValueError("oscillator job: " + "; ".join(errors))
    for key in _POTENTIAL_KEYS:
        if key != name:
            for k in _POTENTIAL_KEYS[key]:
                if k not in _POTENTIAL_KEYS[name]:
                    out.pop(k, None)
    if out["system"] != "oscillator":
        raise ValueError(f"oscillator job: system={out['system']!r}, expected 'oscillator'")

    def is_int(k: str, low: int) -> bool:
        v = out[k]
        return not isinstance(v, bool) and int(v) == v and v >= low

    checks = {
        "mass": lambda: math.isfinite(out["mass"]) and out["mass"] > 0,
        "beta": lambda: math.isfinite(out["beta"]) and out["beta"] > 0,
        "n_tau": lambda: is_int("n_tau", 4),
        "sweeps": lambda: is_int("sweeps", 2),
        "thermalization": lambda: is_int("thermalization", 0),
        "measure_every": lambda: is_int("measure_every", 1),
        "seed": lambda: is_int("seed", 0) and out["seed"] < 2**64,
        "hmc_steps": lambda: is_int("hmc_steps", 1),
        "hmc_length": lambda: math.isfinite(out["hmc_length"]) and out["hmc_length"] > 0,
        "correlator_rows": lambda: is_int("correlator_rows", 2),
        "fourier_acceleration": lambda: isinstance(out["fourier_acceleration"], bool),
        "metropolis_step": lambda: (
            out["metropolis_step"] is None
            or (math.isfinite(out["metropolis_step"]) and out["metropolis_step"] > 0)
        ),
        "gap_tmin": lambda: (
            out["gap_tmin"] is None or (math.isfinite(out["gap_tmin"]) and out["gap_tmin"] > 0)
        ),
    }
    bad = []
    for k, check in checks.items():
        try:
            ok = bool(check())
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            bad.append(k)
    if bad:
        raise ValueError("oscillator job: invalid " + ", ".join(f"{k}={out[k]!r}" for k in bad))
    for k in ("n_tau", "sweeps", "thermalization", "measure_every", "seed", "hmc_steps"):
        out[k] = int(out[k])
    out["correlator_rows"] = int(out["correlator_rows"])
    for k in ("mass", "beta", "hmc_length"):
        out[k] = float(out[k])
    pot = potential_from_spec(out, out["mass"])  # validates the potential parameters
    if out["update"] is None:
        out["update"] = "hmc+reflect" if pot.is_even else "hmc"
    parts = str(out["update"]).split("+")
    if (
        set(parts) - set(UPDATES)
        or len(set(parts)) != len(parts)
        or not {"hmc", "metropolis"} & set(parts)
    ):
        raise ValueError(
            f"oscillator job: invalid update={out['update']!r} (a '+'-joined subset of "
            f"{', '.join(UPDATES)} containing hmc or metropolis)"
        )
    if "reflect" in parts and not pot.is_even:
        raise ValueError(
            "oscillator job: the reflect update is exact only for an even potential, "
            f"got coefficients {pot.coeffs.tolist()}"
        )
    out["update"] = "+".join(u for u in UPDATES if u in parts)
    if name == "polynomial":
        out["coeffs"] = [float(v) for v in out["coeffs"]]
    return out


def _cold_start(pot: Potential, n_tau: int) -> np.ndarray:
    """Every time slice at the global minimum (the right-most one if degenerate)."""
    return np.full(n_tau, pot.global_minimum()[0])


def run_oscillator(job: Mapping[str, Any]) -> dict[str, Any]:
    """Run one Monte Carlo job for the 0+1D field and analyse it.

    Args:
        job: see :func:`normalize_job` (e.g. ``{"potential": "double_well", "lam": 4,
            "eta": 1.4, "mass": 1, "beta": 20, "n_tau": 200, "sweeps": 10000, "seed": 1}``).

    Returns:
        dict with
        - ``job``: the normalised job (JSON-able; the configuration slice to store);
        - ``series``: float64 arrays ``x, x2, x4, energy, energy_thermo`` of shape
          (n_meas,), one value per measurement, and ``correlator`` of shape
          (n_rows, N//2 + 1), bin averages of ``correlator_bin`` measurements;
        - ``estimates``: Stats for ``x, x2, x4, energy`` (virial), ``energy_thermo``,
          ``gap`` (E1 - E0 from the cosh fit), and array Stats ``correlator``
          (N//2 + 1,) and ``effective_mass`` (N//2,);
        - ``tau``: (N//2 + 1,) times of the correlator; ``tau_effective_mass`` (N//2,);
        - ``meta``: lattice spacing, potential, update details, acceptance rates,
          gap window and method, timings (s).
    """
    job = normalize_job(job)
    t_start = time.perf_counter()
    mass, beta, n_tau = job["mass"], job["beta"], job["n_tau"]
    pot = potential_from_spec(job, mass)
    a = beta / n_tau
    ka = mass / a
    coeffs = np.ascontiguousarray(pot.coeffs, dtype=np.float64)
    parts = job["update"].split("+")
    use_hmc, use_metro, use_reflect = ("hmc" in parts, "metropolis" in parts, "reflect" in parts)
    omega = well_frequency(pot, mass)
    fourier = bool(job["fourier_acceleration"])
    fa_diag, fa_off = 2.0 * ka + a * mass * omega**2, -ka
    fa_mass = math.sqrt(a * mass) * omega
    den, cp, z = cyclic_factor(n_tau, fa_diag, fa_off)
    n_steps = job["hmc_steps"]
    length = job["hmc_length"]
    delta = job["metropolis_step"] or 2.0 * math.sqrt(a / (2.0 * mass))
    state = stream_states(job["seed"], (stream_key("oscillator", "chain"),), 1)[0]
    x = _cold_start(pot, n_tau)
    empty_s = np.empty((0, len(SCALARS)))
    empty_c = np.empty((0, n_tau))

    def run(n: int, every: int, scal: np.ndarray, conf: np.ndarray) -> np.ndarray:
        counts = np.zeros(4, dtype=np.int64)
        _run(
            x, coeffs, ka, a, use_hmc, use_metro, use_reflect, length / n_steps, n_steps,
            fourier, fa_diag, fa_off, fa_mass, den, cp, z, delta, n, every, state, scal, conf,
            counts,
        )  # fmt: skip
        return counts

    # thermalisation in blocks, tuning the Metropolis step and the HMC step count
    block = 50
    done = 0
    while done < job["thermalization"]:
        nb_ = min(block, job["thermalization"] - done)
        counts = run(nb_, 1, empty_s, empty_c)
        done += nb_
        if use_metro and job["metropolis_step"] is None:
            delta *= math.exp(counts[1] / (nb_ * n_tau) - 0.5)
        if use_hmc and counts[0] < 0.7 * nb_ and n_steps < 1000:
            n_steps = math.ceil(n_steps * 1.25)
    t_therm = time.perf_counter() - t_start

    n_meas = job["sweeps"] // job["measure_every"]
    if n_meas < 2:
        raise ValueError("oscillator job: sweeps // measure_every must be >= 2")
    bin_size = max(1, -(-n_meas // job["correlator_rows"]))
    n_rows = n_meas // bin_size
    scalars = np.empty((n_meas, len(SCALARS)))
    corr = np.zeros((n_rows, n_tau // 2 + 1))
    chunk = bin_size * max(1, 4096 // bin_size)
    totals = np.zeros(4, dtype=np.int64)
    row = 0
    while row < n_meas:
        m = min(chunk, n_meas - row)
        conf = np.empty((m, n_tau))
        totals += run(m * job["measure_every"], job["measure_every"], scalars[row : row + m], conf)
        c = correlator(conf)
        first_bin, nfull = row // bin_size, m // bin_size
        nfull = min(nfull, n_rows - first_bin)
        if nfull > 0:
            corr[first_bin : first_bin + nfull] = (
                c[: nfull * bin_size].reshape(nfull, bin_size, -1).mean(axis=1)
            )
        row += m
    t_run = time.perf_counter() - t_start - t_therm

    series = {name: scalars[:, k].copy() for k, name in enumerate(SCALARS)}
    estimates: dict[str, Stats] = {name: gamma_method(series[name]) for name in SCALARS}
    series["correlator"] = corr
    estimates["correlator"] = series_stats(corr)
    estimates["effective_mass"] = effective_mass_stats(corr, a)
    weights = correlator_weights(corr)
    x_bins = None
    if not pot.is_even:
        x_bins = series["x"][: n_rows * bin_size].reshape(n_rows, bin_size).mean(axis=1)

    @functools.cache  # the window scan has already fitted the window it returns
    def gap_from(window: tuple[int, int]) -> Stats:
        return gap_stats(corr, a, beta, window, x_mean=x_bins, weights=weights)

    if job["gap_tmin"] is None:
        window = gap_fit_window(
            pot, mass, beta, n_tau, weights=weights,
            stat_error=lambda k: gap_from((k, n_tau // 2)).error_of_mean,
        )  # fmt: skip
    else:
        kmin = min(max(1, round(job["gap_tmin"] / a)), n_tau // 2 - 1)
        window = (kmin, n_tau // 2)
    estimates["gap"] = gap_from(window)
    t_total = time.perf_counter() - t_start

    sweeps_total = job["thermalization"] + n_meas * job["measure_every"]
    meta = {
        "a": a,
        "potential": pot.spec(),
        "update": job["update"],
        "energy_estimator": "virial: V(x) + x V'(x)/2 averaged over time slices",
        "fourier_acceleration": fourier if use_hmc else None,
        "fourier_omega": omega if use_hmc and fourier else None,
        "hmc_steps": n_steps if use_hmc else None,
        "hmc_step_size": length / n_steps if use_hmc else None,
        "metropolis_step": delta if use_metro else None,
        "acceptance_hmc": float(totals[0] / totals[3]) if use_hmc else None,
        "acceptance_metropolis": float(totals[1] / (totals[3] * n_tau)) if use_metro else None,
        "reflect_segments_per_sweep": float(totals[2] / totals[3]) if use_reflect else None,
        "n_measurements": n_meas,
        "correlator_bin": bin_size,
        "gap_window": [float(window[0] * a), float(window[1] * a)],
        "gap_method": "cosh fit A cosh(dE (tau - beta/2)) of "
        + ("C(tau)" if pot.is_even else "C(tau) - <x>^2")
        + " weighted by inverse variances; Gamma-method errors (derived)",
        "seconds_thermalization": t_therm,
        "seconds_measurement": t_run,
        "seconds_total": t_total,
        "sweeps_per_second": sweeps_total / max(t_therm + t_run, 1e-12),
    }
    tau = np.arange(n_tau // 2 + 1) * a
    return {
        "job": job,
        "series": series,
        "estimates": estimates,
        "tau": tau,
        "tau_effective_mass": tau[1:],
        "meta": meta,
    }
