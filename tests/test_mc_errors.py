"""Errors in MC files are never 0 where the data vary: an error that cannot be estimated is
NaN, with the reason stored in ``/estimates/<name>/status``; the effective mass's error is
checked against a jackknife of the stored correlator."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from rgpipe.mc.output import write_mc
from rgpipe.mc.systems import run, validate_job
from rgpipe.physics.oscillator import EFFECTIVE_MASS_STATUS

NOISY = dict(
    system="oscillator",
    potential="harmonic",
    omega=1.0,
    beta=30.0,
    n_tau=100,
    sweeps=2000,
    thermalization=100,
    correlator_rows=50,
    seed=1,
)
"""C(tau) ~ exp(-tau)/2 is lost in its noise long before tau = beta/2 = 15 (the finite-difference
errors of the effective mass were exactly 0 at 25 of its 50 times)."""

JOBS = {
    "ising": dict(
        system="ising", lattice="square", L=4, couplings=[0.3, 0.44], update="wolff", sweeps=500
    ),
    "xy": dict(system="xy", lattice="ring", L=5, couplings=[0.5, 2.0], sweeps=500),
    "phi4": dict(system="phi4", L=4, betas=[0.3, 0.7], lam=1.0, sweeps=500),
    "oscillator": NOISY,
}


def _write(tmp_path, job: dict) -> str:
    job = validate_job({"seed": 1, "thermalization": 50, **job})
    path = str(tmp_path / f"{job['system']}.h5")
    write_mc(path, run(job, progress=False), job=job, seed=job["seed"])
    return path


@pytest.mark.parametrize("system", list(JOBS))
def test_no_error_is_zero_and_every_nan_error_has_a_reason(tmp_path, system):
    path = _write(tmp_path, JOBS[system])
    with h5py.File(path) as fh:
        for name, g in fh["estimates"].items():
            err = np.atleast_1d(g["error_of_mean"][()])
            assert not np.any(err == 0), name
            status = np.atleast_1d(g["status"][()]) if "status" in g else np.zeros(err.shape)
            np.testing.assert_array_equal(np.isnan(err), status != 0, err_msg=name)
            if "status" in g:
                meaning = json.loads(g["status"].attrs["meaning"])
                assert {int(c) for c in meaning} >= set(np.unique(status).tolist()), name


def test_effective_mass_status_says_why_mean_or_error_is_missing(tmp_path):
    with h5py.File(_write(tmp_path, NOISY)) as fh:
        g = fh["estimates/effective_mass"]
        mean, err, tau = g["mean"][()], g["error_of_mean"][()], g["tau_int"][()]
        status = g["status"][()]
        meaning = json.loads(g["status"].attrs["meaning"])
        corr = fh["estimates/correlator/mean"][()]
    assert status.shape == mean.shape == (50,)
    # the late times of this short run are noise: every kind of failure occurs
    assert {1, 2, 3} <= set(status.tolist()) and np.sum(status == 0) >= 10
    assert meaning == {str(c): EFFECTIVE_MASS_STATUS[c] for c in sorted(set(status.tolist()))}
    np.testing.assert_array_equal(np.isnan(mean), np.isin(status, [1, 2]))
    np.testing.assert_array_equal(np.isnan(err), status != 0)
    np.testing.assert_array_equal(np.isnan(tau), status != 0)
    k = np.arange(1, 51)
    c = np.append(corr, corr[-2])  # C(N/2 + 1) = C(N/2 - 1)
    ratio = (c[k - 1] + c[k + 1]) / (2 * c[k])
    assert np.all(corr[k][status == 1] <= 0)
    assert np.all(ratio[status == 2] < 1) and np.all(ratio[status == 3] >= 1)


def test_effective_mass_error_matches_a_jackknife(tmp_path):
    """Harmonic oscillator: the chain-rule error of arccosh(r)/a against a delete-one-block
    jackknife of the stored correlator rows (40 blocks: the two agree to ~20 %)."""
    job = dict(
        system="oscillator",
        potential="harmonic",
        omega=1.0,
        beta=10.0,
        n_tau=40,
        sweeps=8000,
        seed=9,
    )
    with h5py.File(_write(tmp_path, job)) as fh:
        rows = fh["observables/correlator"][()]
        err = fh["estimates/effective_mass/error_of_mean"][()]
        status = fh["estimates/effective_mass/status"][()]
        a = float(fh["parameters/a"][()])
    blocks = rows[: len(rows) // 40 * 40].reshape(40, -1, rows.shape[1]).mean(axis=1)
    total = blocks.sum(axis=0)
    ks = np.arange(1, 9)
    assert np.all(status[ks - 1] == 0)
    jack = []
    for b in blocks:
        c = (total - b) / 39
        jack.append(np.arccosh((c[ks - 1] + c[ks + 1]) / (2 * c[ks])) / a)
    jack = np.asarray(jack)
    jack_err = np.sqrt(39 / 40 * ((jack - jack.mean(axis=0)) ** 2).sum(axis=0))
    ratio = err[ks - 1] / jack_err
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio
