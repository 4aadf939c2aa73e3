"""The 0+1D field through the command line: mc jobs at several lattice spacings and the
continuum extrapolation of E0 and the gap, against the harmonic oscillator's exact
E0 = omega/2 and E1 - E0 = omega."""

import json

import numpy as np
import pytest
from util import max_error, mean_of, run_rgpipe

from rgpipe.physics.oscillator import correlator_weights, fit_cosh_gap, fit_times
from rgpipe.store import open_result


def test_harmonic_oscillator_continuum_limit(tmp_path):
    files = []
    for n_tau in (16, 32, 64):
        out = tmp_path / f"N{n_tau}.h5"
        run_rgpipe(
            "mc",
            "--system",
            "oscillator",
            "--potential",
            "harmonic",
            "--omega",
            "1.0",
            "--beta",
            "12",
            "--n-tau",
            str(n_tau),
            "--sweeps",
            "6000",
            "--thermalization",
            "200",
            "--seed",
            str(n_tau),
            "--quiet",
            "--out",
            str(out),
        )
        files.append(str(out))
    with open_result(files[0], stage="mc") as fh:
        assert float(fh["parameters/a"][()]) == pytest.approx(12 / 16)
        assert fh["estimates/correlator/mean"].shape == (9,)
        assert fh["parameters/tau"].shape == (9,)
        for name in ("x2", "x4", "energy", "gap"):
            assert fh[f"estimates/{name}/mean"].shape == ()
    out = tmp_path / "cont.h5"
    proc = run_rgpipe(
        "critical",
        "--method",
        "continuum",
        "--inputs",
        *files,
        "--powers",
        "0",
        "2",
        "--out",
        str(out),
    )
    assert "E0(a -> 0)" in proc.stderr
    # the per-spacing inputs, each error bounded by blocking its stored series
    points = {"E0": [], "gap": []}
    for path in files:
        a, y, err, bound = per_spacing_estimates(path, beta=12.0)
        for name in points:
            assert 0 < err[name] <= bound[name], (path, name, err[name], bound[name])
            points[name].append((a, y[name], err[name]))
    with open_result(out, stage="critical") as fh:
        for name, exact in (("E0", 0.5), ("gap", 1.0)):
            est = fh[f"estimates/{name}"]
            mean, err = float(est["mean"][()]), float(est["error_of_mean"][()])
            assert est.attrs["exact"] == pytest.approx(exact, abs=1e-8)
            assert est.attrs["dof"] == 1 and list(est.attrs["powers"]) == [0, 2]
            # the extrapolation and its error by weighted least squares written out here:
            # the stage's error is exactly the propagated one (no more, no less)
            value, propagated = weighted_fit_c0(points[name])
            assert mean == pytest.approx(value, rel=1e-9)
            assert err == pytest.approx(propagated, rel=1e-9)
            assert 0 < err < 0.05 * exact  # decisive
            assert abs(mean - exact) < 3 * err, (name, mean, err)
        np.testing.assert_allclose(fh["points/a"][()], [0.75, 0.375, 0.1875])


def weighted_fit_c0(points):
    """c0 and its standard error of the weighted least-squares fit y = c0 + c2 a^2."""
    a, y, s = (np.array(v) for v in zip(*points, strict=True))
    X = np.c_[np.ones_like(a), a**2] / s[:, None]
    cov = np.linalg.inv(X.T @ X)
    c = cov @ X.T @ (y / s)
    return float(c[0]), float(np.sqrt(cov[0, 0]))


def per_spacing_estimates(path, beta):
    """(a, values, errors, error bounds) of E0 (the virial energy) and the gap in one mc
    file; the bounds from blocking the stored series (the gap: a blocked jackknife of the
    run's own inverse-variance-weighted cosh fit over the stored correlator rows)."""
    with open_result(path, stage="mc") as fh:
        a = float(fh["parameters/a"][()])
        meta = json.loads(fh["parameters"].attrs["meta_json"])
        corr = fh["observables/correlator"][()]
        energy = fh["observables/energy"][()]
        y = {k: float(fh[f"estimates/{s}/mean"][()]) for k, s in (("E0", "energy"), ("gap", "gap"))}
        err = {
            k: float(fh[f"estimates/{s}/error_of_mean"][()])
            for k, s in (("E0", "energy"), ("gap", "gap"))
        }
    n = round(beta / a)
    ks = fit_times(round(meta["gap_window"][0] / a), n // 2)
    w = correlator_weights(corr)[ks]
    columns = [corr[:, k] for k in ks]
    bound = {
        "E0": max_error(mean_of, energy),
        "gap": max_error(lambda *m: fit_cosh_gap(np.array(m), ks * a, beta, w), *columns),
    }
    return a, y, err, bound


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--potential", "harmonic"], "'omega': missing"),
        (["--lam", "4", "--eta", "1", "--update", "reflect"], "needs hmc or metropolis"),
        (
            ["--potential", "polynomial", "--coeffs", "0", "1", "1", "--update", "hmc+reflect"],
            "exact only for an even potential",
        ),
        (["--lam", "4", "--eta", "1", "--L", "8"], "--L do not apply to --system oscillator"),
    ],
)
def test_oscillator_options_are_validated(tmp_path, args, needle):
    proc = run_rgpipe(
        "mc",
        "--system",
        "oscillator",
        "--beta",
        "4",
        "--n-tau",
        "16",
        *args,
        "--out",
        str(tmp_path / "x.h5"),
        check=False,
    )
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    assert not (tmp_path / "x.h5").exists()
