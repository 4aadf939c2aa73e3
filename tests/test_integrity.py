"""Reruns are identical and alterations are found: two runs of one job with one seed agree
in every dataset and attribute outside /provenance (every system, and training), and
`rgpipe inspect --verify` names a file whose content changed after it was written and a
recorded input that changed since it was read."""

from __future__ import annotations

import h5py
import pytest
from util import assert_same_science, run_rgpipe

JOBS = {
    "ising": ["--system", "ising", "--lattice", "lieb", "--L", "4", "--coupling", "0.7", "0.8",
              "--update", "wolff", "--sweeps", "200", "--configurations", "5"],
    "xy": ["--system", "xy", "--L", "4", "--coupling", "1.0", "1.2", "--sweeps", "200",
           "--configurations", "5"],
    "phi4": ["--system", "phi4", "--L", "4", "--lam", "1.0", "--coupling", "0.6", "0.7",
             "--sweeps", "200", "--configurations", "5"],
    "oscillator": ["--system", "oscillator", "--lam", "4", "--eta", "1.0", "--beta", "4",
                   "--n-tau", "16", "--sweeps", "300"],
}  # fmt: skip


@pytest.mark.parametrize("system", sorted(JOBS))
def test_a_rerun_is_identical_outside_provenance(tmp_path, system):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for out in (a, b):
        run_rgpipe("mc", *JOBS[system], "--seed", "3", "--quiet", "--out", str(out))
    assert_same_science(a, b)
    with h5py.File(a) as fa, h5py.File(b) as fb:
        assert fa.attrs["content_sha256"] == fb.attrs["content_sha256"]
        assert "timings" in fa["provenance"]  # the wall times are there, not in the data


def test_training_rerun_is_identical_outside_provenance(tmp_path):
    args = ["train", "mlrg", "--n-models", "2", "--epochs", "30", "--batch", "8", "--quiet"]
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for out in (a, b):
        run_rgpipe(*args, "--out", str(out))
    assert_same_science(a, b)
    with h5py.File(a) as fh:
        assert "train_seconds" in fh["provenance"] and "train_seconds" not in fh["models"]


def test_verify_names_altered_content_and_changed_inputs(tmp_path):
    files = []
    for size in (4, 6):
        out = tmp_path / f"L{size}.h5"
        run_rgpipe("mc", "--system", "ising", "--lattice", "square", "--L", str(size),
                   "--coupling", "0.40", "0.44", "--update", "wolff", "--sweeps", "200",
                   "--quiet", "--out", str(out))  # fmt: skip
        files.append(out)
    crit = tmp_path / "crit.h5"
    run_rgpipe("critical", "--method", "binder", "--inputs", *map(str, files), "--bootstrap",
               "5", "--out", str(crit))  # fmt: skip
    ok = run_rgpipe("inspect", "--verify", str(crit), *map(str, files))
    assert "verified" in ok.stdout
    with h5py.File(files[0], "r+") as fh:  # an estimate overwritten in place
        fh["estimates/binder/mean"][0] = 123.456
    bad = run_rgpipe("inspect", "--verify", str(crit), *map(str, files), check=False)
    assert bad.returncode == 1
    assert f"{files[0]}: content changed after it was written" in bad.stderr
    assert f"{crit}: input {files[0]} changed since it was read" in bad.stderr
    assert str(files[1]) not in bad.stderr  # the untouched input is not named
    with h5py.File(crit, "r+") as fh:  # provenance is volatile: not covered
        fh["provenance"].attrs["host"] = "elsewhere"
    files[0].unlink()
    gone = run_rgpipe("inspect", "--verify", str(crit), check=False)
    assert gone.returncode == 1 and f"input {files[0]} is missing" in gone.stderr
    assert "content changed" not in gone.stderr
