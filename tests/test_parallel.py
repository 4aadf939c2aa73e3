"""The parallel layer under a real MPI launcher (mpiexec from the PyPI mpich wheel)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from util import ROOT, user_env

from rgpipe.parallel import World, detect_launcher, gather_to_root, init_world, my_share

PROBE = ROOT / "tests/mpi/parallel_probe.py"
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent))


def mpirun(n: int, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MPIEXEC, "-n", str(n), sys.executable, str(PROBE), *args],
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_detect_launcher():
    assert detect_launcher({}) == "single"
    assert detect_launcher({"PMI_RANK": "0", "PMI_SIZE": "2"}) == "mpi"
    assert detect_launcher({"RANK": "1", "WORLD_SIZE": "2"}) == "torchrun"


def test_single_process_world():
    world = init_world(expected_size=1)
    assert (world.rank, world.size, world.launcher) == (0, 1, "single")
    assert gather_to_root(my_share(["a", "b"], world), world, 2) == ["a", "b"]
    with pytest.raises(RuntimeError, match="expected 2 ranks"):
        init_world(expected_size=2)


def test_round_robin_share_covers_everything_once():
    items = list(range(10))
    shares = [my_share(items, World(rank=r, size=3)) for r in range(3)]
    assert sorted(i for s in shares for i, _ in s) == items
    assert [len(s) for s in shares] == [4, 3, 3]


@pytest.mark.mpi
def test_ensemble_gathers_every_member_in_order(tmp_path):
    proc = mpirun(2, "ensemble", str(tmp_path), "2")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "ensemble.json").read_text())
    assert [r["seed"] for r in results] == list(range(7))
    assert {r["rank"] for r in results} == {0, 1}
    assert "[rank 1/2] INFO training members [1, 3, 5]" in proc.stderr


@pytest.mark.mpi
def test_ddp_step_gives_identical_weights_and_averaged_gradient(tmp_path):
    proc = mpirun(2, "ddp", str(tmp_path), "2")
    assert proc.returncode == 0, proc.stderr
    r0, r1 = (json.loads((tmp_path / f"ddp_rank{r}.json").read_text()) for r in (0, 1))
    assert r0["backend"] == "gloo"
    assert r0["weights"] == r1["weights"]
    # the same step on one process with both ranks' data (mean of the two gradients)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x0, x1 = torch.tensor(r0["x"]), torch.tensor(r1["x"])
    loss = 0.5 * (model(x0).pow(2).mean() + model(x1).pow(2).mean())
    loss.backward()
    opt.step()
    ref = torch.cat([p.detach().ravel() for p in model.parameters()])
    torch.testing.assert_close(torch.tensor(r0["weights"]), ref, rtol=1e-6, atol=1e-7)


@pytest.mark.mpi
def test_failing_rank_aborts_all_promptly(tmp_path):
    proc = mpirun(2, "fail", str(tmp_path), "2", timeout=60)
    assert proc.returncode != 0
    assert "rank 1 fails on purpose" in proc.stderr


@pytest.mark.mpi
def test_wrong_world_size_is_detected(tmp_path):
    proc = mpirun(2, "ensemble", str(tmp_path), "3")
    assert proc.returncode != 0
    assert "expected 3 ranks" in proc.stderr
