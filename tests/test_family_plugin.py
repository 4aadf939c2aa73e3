"""A family is one package, one rule, one study: a family defined only in tests/families
(gauss_family.py) is registered through RGPIPE_FAMILIES and then gets the CLI, the config
section, the workflow rule, checkpoints with resume, MPI ensembles and the aggregate stage,
without any change to rgpipe."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from util import ROOT, datasets, user_env

from rgpipe.config import ConfigError
from rgpipe.learn import registry
from rgpipe.store import open_result
from rgpipe.workflow_config import validate_config

FAMILIES_DIR = ROOT / "tests" / "families"
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent))


def plugin_env() -> dict[str, str]:
    env = user_env()
    env["PYTHONPATH"] = str(FAMILIES_DIR)
    env["RGPIPE_FAMILIES"] = "gauss_family"
    return env


def rgpipe(*args: str, cwd: Path, check: bool = True, timeout: float = 300):
    proc = subprocess.run(
        [sys.executable, "-m", "rgpipe", *args],
        cwd=cwd,
        env=plugin_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


@pytest.fixture()
def gauss(monkeypatch):
    """The test family registered in this process."""
    monkeypatch.syspath_prepend(str(FAMILIES_DIR))
    monkeypatch.setenv("RGPIPE_FAMILIES", "gauss_family")
    registry._load.cache_clear()
    from rgpipe.workflow_config import load_schema

    load_schema.cache_clear()
    yield registry.get("gauss")
    registry._load.cache_clear()
    load_schema.cache_clear()


@pytest.fixture(scope="module")
def mc_file(tmp_path_factory) -> Path:
    """A Lieb-lattice Ising file with 60 stored configurations at two couplings."""
    d = tmp_path_factory.mktemp("mc")
    rgpipe(
        "mc", "--system", "ising", "--lattice", "lieb", "--L", "4", "--coupling", "0.6", "0.76",
        "--update", "wolff", "--sweeps", "600", "--configurations", "60", "--seed", "1",
        "--quiet", "--out", "mc.h5", cwd=d,
    )  # fmt: skip
    return d / "mc.h5"


def magnetisations(path: Path, point: int) -> np.ndarray:
    with h5py.File(path) as fh:
        spins = fh["samples/spins"][point].astype(np.float64)
    return spins.reshape(len(spins), -1).mean(axis=1)


def test_the_family_appears_in_the_cli():
    text = rgpipe("train", "--help", cwd=ROOT).stdout
    assert "gauss" in text and "mlrg" in text
    text = rgpipe("train", "gauss", "--help", cwd=ROOT).stdout
    for flag in ("--inputs", "--coupling", "--learning-rate", "--resample", "--models-per-batch"):
        assert flag in text, flag
    assert "[default: 0.05]" in text


def test_the_family_validates_in_the_config(gauss):
    mc = {"ising": {"lb": {"lattice": "lieb", "sizes": [4], "couplings": [0.76],
                           "update": "wolff", "configurations": 20, "seeds": [1]}}}  # fmt: skip
    study = {"data": {"system": "ising", "ensemble": "lb", "size": 4, "seed": 1}}
    cfg = validate_config({"mc": mc, "train": {"gauss": {"fit": {**study, "epochs": [10, 20]}}}})
    assert cfg["train"]["gauss"]["fit"]["learning_rate"] == 0.05  # default filled
    bad = [
        ({**study, "learning_rate": -1.0}, "train.gauss.fit.learning_rate"),
        ({**study, "epochs": 10.0}, "train.gauss.fit.epochs"),
        ({**study, "mode": "ddp"}, "supports ensemble"),
        ({**study, "epochs": 200_000}, "too many"),
        ({"data": {**study["data"], "ensemble": "nope"}}, "no ensemble mc.ising.nope"),
        ({"data": {**study["data"], "size": 8}}, "train.gauss.fit.data.size"),
        ({}, "data"),
    ]
    for entry, needle in bad:
        with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
            validate_config({"mc": mc, "train": {"gauss": {"fit": entry}}})
    no_configs = {"ising": {"lb": {**mc["ising"]["lb"], "configurations": 0}}}
    with pytest.raises(ConfigError, match="stores no configurations"):
        validate_config({"mc": no_configs, "train": {"gauss": {"fit": study}}})


def test_the_fit_reaches_the_maximum_likelihood_answer(tmp_path, mc_file):
    """Without resampling every model fits all configurations: mu and sigma converge to the
    sample mean and standard deviation (ddof 0) of the magnetisations, read independently."""
    out = tmp_path / "g.h5"
    rgpipe(
        "train", "gauss", "--inputs", str(mc_file), "--coupling", "0.76", "--no-resample",
        "--epochs", "3000", "--n-models", "3", "--seed", "7", "--quiet", "--out", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    m = magnetisations(mc_file, 1)
    with open_result(out, stage="train_gauss") as fh:
        assert fh.attrs["family"] == "gauss"
        np.testing.assert_array_equal(fh["models/seed"][()], [7, 8, 9])
        np.testing.assert_allclose(fh["models/mu"][()], m.mean(), atol=1e-6)
        np.testing.assert_allclose(fh["models/sigma"][()], m.std(), rtol=1e-6)
        assert fh["estimates/mu"].attrs["exact"] == 0.0


@pytest.mark.mpi
def test_two_ranks_give_the_one_rank_file(tmp_path, mc_file):
    args = ["train", "gauss", "--inputs", str(mc_file), "--coupling", "0.6", "--epochs", "50",
            "--n-models", "5", "--models-per-batch", "2", "--quiet"]  # fmt: skip
    rgpipe(*args, "--out", str(tmp_path / "one.h5"), cwd=tmp_path)
    proc = subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, "-m", "rgpipe", *args, "--expect-ranks", "2",
         "--out", str(tmp_path / "two.h5")],
        env=plugin_env(), capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    one, two = datasets(tmp_path / "one.h5"), datasets(tmp_path / "two.h5")
    assert one.keys() == two.keys()
    for name in one:
        np.testing.assert_array_equal(one[name], two[name], err_msg=name)


def test_the_family_resumes_after_sigterm_to_the_same_file(tmp_path, mc_file):
    args = ["train", "gauss", "--inputs", str(mc_file), "--coupling", "0.76", "--epochs",
            "20000", "--checkpoint-every", "500", "--n-models", "2", "--quiet"]  # fmt: skip
    rgpipe(*args, "--out", str(tmp_path / "ref.h5"), cwd=tmp_path)
    out = tmp_path / "run.h5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rgpipe", *args, "--out", str(out)],
        cwd=tmp_path, env=plugin_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    ckpt = out.with_name(out.name + ".ckpt")
    deadline = time.time() + 120
    while not list(ckpt.glob("group-0000.pt")) and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == 75 and not out.exists()
    rgpipe(*args, "--out", str(out), cwd=tmp_path)  # resumes
    ref, run = datasets(tmp_path / "ref.h5"), datasets(out)
    assert ref.keys() == run.keys()
    for name in ref:
        np.testing.assert_array_equal(ref[name], run[name], err_msg=name)
    assert not ckpt.exists()


def test_the_family_runs_through_snakemake_and_is_aggregated(tmp_path):
    for name in ("Snakefile", "workflow"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    config = {
        "mc": {"ising": {"lb": {"lattice": "lieb", "sizes": [4], "couplings": [0.76],
                                "update": "wolff", "sweeps": 300, "configurations": 40,
                                "seeds": [1]}}},
        "train": {"gauss": {"fit": {"data": {"system": "ising", "ensemble": "lb", "size": 4},
                                    "learning_rate": [0.05, 0.1], "epochs": 100,
                                    "n_models": 3, "seeds": [0, 10]}}},
        "aggregate": {"bootstrap": 100},
    }  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [shutil.which("snakemake", path=plugin_env()["PATH"]), "--cores", "2"],
        cwd=tmp_path, env=plugin_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "train_gauss" in proc.stderr
    files = sorted((tmp_path / "results/train/gauss/fit").rglob("*.h5"))
    assert [f.relative_to(tmp_path / "results/train/gauss/fit").as_posix() for f in files] == [
        "learning_rate~0.05/seed~0.h5",
        "learning_rate~0.05/seed~10.h5",
        "learning_rate~0.1/seed~0.h5",
        "learning_rate~0.1/seed~10.h5",
    ]
    with open_result(files[0], stage="train_gauss") as fh:
        assert '"learning_rate":0.05' in fh.attrs["config_json"]
        assert "results/mc/ising/lb/L~4/seed~1.h5" in fh.attrs["inputs_json"]
    with h5py.File(tmp_path / "results/summary.h5") as fh:
        labels = [x.decode() for x in fh["summary/label"][()]]
        methods = [x.decode() for x in fh["summary/method"][()]]
        n = fh["summary/n"][()]
    rows = [(m, lab, k) for m, lab, k in zip(methods, labels, n, strict=True) if m == "gauss"]
    assert sorted(rows) == [
        ("gauss", "learning_rate=0.05", 6),
        ("gauss", "learning_rate=0.05", 6),
        ("gauss", "learning_rate=0.1", 6),
        ("gauss", "learning_rate=0.1", 6),
    ]  # mu and sigma, 2 jobs x 3 models each
    report = (tmp_path / "results/report/index.html").read_text()
    assert "Gaussian fits of" in report


def test_each_generated_rule_runs_its_own_family(tmp_path):
    """The rules are generated in a loop; a shell command formatted at run time must not see
    the loop's last family (train_mlrg once ran `train gauss`)."""
    for name in ("Snakefile", "workflow", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    config = {
        "mc": {"ising": {"lb": {"lattice": "lieb", "sizes": [4], "couplings": [0.76],
                                "update": "wolff", "sweeps": 300, "configurations": 40}}},
        "train": {
            "mlrg": {"m": {"epochs": 5, "n_models": 1, "batch": 4}},
            "gauss": {"g": {"data": {"system": "ising", "ensemble": "lb", "size": 4,
                                     "seed": 0}, "epochs": 5, "n_models": 1}},
        },
    }  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [shutil.which("snakemake", path=plugin_env()["PATH"]), "-n", "-p", "--cores", "1"],
        cwd=tmp_path, env=plugin_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    blocks = proc.stdout.split("rule ")
    for family in ("mlrg", "gauss"):
        (block,) = [b for b in blocks if b.startswith(f"train_{family}:")]
        assert f"python -m rgpipe train {family} " in block, block
    (crit,) = [b for b in blocks if b.startswith("extract_critical_mlrg:")]
    assert "critical --method flow" in crit
