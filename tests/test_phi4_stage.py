"""phi^4 through the command line, and Binder crossings from interpolated estimates."""

import numpy as np
import pytest
from scipy.optimize import brentq
from util import run_rgpipe

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
    assert 0 < err < 0.02
    assert abs(mean - exact) < 3 * err, (mean, err, exact)


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
