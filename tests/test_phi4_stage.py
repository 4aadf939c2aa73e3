"""phi^4 through the command line, and Binder crossings from interpolated estimates."""

import numpy as np
import pytest
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq
from util import ERROR_FACTOR, assert_z, max_error, run_rgpipe

from rgpipe.analysis.binder import BinderCurve, interpolated_crossings
from rgpipe.physics.ising_exact import enumerate_exact
from rgpipe.physics.lattice import square
from rgpipe.store import open_result


def test_interpolated_crossing_of_known_curves():
    """Smooth curves crossing at exactly 0.7; noise-free estimates must give it back."""
    k = np.linspace(0.6, 0.8, 9)
    curves = [
        BinderCurve(L, k, 0.6 + np.tanh(L**0.5 * (k - 0.7)) * 0.05, np.full(9, 1e-4))
        for L in (8, 16, 32)
    ]
    res = interpolated_crossings(curves, n_boot=50, seed=1)
    np.testing.assert_allclose(res.estimate, [0.7, 0.7], atol=1e-5)
    # linear error propagation: sqrt(2) sigma / |dU_L'/dK - dU_L/dK| at the crossing
    slopes = 0.05 * np.sqrt([8, 16, 32])
    expected = np.sqrt(2) * 1e-4 / np.diff(slopes)
    assert np.all(np.abs(res.error / expected - 1) < 0.3), (res.error, expected)
    assert res.failed.sum() == 0


def test_phi4_ising_limit_crossing_matches_exact_ising(tmp_path):
    """At lam = 1e4 the field is +-1 and phi^4 is the Ising model with K = beta: the
    crossing of L = 3 and 4 must agree with the exactly enumerated Ising crossing."""

    def u(L: int, k: float) -> float:
        return enumerate_exact(square(L), k).binder

    exact = brentq(lambda k: u(3, k) - u(4, k), 0.3, 0.6)
    files = []
    for L in (3, 4):
        out = tmp_path / f"p{L}.h5"
        run_rgpipe(
            "mc",
            "--system",
            "phi4",
            "--L",
            str(L),
            "--lam",
            "1e4",
            "--coupling",
            "0.40",
            "0.44",
            "0.48",
            "0.52",
            "--update",
            "wolff",
            "--sweeps",
            "20000",
            "--thermalization",
            "500",
            "--seed",
            str(L),
            "--quiet",
            "--out",
            str(out),
        )
        files.append(str(out))
    with open_result(files[1], stage="mc") as fh:
        np.testing.assert_allclose(fh["parameters/beta"][()], [0.40, 0.44, 0.48, 0.52])
        assert fh["parameters"].attrs["parameter"] == "beta"
        assert fh["estimates/binder/mean"].shape == (4,)
    out = tmp_path / "crit.h5"
    run_rgpipe(
        "critical",
        "--method",
        "binder",
        "--inputs",
        *files,
        "--bootstrap",
        "100",
        "--out",
        str(out),
    )
    with open_result(out, stage="critical") as fh:
        est = fh["estimates/beta_c"]
        mean, err = float(est["mean"][()]), float(est["error_of_mean"][()])
        assert np.isnan(est.attrs["exact"])  # no literature value at lam = 1e4
    # independent error: every Binder error of the mc files bounded by blocking its stored
    # magnetisation series, then linear propagation through a spline crossing written out
    # here, sqrt(sum_i (dK/dU_i)^2 sigma_i^2) (the parametric bootstrap of 100 replicates
    # scatters by 7 % around it, plus the curvature of the crossing)
    points = []
    for path in files:
        with open_result(path, stage="mc") as fh:
            k = fh["parameters/beta"][()]
            u_mean = fh["estimates/binder/mean"][()]
            u_err = fh["estimates/binder/error_of_mean"][()]
            m = fh["observables/m"][()]
        for i, mi in enumerate(m):
            bound = max_error(lambda a, b: 1.0 - b / (3.0 * a * a), mi**2, mi**4)
            assert 0 < u_err[i] <= bound, (path, i, u_err[i], bound)
        points.append((k, u_mean, u_err))
    assert_z(mean, err, exact, ERROR_FACTOR * propagated_crossing_error(*points))


def propagated_crossing_error(small, large) -> float:
    """Linear error propagation of the crossing of two cubic splines through (K, U) points,
    with one-sided differences of step 1e-6 in every U_i."""
    (k1, u1, e1), (k2, u2, e2) = small, large
    lo, hi = max(k1.min(), k2.min()), min(k1.max(), k2.max())

    def crossing(a, b):
        f, g = CubicSpline(k1, a), CubicSpline(k2, b)
        return brentq(lambda x: f(x) - g(x), lo, hi, xtol=1e-14)

    k0 = crossing(u1, u2)
    var = 0.0
    for i in range(len(u1)):
        d = np.zeros(len(u1))
        d[i] = 1e-6
        var += ((crossing(u1 + d, u2) - k0) / 1e-6 * e1[i]) ** 2
    for i in range(len(u2)):
        d = np.zeros(len(u2))
        d[i] = 1e-6
        var += ((crossing(u1, u2 + d) - k0) / 1e-6 * e2[i]) ** 2
    return float(np.sqrt(var))


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--coupling", "0.6", "--lam", "0"], "'betas[0]': beta = 0.6 with lam = 0 is an unstable"),
        (["--coupling", "0.6", "--lam", "1", "--m0sq", "-1"], "give either betas and lam"),
        (["--coupling", "0.6", "--lam", "-1"], "'lam': value -1.0"),
    ],
)
def test_phi4_options_are_validated(tmp_path, args, needle):
    proc = run_rgpipe(
        "mc", "--system", "phi4", "--L", "8", *args, "--out", str(tmp_path / "x.h5"), check=False
    )
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
