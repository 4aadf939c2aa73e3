"""The training stage as users run it: `python -m rgpipe train mlrg`, alone, under mpiexec
(ensemble and data-parallel), and killed mid-run then resumed."""

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from util import ROOT, a1_optimal_fixed_point, assert_same_science, run_rgpipe, user_env

from rgpipe.learn.mlrg.params import resolve_params
from rgpipe.learn.mlrg.spec import SPEC
from rgpipe.store import open_result
from rgpipe.workflow_config import load_schema

SMALL = [
    "--n-models",
    "4",
    "--models-per-batch",
    "2",
    "--epochs",
    "300",
    "--batch",
    "16",
    "--quiet",
]
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent))
J_STAR = a1_optimal_fixed_point()[0]  # the A1 plaquette map's fixed point, closed form


def assert_same_training(a, b):
    """Identical outside /provenance (the world size aside: it is a fact of the run)."""
    assert_same_science(a, b, ignore_attrs={"world_size"})


def mpirun(n: int, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MPIEXEC, "-n", str(n), sys.executable, "-m", "rgpipe", *args],
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_schema_defaults_match_the_trainer():
    """The config schema, the trainer's resolved defaults and the CLI come from one spec."""
    props = load_schema()["$defs"]["mlrg_job"]["properties"]
    trainer = resolve_params({})
    assert set(trainer) == set(SPEC.names) <= set(props)
    for p in SPEC:
        assert props[p.name]["default"] == p.default == trainer[p.name], p.name
        if p.choices:
            assert props[p.name]["enum"] == list(p.choices), p.name
    text = run_rgpipe("train", "mlrg", "--help").stdout
    for p in SPEC:
        assert p.option in text, p.name


def test_train_writes_the_ensemble(tmp_path):
    out = tmp_path / "m.h5"
    run_rgpipe("train", "mlrg", *SMALL, "--seed", "10", "--out", str(out))
    with open_result(out, stage="train_mlrg") as fh:
        assert list(fh["models/seed"][()]) == [10, 11, 12, 13]
        assert fh.attrs["world_size"] == 1
        jc = fh["models/J_c"][()]
        # exact-KL A1 models learn the KL-optimal map, whose fixed point J* = 0.813920 comes
        # from the closed form (tests/util.py).  At 300 epochs, batch 16, J_c - J* spreads
        # over seeds 10-17 by 1.6e-3; seeds 10-13 lie at +0.9, +0.9, -1.1, +2.8 (x 1e-3)
        assert np.all(np.abs(jc - J_STAR) < 0.003), jc
        est = fh["estimates/J_c"]
        assert est["mean"][()] == pytest.approx(jc.mean())
        assert est["error_of_mean"][()] == pytest.approx(jc.std(ddof=1) / 2)
        assert fh["flow/f"].shape == (4, 161, 1)
    assert not (tmp_path / "m.h5.ckpt").exists()  # checkpoints removed after success


@pytest.mark.mpi
def test_ensemble_over_two_ranks_matches_one(tmp_path):
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    run_rgpipe("train", "mlrg", *SMALL, "--out", str(one))
    proc = mpirun(2, "train", "mlrg", *SMALL, "--expect-ranks", "2", "--out", str(two))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("rerun with:") == 1, proc.stderr  # rank 0 only
    with h5py.File(two) as fh:
        assert fh.attrs["world_size"] == 2
    assert_same_training(one, two)


@pytest.mark.mpi
def test_data_parallel_training(tmp_path):
    out = tmp_path / "ddp.h5"
    proc = mpirun(
        2,
        "train",
        "mlrg",
        "--mode",
        "ddp",
        "--n-models",
        "2",
        "--epochs",
        "200",
        "--batch",
        "16",
        "--quiet",
        "--expect-ranks",
        "2",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr  # includes the replica-consistency check
    with open_result(out, stage="train_mlrg") as fh:
        assert fh.attrs["world_size"] == 2
        # J_c - J* spreads by 0.9e-3 over seeds at 200 epochs, batch 16 (one process);
        # these two: -0.4e-3, +0.3e-3
        assert np.all(np.abs(fh["models/J_c"][()] - J_STAR) < 0.003)
        assert '"mode":"ddp"' in fh.attrs["config_json"]
    bad = mpirun(
        2,
        "train",
        "mlrg",
        "--mode",
        "ddp",
        "--batch",
        "15",
        "--epochs",
        "5",
        "--n-models",
        "1",
        "--quiet",
        "--out",
        str(tmp_path / "x.h5"),
    )
    assert bad.returncode != 0 and "cannot be split evenly over 2 ranks" in bad.stderr


LONG = [
    "train",
    "mlrg",
    "--n-models",
    "2",
    "--epochs",
    "1500",
    "--batch",
    "16",
    "--checkpoint-every",
    "25",
    "--quiet",
]


def interrupted_run(out: Path, sig: int, seed: int, ranks: int = 1) -> int:
    """Start a training run, wait for its first checkpoint, then send ``sig`` after a
    random (seeded) delay; return the exit status."""
    cmd = [sys.executable, "-m", "rgpipe", *LONG, "--out", str(out)]
    if ranks > 1:
        cmd = [MPIEXEC, "-n", str(ranks), *cmd]
    proc = subprocess.Popen(
        cmd, env=user_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    ckpt = out.with_name(out.name + ".ckpt")
    deadline = time.time() + 120
    while not list(ckpt.glob("group-*.pt")) and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(random.Random(seed).uniform(0.0, 0.6))
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    assert not out.exists(), "a final file exists after the interruption"
    return proc.returncode


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run every interrupted one must reproduce."""
    path = tmp_path_factory.mktemp("reference") / "reference.h5"
    run_rgpipe(*LONG, "--out", str(path), timeout=600)
    return path


@pytest.mark.parametrize(
    "sig,ranks,expected",
    [(signal.SIGTERM, 1, 75), (signal.SIGKILL, 1, -9), (signal.SIGTERM, 2, 75)],
    ids=["sigterm", "sigkill", "sigterm-mpi"],
)
def test_interrupted_training_resumes_to_the_same_result(tmp_path, reference, sig, ranks, expected):
    out = tmp_path / "interrupted.h5"
    status = interrupted_run(out, sig, seed=int(sig) + ranks, ranks=ranks)
    if ranks == 1:
        assert status == expected
    else:
        assert status != 0
    assert list(out.with_name(out.name + ".ckpt").glob("group-*.pt"))
    run_rgpipe(*LONG, "--out", str(out), timeout=600)  # resumes from the checkpoint
    assert_same_training(reference, out)
    assert not out.with_name(out.name + ".ckpt").exists()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--epochs", "0"], "'epochs': value 0"),
        (["--representation", "A3"], "'representation': value 'A3'"),
        (["--target", "monotone", "--activation", "relu"], "monotone"),
        (["--loss", "mse"], "'loss': value 'mse'"),
        (["--j-range-ising", "1.0", "0.5"], "j_range_ising"),
    ],
)
def test_bad_hyperparameters_fail_before_training(tmp_path, args, needle):
    proc = run_rgpipe("train", "mlrg", *args, "--out", str(tmp_path / "x.h5"), check=False)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    assert not (tmp_path / "x.h5").exists()
