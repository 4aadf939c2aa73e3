"""The Snakemake workflow: lint, dry run of the default config, a real local run."""

import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from util import ROOT, user_env

TINY = {
    "mc": {
        "ising": {
            "sq": {
                "lattice": "square",
                "sizes": [4, 6],
                "couplings": [0.38, 0.42, 0.46, 0.5],
                "update": "metropolis",
                "sweeps": 300,
                "thermalization": 50,
                "seeds": [1, 2],
            },
            "lb": {
                "lattice": "lieb",
                "sizes": [4],
                "couplings": [0.76],
                "update": "wolff",
                "sweeps": 300,
                "configurations": 4,
            },
        }
    },
    "train": {
        "mlrg": {
            "t": {
                "loss": ["kl", "cd"],
                "n_models": 2,
                "epochs": 40,
                "batch": 8,
                "cd_samples": 8,
                "k_fine": 4,
                "seeds": [3],
            }
        }
    },
    "critical": {"binder": {"bootstrap": 10}},
    "aggregate": {"bootstrap": 100},
}


def snakemake(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("snakemake", path=user_env()["PATH"]), *args],
        cwd=cwd,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture()
def workdir(tmp_path):
    """A fresh project directory with the workflow and the tiny config."""
    for name in ("Snakefile", "workflow"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY))
    return tmp_path


def test_lint_is_clean():
    proc = snakemake("--lint", cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def job_counts(stdout: str) -> dict[str, int]:
    """The "Job stats" table of a Snakemake run as {rule: count}."""
    table = stdout.split("Job stats:", 1)[1].splitlines()[3:]
    counts = {}
    for line in table:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def test_dry_run_of_default_config(workdir):
    shutil.copy(ROOT / "config.yaml", workdir / "config.yaml")
    proc = snakemake("-n", "--cores", "2", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    lattice = [e for s in ("ising", "xy", "phi4") for e in cfg["mc"].get(s, {}).values()]
    time = list(cfg["mc"].get("oscillator", {}).values())
    n_jobs = sum(len(e["sizes"]) * len(e.get("seeds", [0])) for e in lattice)
    n_time = sum(len(e["n_tau"]) * len(e.get("seeds", [0])) for e in time)
    n_crit = sum(len(e.get("seeds", [0])) for e in lattice + time)
    counts = job_counts(proc.stdout)
    assert counts["sample_mc"] == n_jobs
    assert counts.get("sample_mc_time", 0) == n_time
    assert counts["extract_critical"] == n_crit
    assert counts["aggregate_bias"] == 1
    n_train = 0  # one job per study, swept value combination and base seed
    for study in cfg.get("train", {}).get("mlrg", {}).values():
        jobs = 1
        for value in study.values():
            jobs *= len(value) if isinstance(value, list) else 1
        n_train += jobs
    assert counts.get("train_mlrg", 0) == counts.get("extract_critical_mlrg", 0)
    assert counts.get("train_mlrg", 0) == (n_train if cfg.get("train") else 0)


def test_invalid_config_stops_before_any_job(workdir):
    bad = yaml.safe_load((workdir / "config.yaml").read_text())
    bad["mc"]["ising"]["sq"]["sizes"] = [4, 5]
    (workdir / "config.yaml").write_text(yaml.safe_dump(bad))
    proc = snakemake("--cores", "1", cwd=workdir)
    assert proc.returncode != 0
    assert "mc.ising.sq.sizes[1]': value 5 is invalid" in proc.stdout + proc.stderr
    assert not (workdir / "results").exists()


def test_local_run_then_rerun_one_stage(workdir):
    proc = snakemake("--cores", "2", cwd=workdir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted((workdir / "results/mc/ising").rglob("*.h5"))
    assert [f.relative_to(workdir / "results/mc/ising").as_posix() for f in files] == [
        "lb/L~4/seed~0.h5",
        "sq/L~4/seed~1.h5",
        "sq/L~4/seed~2.h5",
        "sq/L~6/seed~1.h5",
        "sq/L~6/seed~2.h5",
    ]
    crit = sorted(p.name for p in (workdir / "results/critical/ising/sq").glob("*.h5"))
    assert crit == ["seed~1.h5", "seed~2.h5"]  # lb has one size: no crossing job
    for name in ("summary.h5", "summary.csv", "report/index.html", "report/index.md"):
        assert (workdir / "results" / name).exists(), name
    trained = sorted(
        p.relative_to(workdir / "results/train/mlrg").as_posix()
        for p in (workdir / "results/train/mlrg").rglob("*.h5")
    )
    assert trained == ["t/loss~cd/seed~3.h5", "t/loss~kl/seed~3.h5"]
    with h5py.File(workdir / "results/critical/mlrg/t/loss~kl/seed~3.h5") as fh:
        assert list(fh["models/seed"][()]) == [3, 4]
    with h5py.File(workdir / "results/summary.h5") as fh:
        assert fh.attrs["stage"] == "aggregate" and fh.attrs["n_files"] == 4
    target = workdir / "results/mc/ising/sq/L~6/seed~2.h5"
    with h5py.File(target) as fh:
        before = fh["observables/energy"][()]
        assert fh.attrs["seed"] == 2
    with h5py.File(workdir / "results/mc/ising/lb/L~4/seed~0.h5") as fh:
        assert fh["samples/spins"].shape == (4, 3, 4, 4)
    # nothing to do on a second run
    proc = snakemake("--cores", "2", cwd=workdir)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    # force one stage: same seed, same data
    proc = snakemake(
        str(target.relative_to(workdir)), "--forcerun", "sample_mc", "--cores", "1", cwd=workdir
    )
    assert proc.returncode == 0, proc.stderr
    with h5py.File(target) as fh:
        np.testing.assert_array_equal(fh["observables/energy"][()], before)
    # the logged command reproduces the file by hand
    log = (workdir / "results/logs/mc/ising/sq/L~6/seed~2.log").read_text()
    cmd = log.split("rerun with: ", 1)[1].splitlines()[0]
    manual = workdir / "manual.h5"
    cmd = cmd.replace(str(target.relative_to(workdir)), str(manual)).replace(
        "'results/mc/ising/sq/L~6/seed~2.h5'", str(manual)
    )
    done = subprocess.run(
        cmd, shell=True, cwd=workdir, env=user_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    with h5py.File(manual) as fh:
        np.testing.assert_array_equal(fh["observables/energy"][()], before)
