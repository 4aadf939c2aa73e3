"""The workflow through a real Slurm (Debian's slurm-wlm + munge on localhost).

tests/slurm/start_slurm.sh installs and starts the cluster (root needed); the tests then
run `snakemake --profile slurm` exactly as a user on a cluster would, with the
project's own slurm/ profile.  Without root the tests are skipped, unless
RGPIPE_REQUIRE_SLURM=1 (set by .ci/run) turns that into a failure.
"""

import copy
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
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
    "train": {
        "mlrg": {
            "tiny": {
                "n_models": 4,
                "models_per_batch": 2,
                "epochs": 200,
                "batch": 16,
                "seeds": [5],
            },
        }
    },
    "critical": {"binder": {"bootstrap": 20}},
    "aggregate": {"bootstrap": 200},
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
    # two MC jobs, the Binder and the flow critical-point jobs, the 2-rank MPI training
    # job and the aggregation: each ran as its own Slurm job
    assert len(job_ids) == 6
    with h5py.File(work / "results/critical/ising/sq/seed~3.h5") as fh:
        inputs = json.loads(fh.attrs["inputs_json"])
        assert [Path(i["path"]).parent.name for i in inputs] == ["L~4", "L~6"]
    with h5py.File(work / "results/train/mlrg/tiny/all/seed~5.h5") as fh:
        assert fh.attrs["world_size"] == 2  # two MPI ranks through srun --mpi=pmi2
        assert list(fh["models/seed"][()]) == [5, 6, 7, 8]
    log = (work / "results/logs/train/mlrg/tiny/all/seed~5.log").read_text()
    assert "wrote results/train/mlrg/tiny/all/seed~5.h5 (2 rank(s))" in log


def test_start_script_reuses_a_matching_cluster(slurm):
    """A second start with the same settings finds the cluster and leaves it running (a
    different configuration would be restarted, a cluster it did not write left alone)."""
    proc = subprocess.run([SCRIPTS / "start_slurm.sh"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "already running with the same configuration" in proc.stderr, proc.stderr
    state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    assert state.stdout.split()[:1] in (["idle"], ["mix"], ["alloc"], ["comp"]), state


def test_impossible_request_is_rejected_at_submission(slurm, tmp_path):
    work = project(tmp_path, TINY)
    proc = snakemake(work, "--set-resources", "sample_mc:mem_mb=100000000", timeout=300)
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert "SLURM sbatch failed" in log, log[-3000:]
    assert "Memory specification can not be satisfied" in log
    assert not list(work.rglob("results/**/*.h5"))


def rank_pids(out: str) -> list[int]:
    """PIDs of the Python rank processes (not srun, not the job shell) of the training job
    writing ``out`` (other training runs on the machine are not counted)."""
    found = subprocess.run(["pgrep", "-f", out], capture_output=True, text=True).stdout
    pids = []
    for pid in map(int, found.split()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"python" in cmd[0] and b"rgpipe" in cmd and b"train" in cmd and out.encode() in cmd:
            pids.append(pid)
    return pids


def test_a_dying_rank_fails_the_job_promptly_and_the_retry_completes(slurm, tmp_path):
    """Kill one MPI rank of a running training job: srun ends the step (no hang), the
    profile's retries resubmit it, and the rerun resumes from the checkpoints."""
    config = dict(TINY)
    config["train"] = {
        "mlrg": {
            "long": {
                "n_models": 4,
                "models_per_batch": 2,
                "epochs": 2500,
                "batch": 16,
                "seeds": [1],
            }
        }
    }
    config["mc"] = {}
    work = project(tmp_path, config)
    exe = shutil.which("snakemake", path=user_env()["PATH"])
    cmd = ["timeout", "-s", "KILL", "900", exe, "--profile", "slurm", *FAST_POLL]
    proc = subprocess.Popen(
        cmd, cwd=work, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    ckpt = work / "results/train/mlrg/long/all/seed~1.h5.ckpt"
    deadline = time.time() + 300
    while not list(ckpt.glob("group-*.pt")) and time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read()[-4000:]
        time.sleep(0.5)
    target = "results/train/mlrg/long/all/seed~1.h5"
    pids = rank_pids(target)
    assert len(pids) == 2, pids
    killed = time.time()
    os.kill(max(pids), signal.SIGKILL)
    # the surviving rank must be gone promptly (srun --kill-on-bad-exit)
    while rank_pids(target) == [min(pids)] and time.time() - killed < 60:
        time.sleep(0.2)
    assert min(pids) not in rank_pids(target), "the other rank hangs"
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-4000:]
    assert "Trying to restart job" in out, out[-4000:]
    with h5py.File(work / "results/train/mlrg/long/all/seed~1.h5") as fh:
        assert fh.attrs["world_size"] == 2
        assert np.all(np.isfinite(fh["models/J_c"][()]))
    assert not ckpt.exists()


def test_default_sacct_status_path_with_accounting(slurm, tmp_path):
    """With slurmdbd accounting (start_slurm.sh's default) the plugin's default status
    command, sacct, follows the jobs to completion, and sacct records them as COMPLETED."""
    conf = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True).stdout
    if "accounting_storage/slurmdbd" not in conf:  # sacct would print "disabled", exit 0
        if os.environ.get("RGPIPE_REQUIRE_SLURM") == "1":
            pytest.fail("the test Slurm runs without slurmdbd accounting")
        pytest.skip("the running Slurm has no accounting (RGPIPE_SLURM_ACCOUNTING=0)")
    config = copy.deepcopy({k: v for k, v in TINY.items() if k != "train"})
    work = project(tmp_path, config)
    proc = snakemake(work, "--slurm-status-command", "sacct", timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    ids = []
    for path in sorted((work / "results").rglob("*.h5")):
        with h5py.File(path) as fh:
            ids.append(fh.attrs["slurm_job_id"])
    assert len(ids) == 4  # two MC jobs, the critical point, the aggregation
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(ids)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    states = dict(line.split("|") for line in out.split())
    assert states == {i: "COMPLETED" for i in ids}, out
