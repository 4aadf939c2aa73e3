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
    for name in ("Snakefile", "workflow", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY))
    return tmp_path


def test_lint_is_clean():
    proc = snakemake("--lint", cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def workflow_jobs(workdir: Path) -> dict[str, str]:
    """{output file: rule} of every job the workflow plans for its config, asked from
    Snakemake itself (snakemake.api: the summary of a DAG built with forceall)."""
    import contextlib
    import io
    import os

    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
    )

    buf, cwd = io.StringIO(), os.getcwd()
    try:
        with SnakemakeApi(OutputSettings()) as api:
            wf = api.workflow(
                resource_settings=ResourceSettings(cores=1),
                config_settings=ConfigSettings(),
                storage_settings=StorageSettings(),
                snakefile=workdir / "Snakefile",
                workdir=workdir,
            )
            with contextlib.redirect_stdout(buf):
                wf.dag(DAGSettings(forceall=True)).summary()
    finally:
        os.chdir(cwd)
    rows = [line.split("\t") for line in buf.getvalue().splitlines()[1:] if "\t" in line]
    return {row[0]: row[2] for row in rows}


def expected_train_files(family: str, studies: dict) -> set[str]:
    """The training files a config's studies stand for, decoded independently of
    rgpipe.sweeps: a list is a sweep, except for a list-valued key (its spec says so) whose
    sweep is a list of lists; path segments key~value sorted by key."""
    from rgpipe.learn import registry
    from rgpipe.learn.jobs import job_params

    listed = {p.name for p in job_params(registry.get(family)) if p.is_list}
    out = set()
    for name, study in studies.items():
        sweeps = {
            k: v
            for k, v in study.items()
            if k not in ("seeds", "data")
            and isinstance(v, list)
            and (k not in listed or all(isinstance(x, list) for x in v))
        }
        combos = [{}]
        for key in sorted(sweeps):
            combos = [{**c, key: v} for c in combos for v in sweeps[key]]

        def text(v):
            return "-".join(map(str, v)) if isinstance(v, list) else str(v)

        for combo in combos:
            point = "/".join(f"{k}~{text(v)}" for k, v in sorted(combo.items())) or "all"
            for seed in study.get("seeds", [0]):
                out.add(f"results/train/{family}/{name}/{point}/seed~{seed}.h5")
    return out


def test_dry_run_of_default_config(workdir):
    shutil.copy(ROOT / "config.yaml", workdir / "config.yaml")
    jobs = workflow_jobs(workdir)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    mc = {
        f"results/mc/{system}/{name}/{'N' if system == 'oscillator' else 'L'}~{n}/seed~{s}.h5"
        for system, ensembles in cfg["mc"].items()
        for name, e in ensembles.items()
        for n in e.get("sizes", e.get("n_tau"))
        for s in e.get("seeds", [0])
    }
    assert {f for f, r in jobs.items() if r.startswith("sample_mc")} == mc
    assert all(jobs[f] == ("sample_mc_time" if "/N~" in f else "sample_mc") for f in mc)
    crit = {
        f"results/critical/{system}/{name}/seed~{s}.h5"
        for system, ensembles in cfg["mc"].items()
        for name, e in ensembles.items()
        for s in e.get("seeds", [0])
    }
    assert {f for f, r in jobs.items() if r == "extract_critical"} == crit
    train = expected_train_files("mlrg", cfg.get("train", {}).get("mlrg", {}))
    assert {f for f, r in jobs.items() if r == "train_mlrg"} == train
    assert {f for f, r in jobs.items() if r == "extract_critical_mlrg"} == {
        f.replace("results/train/", "results/critical/") for f in train
    }
    assert {f for f, r in jobs.items() if r == "aggregate_bias"} == {
        "results/summary.h5",
        "results/summary.csv",
        "results/report/index.html",
        "results/report/index.md",
    }


def test_list_valued_keys_are_sweeps_only_as_lists_of_lists(workdir):
    """hidden: [32, 32] is one network; hidden: [[8], [16, 16]] sweeps two."""
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["train"]["mlrg"] = {
        "one": {"hidden": [32, 32], "epochs": 5, "seeds": [0, 100]},
        "two": {"hidden": [[8], [16, 16]], "j_range_ising": [0.0, 1.5], "epochs": 5},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    jobs = workflow_jobs(workdir)
    assert {f for f, r in jobs.items() if r == "train_mlrg"} == {
        "results/train/mlrg/one/all/seed~0.h5",
        "results/train/mlrg/one/all/seed~100.h5",
        "results/train/mlrg/two/hidden~8/seed~0.h5",
        "results/train/mlrg/two/hidden~16-16/seed~0.h5",
    }


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
        assert fh.attrs["stage"] == "aggregate" and fh.attrs["n_files"] == 9
        assert fh.attrs["n_mc_files"] == 5
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


def result_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in (root / "results").rglob("*.h5"))


def test_kill_9_then_one_documented_recovery_step(workdir, tmp_path_factory):
    """Snakemake and its jobs killed with SIGKILL mid-run: `snakemake --unlock` then
    `snakemake` (what `make resume` runs; the workflow profile adds rerun-incomplete)
    finishes the study, and every file equals an uninterrupted run's outside /provenance
    and passes `rgpipe inspect --verify`."""
    import os
    import signal
    import time

    from util import assert_same_science, run_rgpipe

    reference = tmp_path_factory.mktemp("reference")
    for name in ("Snakefile", "workflow", "profiles", "config.yaml"):
        src = workdir / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, reference / name)
    done = snakemake("--cores", "2", cwd=reference)
    assert done.returncode == 0, done.stderr
    proc = subprocess.Popen(
        [shutil.which("snakemake", path=user_env()["PATH"]), "--cores", "2"],
        cwd=workdir, env=user_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.time() + 300
    while time.time() < deadline and len(list((workdir / "results").rglob("*.h5"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and every job it started
    proc.wait()
    assert len(result_files(workdir)) < len(result_files(reference))  # killed mid-run
    assert list((workdir / ".snakemake/locks").iterdir())  # the stale lock it left
    assert snakemake("--unlock", cwd=workdir).returncode == 0
    again = snakemake("--cores", "2", cwd=workdir)
    assert again.returncode == 0, again.stdout + again.stderr
    files = result_files(workdir)
    assert files == result_files(reference)
    assert not list((workdir / "results").rglob("*.tmp"))
    for rel in files:
        if rel.name != "summary.h5":  # the summary lists its inputs' paths and digests
            assert_same_science(workdir / rel, reference / rel)
    verified = run_rgpipe("inspect", "--verify", *map(str, files), cwd=workdir)
    assert verified.stdout.count("verified") == len(files)
