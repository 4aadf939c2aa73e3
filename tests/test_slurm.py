"""The workflow through a real Slurm (Debian's slurm-wlm + munge on localhost).

tests/slurm/start_slurm.sh installs and starts the cluster (root needed); the tests then
run `snakemake --profile slurm` exactly as a user on a cluster would, with the
project's own slurm/ profile.  Without root the tests are skipped, unless
RGPIPE_REQUIRE_SLURM=1 (set by .ci/run) turns that into a failure.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import pytest
import yaml
from util import ROOT, user_env

pytestmark = pytest.mark.slurm
SCRIPTS = ROOT / "tests/slurm"
FAST_POLL = [
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "2",
]


@pytest.fixture(scope="module")
def slurm():
    """A running single-node Slurm for this module; stopped afterwards."""
    required = os.environ.get("RGPIPE_REQUIRE_SLURM") == "1"
    if os.geteuid() != 0 and not required:
        pytest.skip("a real Slurm needs root to install and start (set RGPIPE_REQUIRE_SLURM=1)")
    proc = subprocess.run([SCRIPTS / "start_slurm.sh"], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(f"could not start Slurm:\n{proc.stdout}\n{proc.stderr}")
    yield
    subprocess.run([SCRIPTS / "stop_slurm.sh"], capture_output=True, timeout=120)


def project(tmp_path: Path, config: dict) -> Path:
    """A fresh project directory: the workflow, the slurm profile and a config."""
    for name in ("Snakefile", "workflow", "slurm"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def snakemake(cwd: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """`snakemake --profile slurm ...` under a hard kill timeout (a broken status command
    would otherwise wait forever)."""
    exe = shutil.which("snakemake", path=user_env()["PATH"])
    return subprocess.run(
        ["timeout", "-s", "KILL", str(timeout), exe, "--profile", "slurm", *FAST_POLL, *args],
        cwd=cwd,
        env=user_env(),
        capture_output=True,
        text=True,
    )


TINY = {
    "mc": {
        "ising": {
            "sq": {
                "lattice": "square",
                "sizes": [4, 6],
                "couplings": [0.40, 0.44, 0.48],
                "update": "wolff",
                "sweeps": 2000,
                "thermalization": 200,
                "seeds": [3],
            },
        }
    },
    "critical": {"binder": {"bootstrap": 20}},
}


def test_pipeline_runs_through_slurm(slurm, tmp_path):
    work = project(tmp_path, TINY)
    proc = snakemake(work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = proc.stdout + proc.stderr
    assert "has been submitted with SLURM jobid" in log
    job_ids = set()
    for path in sorted((work / "results").rglob("*.h5")):
        with h5py.File(path) as fh:
            job_id = fh.attrs["slurm_job_id"]
            assert job_id.isdigit(), (path, job_id)  # written inside a Slurm job
            job_ids.add(job_id)
    assert len(job_ids) == 3  # two MC jobs and the critical-point job, each its own
    with h5py.File(work / "results/critical/ising/sq/seed~3.h5") as fh:
        inputs = json.loads(fh.attrs["inputs_json"])
        assert [Path(i["path"]).parent.name for i in inputs] == ["L~4", "L~6"]


def test_impossible_request_is_rejected_at_submission(slurm, tmp_path):
    work = project(tmp_path, TINY)
    proc = snakemake(work, "--set-resources", "sample_mc:mem_mb=100000000", timeout=300)
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert "SLURM sbatch failed" in log, log[-3000:]
    assert "Memory specification can not be satisfied" in log
    assert not list(work.rglob("results/**/*.h5"))
