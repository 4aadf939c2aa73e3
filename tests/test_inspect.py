"""``python -m rgpipe inspect``: what it prints of an Ising sweep, a 0+1D file, a training
file and an aggregate summary (references and pulls, array estimates as short tables over
their axis, NaN errors with their reason, no tau_int for seed statistics, no unit ``1``),
and that ``inspect FILE | head`` ends quietly."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest
from util import ROOT, run_rgpipe, user_env

from rgpipe.inspect import describe
from rgpipe.mc.output import MCResult, Status, write_mc
from rgpipe.mc.systems import run, validate_job
from rgpipe.physics.oscillator import EFFECTIVE_MASS_STATUS, GAP_STATUS
from rgpipe.stats import Stats
from rgpipe.store import create_result


def _mc_file(path, job: dict) -> str:
    job = validate_job(job)
    write_mc(path, run(job, progress=False), job=job, seed=job["seed"])
    return str(path)


def _show(path, rows: int = 12) -> str:
    out = io.StringIO()
    describe(str(path), out, estimates_only=True, rows=rows)
    return out.getvalue()


def _block(text: str, name: str) -> list[str]:
    """The lines of one array estimate: its heading and the indented lines below it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(f"  {name}[ ,]", line))
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ")), len(lines)
    )
    return lines[start:end]


@pytest.fixture(scope="module")
def ising(tmp_path_factory) -> str:
    job = dict(
        system="ising",
        lattice="square",
        L=6,
        couplings=[0.0, 0.3, 0.4],
        update="wolff",
        sweeps=2000,
        seed=1,
    )
    return _mc_file(tmp_path_factory.mktemp("ising") / "sweep.h5", job)


@pytest.fixture(scope="module")
def oscillator(tmp_path_factory) -> str:
    job = dict(
        system="oscillator",
        potential="harmonic",
        omega=1.0,
        beta=30.0,
        n_tau=100,
        sweeps=2000,
        correlator_rows=50,
        seed=1,
    )
    return _mc_file(tmp_path_factory.mktemp("osc") / "osc.h5", job)


def test_ising_sweep_tables_with_references_and_pulls(ising):
    text = _show(ising)
    energy = _block(text, "energy")
    assert re.match(
        r"  energy \(J\), 3 points over coupling; exact \[1\] at 2, max \|pull\| ", energy[0]
    )
    assert energy[1].split() == ["coupling", "mean", "error", "tau_int", "exact", "pull"]
    rows = [line.split() for line in energy[2:5]]
    assert [r[0] for r in rows] == ["0", "0.3", "0.4"]
    assert rows[0][4:] == ["nan", "nan"]  # no Kaufman value at K = 0 ...
    assert "Kaufman's formula needs K > 0" in energy[5]  # ... and why
    with h5py.File(ising) as fh:
        g = fh["estimates/energy"]
        mean, err, exact = g["mean"][1], g["error_of_mean"][1], g["exact"][1]
    assert float(rows[1][4]) == pytest.approx(exact, rel=1e-7)
    assert float(rows[1][5]) == pytest.approx((mean - exact) / err, abs=0.006)
    # no reference for the moments of a 6 x 6 lattice: no reference columns
    assert _block(text, "binder")[1].split() == ["coupling", "mean", "error", "tau_int"]
    assert re.search(r"^  \[1\] Kaufman \(1949\) .* 6 x 6 square lattice", text, re.M)
    assert "abs_m, 3 points" in text and "abs_m (1)" not in text  # dimensionless: no unit


def test_oscillator_arrays_summarised_over_tau_with_nan_reasons(oscillator):
    text = _show(oscillator)
    assert "at a = 0.3:" in text.splitlines()[2]
    corr = _block(text, "correlator")
    assert corr[0].startswith("  correlator (length^2), 51 points over tau; exact [1]")
    assert len(corr) == 2 + 12 + 1 and "(39 rows not shown)" in corr[8]
    assert corr[2].split()[0] == "0" and corr[-1].split()[0] == "15"
    mass = _block(text, "effective_mass")
    assert "points over tau_effective_mass; exact [2], max |pull|" in mass[0]
    assert mass[1].split()[-1] == "status"
    with h5py.File(oscillator) as fh:
        status = fh["estimates/effective_mass/status"][()]
        err = fh["estimates/effective_mass/error_of_mean"][()]
    n_nan = int(np.isnan(err).sum())
    assert n_nan > 10
    nan_line = next(i for i, line in enumerate(mass) if "NaN error at" in line)
    assert mass[nan_line].startswith(f"    NaN error at {n_nan} of 50 points (NaN mean at ")
    for code in sorted(set(status.tolist()) - {0}):
        count = int(np.sum(status == code))
        assert f"      {count} x [{code}] {EFFECTIVE_MASS_STATUS[code]}" in mass
    assert re.search(r"^  gap +[0-9.]+ \+- [0-9.e-]+ \[[0-9.]+\] energy; exact \[3\] ", text, re.M)
    assert "nan +- 0" not in text and " +- 0 " not in text
    # every row on request
    assert len(_block(_show(oscillator, rows=100), "correlator")) == 2 + 51


def test_scalar_nan_error_names_its_reason(tmp_path):
    gap = Stats(np.array([0.0]), np.array([np.nan]), np.array([np.nan]), np.array([np.nan]))
    result = MCResult(
        parameter="a",
        values=np.array([0.1]),
        estimates={"gap": gap},
        meta={"gap": ("energy", "E1 - E0")},
        status={"gap": Status(np.array([1], dtype=np.int8), GAP_STATUS)},
    )
    write_mc(tmp_path / "g.h5", result, job={"system": "oscillator"}, seed=1)
    text = _show(tmp_path / "g.h5")
    assert "  gap  0 +- nan [nan] energy\n" not in text
    assert f"(error NaN: [1] {GAP_STATUS[1]})" in text


def test_training_file_has_no_tau_for_seed_statistics(tmp_path):
    out = tmp_path / "train.h5"
    run_rgpipe(
        "train", "mlrg", "--n-models", "2", "--epochs", "20", "--batch", "8", "--quiet",
        "--out", str(out),
    )  # fmt: skip
    text = run_rgpipe("inspect", "--estimates", str(out)).stdout
    assert "[0.5]" not in text and "tau_int" not in text
    line = next(x for x in text.splitlines() if x.startswith("  J_c "))
    assert re.match(
        r"  J_c +[0-9.]+ \+- [0-9.e-]+ \(2/2 seeds\); exact \[1\] 0\.76428546, pull ", line
    )
    assert "dimensionless" not in line
    assert "errors of J_c, J_c_minus_optimum, nu, nu_minus_optimum: independent seeds" in text
    assert re.search(r"^  \[1\] J_c = arccosh\(1 \+ sqrt 2\)/2 of the Lieb lattice", text, re.M)


def test_aggregate_summary_names_reference_kinds(tmp_path):
    root = tmp_path / "results" / "critical"
    for name, value, exact, kind, ref in (
        ("ising/square/seed~1.h5", 0.4405, 0.44068679, "exact", "K_c = ln(1 + sqrt 2)/2"),
        ("phi4/lam1/seed~1.h5", 0.6795, 0.68, "literature", "beta_c ~ 0.680 (literature)"),
    ):
        system = name.split("/")[0]
        config = {"method": "binder", "seed": 1, "system": system}
        with create_result(root / name, stage="critical", config=config, seed=1) as fh:
            fh.attrs.update({"system": system, "lattice": "square"})
            est = fh.create_group("estimates/K_c")
            est.create_dataset("mean", data=value)
            est.create_dataset("error_of_mean", data=0.001)
            est.attrs.update(
                {
                    "method": "binder_crossing",
                    "exact": exact,
                    "reference": ref,
                    "reference_kind": kind,
                    "units": "1",
                }
            )
    summary = tmp_path / "summary.h5"
    run_rgpipe(
        "aggregate", "--root", str(tmp_path / "results"), "--out", str(summary),
        "--bootstrap", "100", "--quiet",
    )  # fmt: skip
    text = _show(summary)
    lines = [x for x in text.splitlines() if "binder_crossing K_c" in x]
    assert len(lines) == 2
    assert re.search(r"mean=0\.4405 \+- 0\.001; exact \[1\] 0\.440687, bias -0\.000187$", lines[0])
    assert re.search(r"; literature \[2\] 0\.68, bias -0\.0005$", lines[1])
    assert "CI [nan" not in text and " 1;" not in text
    assert "  [2] beta_c ~ 0.680 (literature)" in text


def test_inspect_into_head_ends_quietly(oscillator):
    """The reader closing the pipe early (``| head``) is not an error."""
    cmd = f"{sys.executable} -m rgpipe inspect {oscillator} | head -3"
    proc = subprocess.run(
        cmd, shell=True, cwd=ROOT, env=user_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 3
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
