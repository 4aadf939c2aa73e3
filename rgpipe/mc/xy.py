"""Monte Carlo for the XY model: numba kernels and the coupling-sweep driver :func:`run_xy`.

Conventions (model, units, observables) are those of :mod:`rgpipe.physics.xy`.

State of a chain: ``theta`` float64 (N,) angles in ``[0, 2 pi)`` (authoritative) and the
caches ``c = cos(theta)``, ``s = sin(theta)`` (float64 (N,)), recomputed with ``cos``/``sin``
from ``theta`` every time an angle changes, so they are exact (no discretised tables).
Geometry: ``nbr`` int64 (N, z), the periodic neighbour table, column 0 = ``+x`` and (on
the square lattice, z = 4, order (+x, -x, +y, -y) of :mod:`rgpipe.physics.lattice`)
column 2 = ``+y``; the ring has z = 2 (+x, -x).  Every column is one bond, so the double
bonds of L = 2 are handled exactly.

Updates (each leaves ``exp(-K H)`` invariant):

* ``metropolis_sweep``: sequential sweep, proposal ``theta + step * U(-1, 1)`` (window
  ``step`` in (0, pi]), Metropolis acceptance.
* ``overrelax_sweep``: sequential microcanonical reflection of each spin about its local
  field (``theta -> 2 psi - theta``); energy-conserving, so never used alone.
* ``wolff_cluster``: Wolff's embedding single-cluster move: random axis ``r`` at angle
  ``phi``, reflection ``theta -> pi + 2 phi - theta`` of the spins' ``r`` component, bond
  ``(i, j)`` activated with ``1 - exp(-2 K (s_i.r)(s_j.r))`` when that is positive.

A *sweep* of the driver is ``n_clusters`` Wolff clusters, then ``n_metropolis``
Metropolis sweeps, then ``n_overrelax`` over-relaxation sweeps (see ``UPDATES``).
Random numbers: one xoshiro256** stream (:mod:`rgpipe.mc.rng`) per coupling, keyed by
(lattice, L, update, K), so a chain is bit-identical for the same seed whatever the
other couplings of the job.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

import numba as nb
import numpy as np

from rgpipe.mc.rng import next_below, next_double, stream_key, stream_states
from rgpipe.physics.lattice import square
from rgpipe.stats import Stats, derived, gamma_method

TWO_PI = 2.0 * np.pi

UPDATES: dict[str, tuple[bool, int, int]] = {
    # name: (Wolff cluster-sweep, Metropolis sweeps, over-relaxation sweeps) per sweep
    "metropolis": (False, 1, 0),
    "wolff": (True, 0, 0),
    "overrelax": (False, 1, 1),
    "combined": (True, 1, 1),
}
"""Composition of one sweep per update name (defaults; override the counts with the job
keys ``metropolis_per_sweep`` / ``overrelax_per_sweep``).  ``overrelax`` is over-relaxation
with the Metropolis sweep it needs for ergodicity; ``combined`` is the default near
criticality."""

MEASURE_COLUMNS = (
    "cos_sum_x",
    "sin_sum_x",
    "cos_sum_y",
    "sin_sum_y",
    "mx_sum",
    "my_sum",
    "vortices",
)
"""Raw columns written by :func:`measure` (sums over the lattice; vortices = sum |q|)."""

ESTIMATES = (
    "energy",
    "abs_m",
    "m2",
    "specific_heat",
    "susceptibility",
    "helicity_x",
    "helicity_y",
    "helicity",
    "vortex_density",
)
"""Estimates of :func:`run_xy` (the ring has no helicity_y and no vortex_density)."""

DEFAULTS: dict[str, Any] = {
    "system": "xy",
    "lattice": "square",
    "update": "combined",
    "sweeps": 10000,
    "thermalization": 1000,
    "measure_every": 1,
    "configurations": 0,
    "start": "hot",
    "metropolis_step": None,
    "clusters_per_sweep": None,
    "metropolis_per_sweep": None,
    "overrelax_per_sweep": None,
}
REQUIRED = ("L", "couplings", "seed")
TARGET_ACCEPTANCE = 0.5
TUNE_CHUNK = 10
TUNE_SITES = 1000


# --------------------------------------------------------------------------- geometry


def neighbor_table(L: int, lattice: str = "square") -> np.ndarray:
    """Neighbour table int64 (N, z): square L x L (z = 4) or ring of L sites (z = 2)."""
    if lattice == "square":
        return np.ascontiguousarray(square(L).neighbors)
    if lattice == "ring":
        if L < 2:
            raise ValueError(f"the ring needs L >= 2, got {L}")
        i = np.arange(L, dtype=np.int64)
        return np.stack([(i + 1) % L, (i - 1) % L], axis=1)
    raise ValueError(f"unknown XY lattice {lattice!r} (expected 'square' or 'ring')")


def config_shape(L: int, lattice: str) -> tuple[int, ...]:
    """Storage shape of one configuration: (L, L) [y, x] or (L,)."""
    return (L, L) if lattice == "square" else (L,)


def spin_cache(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cos theta, sin theta)`` as flat float64 arrays (N,)."""
    t = np.ascontiguousarray(theta, dtype=np.float64).ravel()
    return np.cos(t), np.sin(t)


# --------------------------------------------------------------------------- kernels


@nb.njit(inline="always")
def _mod_2pi(x: float) -> float:
    """x reduced into [0, 2 pi); for the few periods the kernels produce (|x| < 6 pi)."""
    while x >= TWO_PI:
        x -= TWO_PI
    while x < 0.0:
        x += TWO_PI
    if x >= TWO_PI:  # -tiny + 2 pi may round to 2 pi
        x = 0.0
    return x


@nb.njit(inline="always")
def _wrap_pi(d: float) -> float:
    """Angle difference wrapped into (-pi, pi]."""
    return d + TWO_PI * math.floor((math.pi - d) / TWO_PI)


@nb.njit(cache=True)
def random_angles(n: int, state: np.ndarray) -> np.ndarray:
    """n uniform angles in [0, 2 pi) from ``state``."""
    out = np.empty(n)
    for i in range(n):
        out[i] = TWO_PI * next_double(state)
    return out


@nb.njit(cache=True)
def metropolis_sweep(
    theta: np.ndarray,
    c: np.ndarray,
    s: np.ndarray,
    nbr: np.ndarray,
    coupling: float,
    step: float,
    state: np.ndarray,
) -> int:
    """One sequential Metropolis sweep; returns the number of accepted moves (of N)."""
    n, z = nbr.shape
    accepted = 0
    for i in range(n):
        hx = 0.0
        hy = 0.0
        for k in range(z):
            j = nbr[i, k]
            hx += c[j]
            hy += s[j]
        t_new = _mod_2pi(theta[i] + step * (2.0 * next_double(state) - 1.0))
        cn = math.cos(t_new)
        sn = math.sin(t_new)
        ds = -coupling * ((cn - c[i]) * hx + (sn - s[i]) * hy)
        if ds <= 0.0 or next_double(state) < math.exp(-ds):
            theta[i] = t_new
            c[i] = cn
            s[i] = sn
            accepted += 1
    return accepted


@nb.njit(cache=True)
def overrelax_sweep(theta: np.ndarray, c: np.ndarray, s: np.ndarray, nbr: np.ndarray) -> None:
    """One sequential over-relaxation sweep: reflect each spin about its local field."""
    n, z = nbr.shape
    for i in range(n):
        hx = 0.0
        hy = 0.0
        for k in range(z):
            j = nbr[i, k]
            hx += c[j]
            hy += s[j]
        if hx == 0.0 and hy == 0.0:
            continue
        t_new = _mod_2pi(2.0 * math.atan2(hy, hx) - theta[i])
        theta[i] = t_new
        c[i] = math.cos(t_new)
        s[i] = math.sin(t_new)


@nb.njit(cache=True)
def wolff_cluster(
    theta: np.ndarray,
    c: np.ndarray,
    s: np.ndarray,
    nbr: np.ndarray,
    coupling: float,
    state: np.ndarray,
    stack: np.ndarray,
    mark: np.ndarray,
    stamp: int,
    proj: np.ndarray,
) -> int:
    """Grow and flip one Wolff embedding cluster; returns its size.

    Work arrays (N,): ``stack`` int64, ``mark`` int64 (a site is in the current cluster
    iff ``mark[i] == stamp``; use a new stamp per cluster), ``proj`` float64.
    """
    n, z = nbr.shape
    phi = TWO_PI * next_double(state)
    rx = math.cos(phi)
    ry = math.sin(phi)
    shift = math.pi + 2.0 * phi
    two_k = 2.0 * coupling
    i = next_below(state, n)
    mark[i] = stamp
    proj[i] = c[i] * rx + s[i] * ry
    t = _mod_2pi(shift - theta[i])
    theta[i] = t
    c[i] = math.cos(t)
    s[i] = math.sin(t)
    stack[0] = i
    top = 1
    size = 1
    while top > 0:
        top -= 1
        i = stack[top]
        pi_ = proj[i]
        for k in range(z):
            j = nbr[i, k]
            if mark[j] == stamp:
                continue
            pj = c[j] * rx + s[j] * ry
            x = two_k * pi_ * pj
            if x <= 0.0:
                continue
            if next_double(state) < -math.expm1(-x):
                mark[j] = stamp
                proj[j] = pj
                t = _mod_2pi(shift - theta[j])
                theta[j] = t
                c[j] = math.cos(t)
                s[j] = math.sin(t)
                stack[top] = j
                top += 1
                size += 1
    return size


@nb.njit(cache=True)
def measure(
    theta: np.ndarray, c: np.ndarray, s: np.ndarray, nbr: np.ndarray, out: np.ndarray
) -> None:
    """Write the raw sums of ``MEASURE_COLUMNS`` into ``out`` (float64 (7,)).

    Bond sums use ``d theta = theta_{i+mu} - theta_i``; on the ring (z = 2) the y columns
    and the vortex count are 0.
    """
    n, z = nbr.shape
    two_d = z == 4
    cx = 0.0
    sx = 0.0
    cy = 0.0
    sy = 0.0
    mx = 0.0
    my = 0.0
    nv = 0
    for i in range(n):
        mx += c[i]
        my += s[i]
        j = nbr[i, 0]
        cx += c[j] * c[i] + s[j] * s[i]
        sx += s[j] * c[i] - c[j] * s[i]
        if two_d:
            u = nbr[i, 2]
            cy += c[u] * c[i] + s[u] * s[i]
            sy += s[u] * c[i] - c[u] * s[i]
            d = nbr[j, 2]
            w = (
                _wrap_pi(theta[j] - theta[i])
                + _wrap_pi(theta[d] - theta[j])
                + _wrap_pi(theta[u] - theta[d])
                + _wrap_pi(theta[i] - theta[u])
            )
            q = round(w / TWO_PI)
            nv += abs(q)
    out[0] = cx
    out[1] = sx
    out[2] = cy
    out[3] = sy
    out[4] = mx
    out[5] = my
    out[6] = nv


@nb.njit(cache=True)
def run_sweeps(
    theta: np.ndarray,
    c: np.ndarray,
    s: np.ndarray,
    nbr: np.ndarray,
    coupling: float,
    step: float,
    n_clusters: int,
    n_metropolis: int,
    n_overrelax: int,
    n_sweeps: int,
    measure_every: int,
    state: np.ndarray,
    work: np.ndarray,
    proj: np.ndarray,
    out: np.ndarray,
    counters: np.ndarray,
) -> None:
    """Run ``n_sweeps`` sweeps, measuring into ``out`` after every ``measure_every``-th.

    Args:
        work: int64 (2, N): Wolff stack and marks (see :func:`wolff_cluster`).
        proj: float64 (N,) Wolff work array.
        out: float64 (n_sweeps // measure_every, 7) measurements (rows 0..), or (0, 7)
            with ``measure_every = 0`` for no measurement.
        counters: int64 (5,) accumulated [accepted Metropolis moves, Metropolis proposals,
            flipped cluster spins, clusters, last Wolff stamp]; only the stamp must never
            be reset (it marks cluster membership).
    """
    n = theta.size
    row = 0
    for sweep in range(1, n_sweeps + 1):
        for _ in range(n_clusters):
            counters[3] += 1
            counters[4] += 1
            counters[2] += wolff_cluster(
                theta, c, s, nbr, coupling, state, work[0], work[1], counters[4], proj
            )
        for _ in range(n_metropolis):
            counters[0] += metropolis_sweep(theta, c, s, nbr, coupling, step, state)
            counters[1] += n
        for _ in range(n_overrelax):
            overrelax_sweep(theta, c, s, nbr)
        if measure_every > 0 and sweep % measure_every == 0:
            measure(theta, c, s, nbr, out[row])
            row += 1


# --------------------------------------------------------------------------- one chain


class Chain:
    """One Markov chain of the XY model at coupling K (state, work arrays, counters)."""

    def __init__(
        self, L: int, lattice: str, coupling: float, state: np.ndarray, start: str = "hot"
    ):
        self.L = L
        self.lattice = lattice
        self.coupling = float(coupling)
        self.nbr = neighbor_table(L, lattice)
        self.n = self.nbr.shape[0]
        self.state = state
        if start == "hot":
            self.theta = random_angles(self.n, state)
        elif start == "cold":
            self.theta = np.zeros(self.n)
        else:
            raise ValueError(f"start must be 'hot' or 'cold', got {start!r}")
        self.c, self.s = spin_cache(self.theta)
        self.work = np.full((2, self.n), -1, dtype=np.int64)
        self.proj = np.zeros(self.n)
        self.counters = np.zeros(5, dtype=np.int64)

    def run(
        self,
        n_sweeps: int,
        step: float,
        n_clusters: int,
        n_metropolis: int,
        n_overrelax: int,
        measure_every: int = 0,
    ) -> np.ndarray:
        """Run sweeps; returns the raw measurements, float64 (n_sweeps // measure_every, 7)."""
        rows = n_sweeps // measure_every if measure_every > 0 else 0
        out = np.zeros((rows, len(MEASURE_COLUMNS)))
        run_sweeps(
            self.theta,
            self.c,
            self.s,
            self.nbr,
            self.coupling,
            float(step),
            int(n_clusters),
            int(n_metropolis),
            int(n_overrelax),
            int(n_sweeps),
            int(measure_every),
            self.state,
            self.work,
            self.proj,
            out,
            self.counters,
        )
        return out

    def config(self) -> np.ndarray:
        """A copy of the angles in storage shape ((L, L) [y, x] or (L,))."""
        return self.theta.reshape(config_shape(self.L, self.lattice)).copy()


# --------------------------------------------------------------------------- observables


def series_from_raw(raw: np.ndarray, coupling: float, n_sites: int, two_d: bool) -> dict:
    """Per-measurement series (float64 (n_meas,)) from the raw sums of :func:`measure`.

    Keys: energy, abs_m, m2, cos_x, sin2_x, helicity_x, helicity, and for the square
    lattice cos_y, sin2_y, helicity_y, vortex_density (definitions in
    :mod:`rgpipe.physics.xy`).
    """
    n = float(n_sites)
    cx, sx, cy, sy, mx, my, nv = raw.T
    m2 = (mx * mx + my * my) / (n * n)
    out = {"energy": -(cx + cy) / n, "abs_m": np.sqrt(m2), "m2": m2}
    dirs = [("x", cx, sx), ("y", cy, sy)] if two_d else [("x", cx, sx)]
    for mu, cs, ss in dirs:
        out[f"cos_{mu}"] = cs / n
        out[f"sin2_{mu}"] = ss * ss / n
        out[f"helicity_{mu}"] = out[f"cos_{mu}"] - coupling * out[f"sin2_{mu}"]
    if two_d:
        out["helicity"] = 0.5 * (out["helicity_x"] + out["helicity_y"])
        out["vortex_density"] = nv / n
    else:
        out["helicity"] = out["helicity_x"].copy()
    return out


def estimates_from_series(series: dict, coupling: float, n_sites: int) -> dict[str, Stats]:
    """Gamma-method :class:`Stats` of every estimate in ``ESTIMATES`` present for the geometry."""
    k, n = float(coupling), float(n_sites)
    e = series["energy"]
    out: dict[str, Stats] = {}
    for name in ESTIMATES:
        if name == "specific_heat":
            out[name] = derived(lambda a: k * k * n * (a[1] - a[0] ** 2), np.stack([e, e * e]))
        elif name == "susceptibility":
            out[name] = gamma_method(k * n * series["m2"])
        elif name in series:
            out[name] = gamma_method(series[name])
    return out


def stack_stats(per_coupling: list[Stats]) -> Stats:
    """Combine per-coupling Stats into one Stats of float64 arrays (n_couplings,)."""
    return Stats(
        *(np.array([getattr(st, f) for st in per_coupling]) for f in Stats.__dataclass_fields__)
    )


# --------------------------------------------------------------------------- driver


def normalize_job(job: dict) -> dict:
    """Check a job dict and fill defaults (see :func:`run_xy`); raises ValueError."""
    unknown = set(job) - set(DEFAULTS) - set(REQUIRED)
    if unknown:
        raise ValueError(f"unknown XY job keys: {sorted(unknown)}")
    missing = [k for k in REQUIRED if k not in job]
    if missing:
        raise ValueError(f"XY job is missing {missing}")
    out = {**DEFAULTS, **job}
    if out["system"] != "xy":
        raise ValueError(f"system must be 'xy', got {out['system']!r}")
    if out["update"] not in UPDATES:
        raise ValueError(f"update must be one of {sorted(UPDATES)}, got {out['update']!r}")
    couplings = [float(k) for k in np.atleast_1d(out["couplings"])]
    if not couplings or any(not (math.isfinite(k) and k >= 0) for k in couplings):
        raise ValueError(f"couplings must be finite and >= 0, got {out['couplings']}")
    if len(set(couplings)) != len(couplings):
        raise ValueError(f"couplings must be distinct, got {couplings}")
    out["couplings"] = couplings
    out["L"] = int(out["L"])
    neighbor_table(out["L"], out["lattice"])  # validates lattice and L
    for key, low in (("sweeps", 2), ("thermalization", 0), ("measure_every", 1)):
        out[key] = int(out[key])
        if out[key] < low:
            raise ValueError(f"{key} must be >= {low}, got {out[key]}")
    if out["sweeps"] // out["measure_every"] < 2:
        raise ValueError("sweeps // measure_every must give at least 2 measurements")
    out["configurations"] = int(out["configurations"])
    if not 0 <= out["configurations"] <= out["sweeps"] // out["measure_every"]:
        raise ValueError("configurations must be in [0, number of measurements]")
    step = out["metropolis_step"]
    if step is not None and not 0 < float(step) <= math.pi:
        raise ValueError(f"metropolis_step must be in (0, pi], got {step}")
    wolff, n_met, n_or = UPDATES[out["update"]]
    if out["metropolis_per_sweep"] is not None:
        n_met = int(out["metropolis_per_sweep"])
    if out["overrelax_per_sweep"] is not None:
        n_or = int(out["overrelax_per_sweep"])
    if n_met < 0 or n_or < 0:
        raise ValueError("metropolis_per_sweep and overrelax_per_sweep must be >= 0")
    if not wolff and n_met == 0:
        raise ValueError(
            "a sweep needs Wolff clusters or Metropolis (over-relaxation alone "
            "is microcanonical, not ergodic)"
        )
    if out["clusters_per_sweep"] is not None and int(out["clusters_per_sweep"]) < 1:
        raise ValueError("clusters_per_sweep must be >= 1")
    out["metropolis_per_sweep"], out["overrelax_per_sweep"] = n_met, n_or
    seed = int(out["seed"])
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    out["seed"] = seed
    return out


def chain_state(seed: int, lattice: str, L: int, update: str, coupling: float) -> np.ndarray:
    """The xoshiro256** state (uint64 (4,)) of the chain at one coupling."""
    bits = int(np.float64(coupling).view(np.uint64))  # the exact coupling, no hashing
    key = (stream_key("rgpipe.mc.xy", lattice, update), L, bits >> 32, bits & 0xFFFFFFFF)
    return stream_states(seed, key, 1)[0]


def initial_step(coupling: float) -> float:
    """Starting Metropolis window: ``min(pi, 2/sqrt(K))``."""
    return math.pi if coupling <= 4.0 / math.pi**2 else 2.0 / math.sqrt(coupling)


def thermalize(chain: Chain, job: dict) -> tuple[float, int]:
    """Thermalise one chain, tuning what the job leaves on auto.

    The Metropolis window (``metropolis_step: None``) is rescaled after every chunk of
    ``max(TUNE_CHUNK, TUNE_SITES / N)`` sweeps by the ratio of the chunk's acceptance to
    ``TARGET_ACCEPTANCE`` (ratio clipped to [1/2, 2], window capped at pi); the cluster count
    (``clusters_per_sweep: None``) becomes ``round(N / <cluster size>)`` over the second
    half of the thermalisation.  Both are fixed afterwards.  Without thermalisation the
    starting values stay: window ``initial_step(K)``, one cluster per sweep.

    Returns:
        (Metropolis step, clusters per sweep) for the measurement phase.
    """
    wolff = UPDATES[job["update"]][0]
    n_met, n_or = job["metropolis_per_sweep"], job["overrelax_per_sweep"]
    auto_step = job["metropolis_step"] is None
    auto_cl = wolff and job["clusters_per_sweep"] is None
    step = initial_step(chain.coupling) if auto_step else float(job["metropolis_step"])
    n_cl = (int(job["clusters_per_sweep"]) if not auto_cl else 1) if wolff else 0
    total = job["thermalization"]
    half = total // 2
    done = 0
    flipped = clusters = 0
    chunk_len = max(TUNE_CHUNK, -(-TUNE_SITES // chain.n))
    while done < total:
        chunk = min(chunk_len, total - done)
        before = chain.counters.copy()
        chain.run(chunk, step, n_cl, n_met, n_or)
        delta = chain.counters - before
        done += chunk
        if auto_step and delta[1] > 0:
            ratio = min(2.0, max(0.5, delta[0] / delta[1] / TARGET_ACCEPTANCE))
            step = min(math.pi, step * ratio)
        if auto_cl and delta[3] > 0:
            if done > half:
                flipped += delta[2]
                clusters += delta[3]
            mean_size = (flipped / clusters) if clusters else delta[2] / delta[3]
            n_cl = max(1, round(chain.n / mean_size))
    return step, n_cl


def run_xy(job: dict) -> dict:
    """Monte Carlo of the XY model over a list of couplings (one independent chain each).

    Args:
        job: dict with keys
            ``L`` (int >= 2), ``couplings`` (list of K = J/T >= 0), ``seed`` (int);
            optional: ``lattice`` ("square" L x L, or "ring": L x 1 periodic chain),
            ``update`` ("combined" default, "wolff", "metropolis", "overrelax"; see
            ``UPDATES``), ``sweeps`` (measured sweeps, default 10000),
            ``thermalization`` (default 1000), ``measure_every`` (default 1),
            ``configurations`` (angle snapshots per coupling, evenly spaced over the
            measurements, default 0), ``start`` ("hot" | "cold"), ``metropolis_step``
            (window in (0, pi], None = tuned to 50 % acceptance in thermalisation),
            ``clusters_per_sweep`` (None = about N flipped spins per sweep),
            ``metropolis_per_sweep``, ``overrelax_per_sweep`` (override ``UPDATES``),
            ``system`` ("xy").

    Returns:
        dict with
            ``job``: the normalised job (defaults filled);
            ``couplings``: float64 (n_K,); ``n_sites``: N;
            ``series``: name -> float64 (n_K, n_meas), per-measurement series of
                :func:`series_from_raw` (energy, abs_m, m2, cos_x, sin2_x, helicity_x,
                helicity, and on the square lattice cos_y, sin2_y, helicity_y,
                vortex_density);
            ``estimates``: name -> :class:`Stats` of float64 arrays (n_K,) for each name
                in ``ESTIMATES`` (the ring lacks helicity_y and vortex_density); tau_int
                in units of measurements;
            ``diagnostics``: name -> (n_K,) arrays: metropolis_step, clusters_per_sweep,
                acceptance (measurement phase, NaN without Metropolis),
                mean_cluster_size (NaN without clusters), seconds (wall time);
            ``configurations``: float64 (n_K, n_conf, *shape) angle snapshots;
            ``final``: float64 (n_K, *shape) last configuration of each chain.
    """
    job = normalize_job(job)
    L, lattice = job["L"], job["lattice"]
    wolff = UPDATES[job["update"]][0]
    n_met, n_or = job["metropolis_per_sweep"], job["overrelax_per_sweep"]
    n_meas = job["sweeps"] // job["measure_every"]
    n_conf = job["configurations"]
    shape = config_shape(L, lattice)
    series_rows: list[dict] = []
    stats_rows: list[dict] = []
    diag: dict[str, list] = {
        k: []
        for k in (
            "metropolis_step",
            "clusters_per_sweep",
            "acceptance",
            "mean_cluster_size",
            "seconds",
        )
    }
    confs = np.zeros((len(job["couplings"]), n_conf, *shape))
    finals = np.zeros((len(job["couplings"]), *shape))
    n_sites = 0
    for ik, k in enumerate(job["couplings"]):
        t0 = time.perf_counter()
        state = chain_state(job["seed"], lattice, L, job["update"], k)
        chain = Chain(L, lattice, k, state, job["start"])
        n_sites = chain.n
        step, n_cl = thermalize(chain, job)
        chain.counters[:4] = 0
        # measurement phase, cut into n_conf segments so snapshots are evenly spaced; the
        # random stream simply continues, so the series do not depend on n_conf
        bounds = np.linspace(0, n_meas, n_conf + 1).astype(np.int64) if n_conf else [0, n_meas]
        raw = []
        for seg, (a, b) in enumerate(itertools.pairwise(bounds)):
            raw.append(
                chain.run(
                    (b - a) * job["measure_every"], step, n_cl, n_met, n_or, job["measure_every"]
                )
            )
            if n_conf:
                confs[ik, seg] = chain.config()
        raw_all = np.concatenate(raw)
        finals[ik] = chain.config()
        ser = series_from_raw(raw_all, k, chain.n, lattice == "square")
        series_rows.append(ser)
        stats_rows.append(estimates_from_series(ser, k, chain.n))
        cnt = chain.counters
        diag["metropolis_step"].append(step if n_met else np.nan)
        diag["clusters_per_sweep"].append(n_cl)
        diag["acceptance"].append(cnt[0] / cnt[1] if cnt[1] else np.nan)
        diag["mean_cluster_size"].append(cnt[2] / cnt[3] if wolff and cnt[3] else np.nan)
        diag["seconds"].append(time.perf_counter() - t0)
    series = {name: np.stack([r[name] for r in series_rows]) for name in series_rows[0]}
    estimates = {name: stack_stats([r[name] for r in stats_rows]) for name in stats_rows[0]}
    return {
        "job": job,
        "couplings": np.array(job["couplings"]),
        "n_sites": n_sites,
        "series": series,
        "estimates": estimates,
        "diagnostics": {k: np.array(v, dtype=np.float64) for k, v in diag.items()},
        "configurations": confs,
        "final": finals,
    }
