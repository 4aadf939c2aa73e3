"""T_BKT from the helicity modulus: the Weber-Minnhagen fit on data of known answer, and
the XY Monte Carlo + critical stages through the command line."""

import numpy as np
import pytest
from util import ERROR_FACTOR, assert_z, run_rgpipe

from rgpipe.analysis.bkt import HelicityData, bootstrap_t_bkt, weber_minnhagen
from rgpipe.store import open_result


def synthetic(t_bkt: float, c: float, sizes, temps, noise: float, seed: int):
    """Helicity moduli that follow the Weber-Minnhagen form exactly at t_bkt, with a
    smooth size-dependent slope in T around it, plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    out = []
    for L in sizes:
        at_tc = (2 * t_bkt / np.pi) * (1 + 1 / (2 * np.log(L) + c))
        slope = -1.0 - 0.8 * np.log(L)  # steeper for larger L, as in the XY model
        y = at_tc + slope * (temps - t_bkt) + 0.3 * (temps - t_bkt) ** 2
        err = np.full(len(temps), max(noise, 1e-6))  # equal weights for exact data
        out.append(HelicityData(L, temps, y + rng.normal(size=len(temps)) * noise, err))
    return out


@pytest.mark.parametrize(
    "t_bkt,c,spread", [(0.893, 1.5, 0.99e-4), (0.87, 3.0, 1.36e-4), (0.91, 0.2, 1.03e-4)]
)
def test_fit_recovers_known_transition(t_bkt, c, spread):
    """``spread``: the true error of T_BKT at this noise, measured as the standard deviation
    of the fit over 40 independent noise seeds (100-139) of the same synthetic data (+-11 %;
    too slow to repeat here).  The bootstrap error must lie within ERROR_FACTOR of it."""
    temps = np.linspace(0.84, 0.95, 9)
    exact = synthetic(t_bkt, c, [8, 16, 32, 64], temps, noise=0.0, seed=0)
    fit = weber_minnhagen(exact)
    assert fit.t_bkt == pytest.approx(t_bkt, abs=2e-4)
    assert fit.c == pytest.approx(c, abs=0.05)
    noisy = synthetic(t_bkt, c, [8, 16, 32, 64], temps, noise=5e-4, seed=1)
    fit, reps = bootstrap_t_bkt(noisy, n_boot=60, seed=2)
    err = np.nanstd(reps, ddof=1)
    assert_z(fit.t_bkt, err, t_bkt, ERROR_FACTOR * spread, what="T_BKT")


def test_unbracketed_minimum_is_reported_as_failure():
    temps = np.linspace(0.95, 1.05, 6)  # entirely above T_BKT = 0.893
    fit = weber_minnhagen(synthetic(0.893, 1.5, [8, 16, 32], temps, 0.0, 0))
    assert np.isnan(fit.t_bkt)


def test_xy_mc_and_helicity_stage(tmp_path):
    files = []
    for L in (4, 6):
        out = tmp_path / f"xy{L}.h5"
        run_rgpipe(
            "mc",
            "--system",
            "xy",
            "--L",
            str(L),
            "--coupling",
            "0.9",
            "1.1",
            "1.3",
            "--sweeps",
            "400",
            "--thermalization",
            "100",
            "--seed",
            "2",
            "--configurations",
            "2",
            "--quiet",
            "--out",
            str(out),
        )
        files.append(str(out))
    with open_result(files[0], stage="mc") as fh:
        assert fh["estimates/helicity_x/mean"].shape == (3,)
        assert fh["samples/angles"].shape == (3, 2, 4, 4)
        assert fh.attrs["seed"] == 2
    out = tmp_path / "bkt.h5"
    proc = run_rgpipe(
        "critical",
        "--method",
        "helicity",
        "--inputs",
        *files,
        "--bootstrap",
        "20",
        "--out",
        str(out),
    )
    assert "T_BKT" in proc.stderr
    with open_result(out, stage="critical") as fh:
        est = fh["estimates/T_BKT"]
        assert est.attrs["method"] == "helicity_weber_minnhagen"
        assert est.attrs["exact"] == pytest.approx(0.89294)
        assert fh["fit/replicates"].shape == (20,)
        assert fh["curves/helicity"].shape == (2, 3)
    bad = run_rgpipe(
        "critical",
        "--method",
        "binder",
        "--inputs",
        *files,
        "--out",
        str(tmp_path / "x.h5"),
        check=False,
    )
    assert bad.returncode == 2 and "needs ising or phi4 inputs" in bad.stderr
