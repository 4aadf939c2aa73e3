"""Every Ising update on both lattices against exact answers, at fixed seeds.

Each run's estimates must lie within 3 standard errors (Gamma-method, autocorrelation
corrected) of the exact value: brute-force enumeration (square L = 4, Lieb L = 2), the
Lieb corner enumeration with bond spins traced exactly (L = 3), and Kaufman's
finite-lattice solution (energy and specific heat) at sizes where the multi-spin
kernel's strip geometry differs (L = 6: 1 strip, 12: 2 strips, 16: 8, 128: 64 strips).
"""

import numba
import numpy as np
import pytest
from util import max_error, mean_of, pull

from rgpipe.mc.ising.driver import run as run_ising
from rgpipe.mc.ising.local import energy_magnetisation
from rgpipe.mc.ising.multispin import (
    MultispinSquare,
    multispin_energy_magnetisation,
    pack,
    strips_for,
    unpack,
)
from rgpipe.mc.rng import stream_states
from rgpipe.physics.ising_exact import J_C_LIEB, K_C_SQUARE, exact_thermo
from rgpipe.physics.lattice import square
from rgpipe.workflow_config import validate_job

OBSERVABLES = (
    "energy",
    "specific_heat",
    "abs_m",
    "m2",
    "m4",
    "binder",
    "susceptibility",
    "susceptibility_abs",
)
UPDATES = [("wolff", "numba"), ("sw", "numba"), ("metropolis", "numba"), ("metropolis", "torch")]


def error_bounds(e: np.ndarray, m: np.ndarray, k: float, n: int) -> dict[str, float]:
    """Upper bounds on the error of every observable from blocking jackknifes of the energy
    and magnetisation series (tests/util.py max_error; the definitions of rgpipe.mc.ising
    written out here), independent of the Gamma method that produced the reported errors."""
    am, m2, m4 = np.abs(m), m**2, m**4
    return {
        "energy": max_error(mean_of, e),
        "abs_m": max_error(mean_of, am),
        "m2": max_error(mean_of, m2),
        "m4": max_error(mean_of, m4),
        "binder": max_error(lambda a, b: 1.0 - b / (3.0 * a * a), m2, m4),
        "specific_heat": max_error(lambda a, b: k * k * n * (b - a * a), e, e * e),
        "susceptibility": k * n * max_error(mean_of, m2),
        "susceptibility_abs": max_error(lambda a, b: k * n * (a - b * b), m2, am),
    }


def z_scores(job: dict) -> dict[str, float]:
    """Run a validated job at its couplings; z-score of every exactly known estimate, each
    error bar checked first against an upper bound from blocking (so an inflated error cannot
    make |z| < 3 pass)."""
    job = validate_job("ising_mc_job", job)
    res = run_ising(job, progress=False)
    n = job["L"] ** 2 * (3 if job["lattice"] == "lieb" else 1)
    out = {}
    for ik, k in enumerate(res.values):
        ex = exact_thermo(job["lattice"], job["L"], float(k))
        e, m = res.series["energy"][ik], res.series["magnetization"][ik]
        bound = error_bounds(e, m, float(k), n)
        for name in OBSERVABLES:
            exact = getattr(ex, name)
            if np.isnan(exact):
                continue
            st = res.estimates[name]
            what = f"{name}@{k:.4f}"
            out[what] = pull(st.mean[ik], st.error_of_mean[ik], exact, bound[name], what)
    return out


@pytest.mark.parametrize("update,backend", UPDATES)
@pytest.mark.parametrize(
    "lattice,L,ks,sweeps",
    [
        ("square", 4, [0.3, K_C_SQUARE], 20000),
        ("lieb", 2, [J_C_LIEB], 20000),
        ("lieb", 3, [0.6, J_C_LIEB], 20000),
    ],
)
def test_small_lattices_against_enumeration(lattice, L, ks, sweeps, update, backend):
    z = z_scores(
        dict(
            system="ising",
            lattice=lattice,
            L=L,
            couplings=ks,
            update=update,
            backend=backend,
            sweeps=sweeps,
            thermalization=500,
            seed=11,
        )
    )
    assert len(z) == 8 * len(ks)
    bad = {k: v for k, v in z.items() if abs(v) >= 3}
    assert not bad, f"|z| >= 3: {bad}"


@pytest.mark.parametrize(
    "L,k,update,sweeps",
    [
        (6, 0.35, "metropolis", 20000),
        (12, 0.40, "metropolis", 10000),
        (16, K_C_SQUARE, "metropolis", 10000),
        (16, K_C_SQUARE, "wolff", 5000),
        (16, K_C_SQUARE, "sw", 5000),
        (128, 0.30, "metropolis", 1000),
        (5, 0.5, "wolff", 20000),
        (5, 0.5, "sw", 20000),
    ],
)
def test_square_against_kaufman(L, k, update, sweeps):
    z = z_scores(
        dict(
            system="ising",
            lattice="square",
            L=L,
            couplings=[k],
            update=update,
            sweeps=sweeps,
            thermalization=500,
            seed=5,
        )
    )
    assert set(z) == {f"energy@{k:.4f}", f"specific_heat@{k:.4f}"}
    assert all(abs(v) < 3 for v in z.values()), z


@pytest.mark.parametrize("update", ["wolff", "sw", "metropolis"])
def test_lieb_against_decimation(update):
    """Lieb L = 8 at J_c: energy and specific heat from the decimation identity."""
    z = z_scores(
        dict(
            system="ising",
            lattice="lieb",
            L=8,
            couplings=[J_C_LIEB],
            update=update,
            sweeps=8000,
            thermalization=500,
            seed=3,
        )
    )
    assert len(z) == 2 and all(abs(v) < 3 for v in z.values()), z


@pytest.mark.parametrize("L", [4, 6, 8, 12, 16, 40, 128, 256])
def test_multispin_packing_and_measurement(L):
    rng = np.random.default_rng(L)
    spins = rng.choice(np.array([-1, 1], np.int8), (L, L))
    assert np.array_equal(unpack(pack(spins), L), spins)
    assert (L // strips_for(L)) % 2 == 0
    lat = square(L)
    ref = energy_magnetisation(spins.ravel(), lat.bonds.astype(np.int32))
    assert multispin_energy_magnetisation(pack(spins), strips_for(L)) == ref


def test_multispin_is_independent_of_thread_count():
    L = 256
    spins = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (L, L))
    states = stream_states(9, (1,), L)
    out = []
    for threads in (1, 2):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        sim = MultispinSquare(spins, K_C_SQUARE, states.copy())
        sim.sweep(20)
        out.append(sim.spins())
    numba.set_num_threads(1)
    assert np.array_equal(out[0], out[1])


def test_multispin_flips_every_lane():
    """At large K from a random start every spin must eventually move: a lane the
    update ignored would keep its initial value."""
    L = 128
    spins = np.random.default_rng(1).choice(np.array([-1, 1], np.int8), (L, L))
    sim = MultispinSquare(spins, 0.2, stream_states(2, (1,), L))
    changed = np.zeros((L, L), bool)
    for _ in range(50):
        sim.sweep(1)
        changed |= sim.spins() != spins
    assert changed.all()


def test_same_seed_same_series_other_seed_differs():
    job = validate_job(
        "ising_mc_job",
        dict(
            system="ising",
            lattice="lieb",
            L=4,
            couplings=[0.7, 0.8],
            update="wolff",
            sweeps=300,
            thermalization=50,
            seed=4,
            configurations=3,
        ),
    )
    a, b = run_ising(job, progress=False), run_ising(job, progress=False)
    assert np.array_equal(a.series["energy"], b.series["energy"])
    assert np.array_equal(a.series["magnetization"], b.series["magnetization"])
    assert np.array_equal(a.samples["spins"], b.samples["spins"])
    assert a.samples["spins"].shape == (2, 3, 3, 4, 4)
    c = run_ising({**job, "seed": 5}, progress=False)
    assert not np.array_equal(a.series["energy"], c.series["energy"])


def test_stored_configurations_reproduce_measured_series():
    """The stored spins are the configurations the series were measured on."""
    job = validate_job(
        "ising_mc_job",
        dict(
            system="ising",
            lattice="lieb",
            L=4,
            couplings=[0.7],
            update="metropolis",
            sweeps=200,
            seed=1,
            configurations=4,
        ),
    )
    res = run_ising(job, progress=False)
    from rgpipe.physics.lattice import lieb

    lat = lieb(4)
    idx = res.sample_attrs["measurement_index"]
    for c, i in enumerate(idx):
        spins = res.samples["spins"][0, c].ravel()
        e, m = energy_magnetisation(spins, lat.bonds.astype(np.int32))
        assert e / lat.n_sites == res.series["energy"][0, i]
        assert m / lat.n_sites == res.series["magnetization"][0, i]
