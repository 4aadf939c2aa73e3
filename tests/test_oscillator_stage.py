"""The 0+1D field through the command line: mc jobs at several lattice spacings and the
continuum extrapolation of E0 and the gap, against the harmonic oscillator's exact
E0 = omega/2 and E1 - E0 = omega."""

import numpy as np
import pytest
from util import run_rgpipe

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
    with open_result(out, stage="critical") as fh:
        for name, exact in (("E0", 0.5), ("gap", 1.0)):
            est = fh[f"estimates/{name}"]
            mean, err = float(est["mean"][()]), float(est["error_of_mean"][()])
            assert est.attrs["exact"] == pytest.approx(exact, abs=1e-8)
            assert est.attrs["dof"] == 1 and list(est.attrs["powers"]) == [0, 2]
            assert 0 < err < 0.05 * exact
            assert abs(mean - exact) < 3 * err, (name, mean, err)
        np.testing.assert_allclose(fh["points/a"][()], [0.75, 0.375, 0.1875])


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
