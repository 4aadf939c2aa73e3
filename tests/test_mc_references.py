"""Every MC file carries the exact values of its own finite system, and its estimates agree
with them.

For one small job of each system (fixed seeds) the file's ``/estimates/<name>/exact`` must
equal a computation made here by another route (a brute-force sum or a row transfer
matrix for the Ising model, the Gaussian covariance matrix inverted directly for phi^4 and
the harmonic oscillator, the ring's correlation function for the XY energy, a plain 4-d
grid sum for the 2 x 2 phi^4 lattice), and every estimate with a reference must lie within
3.5 of its error bars of it, with error bars that are positive and below a bound (so a
wide error bar cannot pass).
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from rgpipe.mc.output import MCResult, Status, write_mc
from rgpipe.mc.reference import NoReference, Reference, tabulate
from rgpipe.mc.systems import run, validate_job
from rgpipe.physics.ising_exact import J_C_LIEB, K_C_SQUARE, square_thermo
from rgpipe.physics.lattice import Lattice, lieb, square
from rgpipe.physics.phi4_exact import quadrature_grid, two_by_two_bruteforce
from rgpipe.physics.xy_exact import ring_correlation, ring_exact, torus2x2
from rgpipe.stats import Stats


def _write(tmp_path, job: dict) -> str:
    job = validate_job(job)
    path = str(tmp_path / f"{job['system']}.h5")
    write_mc(path, run(job, progress=False), job=job, seed=job["seed"])
    return path


def _read(path: str) -> dict[str, dict]:
    """name -> mean, error, exact (NaN where none), attrs of exact, status (0 where none)."""
    out = {}
    with h5py.File(path) as fh:
        for name, g in fh["estimates"].items():
            mean = np.atleast_1d(g["mean"][()])
            out[name] = {
                "mean": mean,
                "error": np.atleast_1d(g["error_of_mean"][()]),
                "exact": np.atleast_1d(g["exact"][()]) if "exact" in g else None,
                "attrs": dict(g["exact"].attrs) if "exact" in g else {},
                "status": np.atleast_1d(g["status"][()]) if "status" in g else 0 * mean,
                "meaning": json.loads(g["status"].attrs["meaning"]) if "status" in g else {},
            }
    return out


def _assert_agrees(
    est: dict, name: str, rel: float, floor: float = 0.0, upto: int | None = None
) -> None:
    """|mean - exact| < 3.5 errors, 0 < error < rel |exact| + floor, wherever both exist
    (among the first ``upto`` entries of an array estimate)."""
    e = est[name]
    ok = np.isfinite(e["exact"]) & (e["status"] == 0)
    if upto is not None:
        ok[upto:] = False
    assert ok.any(), name
    mean, err, exact = e["mean"][ok], e["error"][ok], e["exact"][ok]
    assert np.all(err > 0) and np.all(err < rel * np.abs(exact) + floor), (name, err, exact)
    pull = (mean - exact) / err
    assert np.all(np.abs(pull) < 3.5), (name, pull)


# ------------------------------------------------------------------------------ Ising

ISING = (
    "energy",
    "specific_heat",
    "abs_m",
    "m2",
    "m4",
    "binder",
    "susceptibility",
    "susceptibility_abs",
)
"""Every Ising estimate (all exactly known on lattices small enough to enumerate)."""


def _brute_force(lat: Lattice, k: float) -> dict[str, float]:
    """Every Ising estimate of a small lattice by summing all 2^N states here."""
    n = lat.n_sites
    s = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
    e = -(s[:, lat.bonds[:, 0]] * s[:, lat.bonds[:, 1]]).sum(1) / n
    m = s.sum(1) / n
    w = np.exp(-k * n * (e - e.min()))
    w /= w.sum()
    e1, e2, am, m2, m4 = (w @ q for q in (e, e * e, np.abs(m), m * m, m**4))
    return {
        "energy": e1,
        "specific_heat": k * k * n * (e2 - e1 * e1),
        "abs_m": am,
        "m2": m2,
        "m4": m4,
        "binder": 1 - m4 / (3 * m2 * m2),
        "susceptibility": k * n * m2,
        "susceptibility_abs": k * n * (m2 - am * am),
    }


def _row_transfer(L: int, k: float) -> dict[str, float]:
    """Energy and specific heat per spin of the periodic L x L square lattice from the
    2^L x 2^L row transfer matrix, ln Z = ln Tr T^L, by central differences in K."""
    rows = 1 - 2 * ((np.arange(2**L)[:, None] >> np.arange(L)) & 1)
    horiz = (rows * np.roll(rows, -1, axis=1)).sum(1)
    vert = rows @ rows.T

    def log_z(kk: float) -> float:
        lam = np.linalg.eigvalsh(np.exp(kk * (vert + 0.5 * (horiz[:, None] + horiz[None, :]))))
        top = lam.max()
        return L * np.log(top) + np.log(np.sum((lam / top) ** L))

    h, n = 1e-4, L * L
    lo, mid, hi = log_z(k - h), log_z(k), log_z(k + h)
    return {
        "energy": -(hi - lo) / (2 * h) / n,
        "specific_heat": k * k * (hi - 2 * mid + lo) / h**2 / n,
    }


def test_row_transfer_matrix_is_an_independent_kaufman():
    """The test's own route agrees with Kaufman's formula (the values the files carry)."""
    for L, k in ((4, 0.3), (6, 0.44)):
        th, tm = square_thermo(L, k), _row_transfer(L, k)
        assert tm["energy"] == pytest.approx(th.energy, rel=1e-7)
        assert tm["specific_heat"] == pytest.approx(th.specific_heat, rel=1e-5)


@pytest.mark.parametrize(
    "lattice,L,couplings,update",
    [
        ("square", 4, [0.3, K_C_SQUARE], "wolff"),
        ("lieb", 2, [0.5, J_C_LIEB], "sw"),
        ("square", 6, [0.0, 0.35], "wolff"),
    ],
)
def test_ising_files_carry_exact_values(tmp_path, lattice, L, couplings, update):
    job = dict(
        system="ising",
        lattice=lattice,
        L=L,
        couplings=couplings,
        update=update,
        sweeps=6000,
        thermalization=300,
        seed=7,
    )
    est = _read(_write(tmp_path, job))
    lat = square(L) if lattice == "square" else lieb(L)
    small = lat.n_sites <= 16
    names = ISING if small else ("energy", "specific_heat")
    assert sorted(n for n, e in est.items() if e["exact"] is not None) == sorted(names)
    for i, k in enumerate(couplings):
        if k == 0:
            for name in names:
                assert np.isnan(est[name]["exact"][i])
                assert (
                    "NaN at coupling=0: Kaufman's formula needs K > 0"
                    in (est[name]["attrs"]["missing"])
                )
            continue
        truth = _brute_force(lat, k) if small else _row_transfer(L, k)
        for name in names:
            assert est[name]["exact"][i] == pytest.approx(truth[name], rel=1e-5, abs=1e-12), name
    for name in names:
        attrs = est[name]["attrs"]
        assert attrs["reference_kind"] == "exact" and f"{L} x {L}" in attrs["reference"]
        assert "periodic" in attrs["reference"]
        _assert_agrees(est, name, rel=0.05, floor=0.01)


# --------------------------------------------------------------------------------- XY


def test_xy_ring_and_torus_files_carry_exact_values(tmp_path):
    ring = _read(
        _write(
            tmp_path,
            dict(
                system="xy",
                lattice="ring",
                L=6,
                couplings=[0.5, 1.5],
                sweeps=6000,
                thermalization=300,
                seed=2,
            ),
        )
    )
    known = ["energy", "specific_heat", "m2", "susceptibility", "helicity_x", "helicity"]
    assert sorted(n for n, e in ring.items() if e["exact"] is not None) == sorted(known)
    for i, k in enumerate([0.5, 1.5]):
        # the energy by another route: the nearest-neighbour correlation of the ring
        assert ring["energy"]["exact"][i] == pytest.approx(-ring_correlation(6, k, 1), rel=1e-12)
        for name, value in ring_exact(6, k).items():
            assert ring[name]["exact"][i] == pytest.approx(value, rel=1e-12)
        assert ring["helicity"]["exact"][i] == ring["helicity_x"]["exact"][i]
    assert "ring of 6 sites" in ring["energy"]["attrs"]["reference"]
    for name in known:
        _assert_agrees(ring, name, rel=0.1, floor=0.01)

    torus = _read(
        _write(
            tmp_path / "t",
            dict(system="xy", lattice="square", L=2, couplings=[1.0], sweeps=6000, seed=2),
        )
    )
    # another quadrature grid than the file's (96 points per angle)
    other = torus2x2(1.0, n_grid=120)
    for name in ("energy", "specific_heat", "m2", "abs_m", "helicity", "helicity_y"):
        assert torus[name]["exact"][0] == pytest.approx(other[name], rel=1e-5)
        _assert_agrees(torus, name, rel=0.1, floor=0.01)
    assert torus["vortex_density"]["exact"] is None


# ------------------------------------------------------------------------------- phi^4


def _gaussian_by_matrix_inverse(L: int, beta: float) -> dict[str, float]:
    """lam = 0 moments from the covariance (1/2) M^-1, M = 1 - (beta/2) A, inverted here."""
    lat = square(L)
    n = lat.n_sites
    adj = np.zeros((n, n))
    for a, b in lat.bonds:
        adj[a, b] += 1
        adj[b, a] += 1
    g = 0.5 * np.linalg.inv(np.eye(n) - 0.5 * beta * adj)
    m2 = g.sum() / n**2
    hop = sum(g[a, b] for a, b in lat.bonds) / n
    return {"phi2": np.trace(g) / n, "phi4": 3 * np.mean(np.diag(g) ** 2), "hop": hop, "m2": m2}


def test_phi4_gaussian_and_two_by_two_files_carry_exact_values(tmp_path):
    gauss = _read(
        _write(
            tmp_path,
            dict(system="phi4", L=4, betas=[0.2, 0.4], lam=0.0, sweeps=6000, seed=3),
        )
    )
    for i, beta in enumerate([0.2, 0.4]):
        for name, value in _gaussian_by_matrix_inverse(4, beta).items():
            assert gauss[name]["exact"][i] == pytest.approx(value, rel=1e-12)
    assert gauss["specific_heat"]["exact"].tolist() == [0.5, 0.5]
    assert "lam = 0" in gauss["m2"]["attrs"]["reference"]
    for name in ("phi2", "phi4", "hop", "m2", "abs_m", "action", "chi", "specific_heat"):
        _assert_agrees(gauss, name, rel=0.1)

    tiny = _read(
        _write(
            tmp_path / "t",
            dict(system="phi4", L=2, betas=[0.3, 0.6], lam=1.0, sweeps=6000, seed=3),
        )
    )
    assert tiny["abs_m"]["exact"] is None and tiny["chi_connected"]["exact"] is None
    for i, beta in enumerate([0.3, 0.6]):
        brute = two_by_two_bruteforce(beta, 1.0, quadrature_grid(beta, 1.0, h=0.12))
        for name in ("phi2", "phi4", "hop", "m2", "m4"):
            assert tiny[name]["exact"][i] == pytest.approx(brute[name], rel=1e-10)
    for name in ("phi2", "phi4", "hop", "m2", "m4", "binder", "action"):
        _assert_agrees(tiny, name, rel=0.1, floor=0.01)


def test_phi4_with_lam_on_a_larger_lattice_has_no_reference(tmp_path):
    est = _read(
        _write(tmp_path, dict(system="phi4", L=4, betas=[0.6], lam=1.0, sweeps=200, seed=3))
    )
    assert all(e["exact"] is None for e in est.values())


# ------------------------------------------------------------------------- 0+1D field


def _harmonic_lattice(n_tau: int, beta: float) -> dict[str, np.ndarray]:
    """The harmonic lattice action (m = omega = 1) as a Gaussian: covariance M^-1 with
    M = (2 I - P - P^T)/a + a I; the lattice gap from cosh(a E) = 1 + a^2/2."""
    a = beta / n_tau
    shift = np.roll(np.eye(n_tau), 1, axis=1)
    cov = np.linalg.inv((2 * np.eye(n_tau) - shift - shift.T) / a + a * np.eye(n_tau))
    c = cov[0, : n_tau // 2 + 1]
    gap = np.arccosh(1 + a * a / 2) / a
    return {
        "x": 0.0,
        "x2": c[0],
        "x4": 3 * c[0] ** 2,
        "energy": c[0],
        "energy_thermo": 1 / (2 * a) - (c[0] - c[1]) / a**2 + c[0] / 2,
        "correlator": c,
        "effective_mass": np.full(n_tau // 2, gap),
        "gap": gap,
    }


def test_oscillator_file_carries_the_transfer_matrix_values(tmp_path):
    job = dict(
        system="oscillator",
        potential="harmonic",
        omega=1.0,
        beta=10.0,
        n_tau=40,
        sweeps=6000,
        thermalization=200,
        seed=4,
    )
    est = _read(_write(tmp_path, job))
    truth = _harmonic_lattice(40, 10.0)
    assert set(truth) == set(est)
    for name, value in truth.items():
        np.testing.assert_allclose(est[name]["exact"], np.atleast_1d(value), rtol=1e-8, atol=1e-12)
        assert "n_tau = 40" in est[name]["attrs"]["reference"], name
    for name in ("x2", "x4", "energy", "energy_thermo", "gap"):
        _assert_agrees(est, name, rel=0.1)
    _assert_agrees(est, "correlator", rel=0.1, floor=0.005)
    _assert_agrees(est, "x", rel=0, floor=0.1)
    # at late times C(tau) is small and noisy: the effective mass is tested at tau < beta/4
    _assert_agrees(est, "effective_mass", rel=0.2, upto=10)


# ------------------------------------------------------------------------- machinery


def test_tabulate_names_the_points_without_a_value():
    def point(i: int):
        if i == 1:
            raise NoReference("no formula here")
        return {"e": (float(i), f"src{i // 2}"), "c": (np.arange(3.0), "same")}

    refs = tabulate("K", np.array([0.1, 0.2, 0.3]), point)
    np.testing.assert_array_equal(refs["e"].values, [0.0, np.nan, 2.0])
    assert refs["c"].values.shape == (3, 3) and np.isnan(refs["c"].values[1]).all()
    assert refs["e"].missing == "NaN at K=0.2: no formula here"
    assert refs["e"].source == "at K=0.1: src0; at K=0.3: src1"
    assert refs["c"].source == "same" and refs["c"].kind == "exact"
    with pytest.raises(ValueError, match="kind"):
        Reference(np.zeros(1), "x", kind="guess")


def test_writer_rejects_a_reference_of_the_wrong_shape(tmp_path):
    st = Stats(np.zeros(2), np.ones(2), np.ones(2), np.full(2, 0.5))
    base = dict(parameter="K", values=np.array([0.1, 0.2]), estimates={"e": st})
    job = {"system": "ising"}
    bad = MCResult(**base, references={"e": Reference(np.zeros(3), "x")})
    with pytest.raises(ValueError, match="shape"):
        write_mc(tmp_path / "a.h5", bad, job=job, seed=1)
    stray = MCResult(**base, status={"f": Status(np.zeros(2, np.int8), ("ok",))})
    with pytest.raises(ValueError, match="no estimate"):
        write_mc(tmp_path / "b.h5", stray, job=job, seed=1)
    assert not list(tmp_path.iterdir())
