"""The HDF5 store: atomic writes, provenance, and readers that fail naming the file."""

import json
import os

import h5py
import numpy as np
import pytest

from rgpipe.stats import Stats
from rgpipe.store import (
    SCHEMA_VERSION,
    StoreError,
    create_result,
    open_result,
    read_stats,
    write_stats,
)

CONFIG = {"system": "ising", "L": 4, "couplings": [0.4]}


def make(path, **kw):
    with create_result(path, stage="mc", config=CONFIG, seed=3, **kw) as fh:
        fh.create_dataset("x", data=np.arange(10))
        write_stats(fh.create_group("estimates"), "e", Stats(1.0, 0.1, 2.0, 1.5))


def test_root_attributes(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    src = tmp_path / "in.txt"
    src.write_text("data")
    path = tmp_path / "out.h5"
    make(path, inputs=[src], world_size=2)
    with open_result(path, stage="mc") as fh:
        a = fh.attrs
        for key in ("rgpipe_version", "git_revision", "config_sha256", "package_versions"):
            assert a[key]
        assert a["schema_version"] == SCHEMA_VERSION
        assert json.loads(a["config_json"]) == CONFIG
        assert a["seed"] == 3 and a["world_size"] == 2 and a["slurm_job_id"] == "4242"
        assert "numpy" in json.loads(a["package_versions"])
        assert json.loads(a["inputs_json"])[0]["sha256"].startswith("3a6eb079")
        assert "created_utc" in fh["provenance"].attrs
        st = read_stats(fh["estimates/e"])
        assert (st.mean, st.error_of_mean, st.variance, st.tau_int) == (1.0, 0.1, 2.0, 1.5)


def test_failure_leaves_nothing(tmp_path):
    path = tmp_path / "out.h5"
    with pytest.raises(RuntimeError), create_result(path, stage="mc", config=CONFIG, seed=0):
        raise RuntimeError("boom")
    assert not path.exists()
    assert not (tmp_path / "out.h5.tmp").exists()


def test_failure_keeps_previous_file(tmp_path):
    path = tmp_path / "out.h5"
    make(path)
    before = path.read_bytes()
    with pytest.raises(KeyboardInterrupt), create_result(path, stage="mc", config=CONFIG, seed=0):
        raise KeyboardInterrupt
    assert path.read_bytes() == before


def test_truncated_file(tmp_path):
    path = tmp_path / "out.h5"
    make(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match=str(path)):
        open_result(path)


def test_garbage_and_missing_files(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(StoreError, match=f"{path}: not a readable HDF5 file"):
        open_result(path)
    with pytest.raises(StoreError, match="no such file"):
        open_result(tmp_path / "missing.h5")


def test_foreign_and_wrong_version_files(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as fh:
        fh["x"] = 1
    with pytest.raises(StoreError, match=f"{foreign}: not an rgpipe result file"):
        open_result(foreign)
    path = tmp_path / "old.h5"
    make(path)
    with h5py.File(path, "a") as fh:
        fh.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(StoreError, match=f"{path}: schema version {SCHEMA_VERSION + 1}"):
        open_result(path)


def test_incomplete_and_wrong_stage(tmp_path):
    path = tmp_path / "out.h5"
    make(path)
    with pytest.raises(StoreError, match="expected 'train'"):
        open_result(path, stage="train")
    with h5py.File(path, "a") as fh:
        fh.attrs["complete"] = False
    with pytest.raises(StoreError, match="incomplete"):
        open_result(path)
