"""The command line as a user runs it: `python -m rgpipe mc ...` and `inspect`."""

import h5py
import numpy as np
import pytest
from util import assert_same_science, assert_z, datasets, max_error, mean_of, run_rgpipe

from rgpipe.physics.ising_exact import exact_thermo
from rgpipe.store import open_result

MC = [
    "mc",
    "--system",
    "ising",
    "--lattice",
    "lieb",
    "--L",
    "4",
    "--coupling",
    "0.8",
    "0.7",
    "--update",
    "sw",
    "--sweeps",
    "400",
    "--thermalization",
    "50",
    "--seed",
    "3",
]


def test_mc_writes_the_documented_layout(tmp_path):
    out = tmp_path / "a.h5"
    proc = run_rgpipe(*MC, "--configurations", "2", "--out", str(out))
    assert "rerun with: python -m rgpipe mc --system ising" in proc.stderr
    with open_result(out, stage="mc") as fh:
        np.testing.assert_array_equal(fh["parameters/coupling"][()], [0.7, 0.8])
        for name in ("energy", "abs_m", "m2", "m4", "binder", "specific_heat", "susceptibility"):
            for field in ("mean", "error_of_mean", "tau_int"):
                assert fh[f"estimates/{name}/{field}"].shape == (2,)
        assert fh["observables/energy"].shape == (2, 400)
        spins = fh["samples/spins"]
        assert spins.dtype == np.int8 and spins.shape == (2, 2, 3, 4, 4)
        assert spins.compression == "gzip" and spins.chunks == (1, 1, 3, 4, 4)
        assert fh.attrs["seed"] == 3 and fh.attrs["stage"] == "mc"
        assert "--system ising" in fh["provenance"].attrs["command"]


def test_single_coupling_stores_scalars(tmp_path):
    out = tmp_path / "s.h5"
    run_rgpipe(
        "mc",
        "--system",
        "ising",
        "--lattice",
        "square",
        "--L",
        "8",
        "--coupling",
        "0.44",
        "--update",
        "metropolis",
        "--sweeps",
        "2000",
        "--out",
        str(out),
    )
    with h5py.File(out) as fh:
        assert fh["estimates/energy/mean"].shape == ()
        series = fh["observables/energy"][()]
        assert series.shape == (2000,)
        mean, err = fh["estimates/energy/mean"][()], fh["estimates/energy/error_of_mean"][()]
    # the energy per spin against Kaufman's exact 8 x 8 value, with the stored error bar
    # bounded by an independent blocking estimate of the stored series
    exact = exact_thermo("square", 8, 0.44).energy  # -1.48753
    assert_z(mean, err, exact, max_error(mean_of, series), what="energy")


def test_same_seed_gives_identical_data(tmp_path):
    a, b, c = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.h5"
    run_rgpipe(*MC, "--out", str(a))
    run_rgpipe(*MC, "--out", str(b))
    run_rgpipe(*MC[:-1], "4", "--out", str(c))
    # every dataset and attribute outside /provenance (where the timings live) is equal
    assert_same_science(a, b)
    da, dc = datasets(a), datasets(c)
    assert not np.array_equal(da["observables/energy"], dc["observables/energy"])
    with h5py.File(a) as fa, h5py.File(b) as fb, h5py.File(c) as fc:
        assert fa.attrs["config_sha256"] == fb.attrs["config_sha256"]
        assert fa.attrs["content_sha256"] == fb.attrs["content_sha256"]
        assert fa.attrs["content_sha256"] != fc.attrs["content_sha256"]
        assert "seconds" in fa["provenance/timings"] and "seconds" not in fa["diagnostics"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--L", "1"], "'L': value 1"),
        (["--L", "7", "--update", "metropolis", "--lattice", "square"], "needs an even L"),
        (["--sweeps", "-3"], "'sweeps': value -3"),
        (["--coupling", "nan"], "'couplings[0]': value nan"),
        (["--coupling", "-0.2"], "'couplings[0]': value -0.2"),
        (["--update", "glauber"], "'update': value 'glauber'"),
    ],
)
def test_bad_options_fail_before_work(tmp_path, args, needle):
    out = tmp_path / "x.h5"
    base = {"--lattice": "lieb", "--L": "4", "--coupling": "0.5", "--update": "wolff"}
    i = 0
    while i < len(args):
        base[args[i]] = args[i + 1]
        i += 2
    flat = [x for kv in base.items() for x in kv]
    proc = run_rgpipe("mc", "--system", "ising", *flat, "--out", str(out), check=False)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert not out.exists() and not (tmp_path / "x.h5.tmp").exists()


def test_inspect_prints_estimates_and_fails_on_bad_file(tmp_path):
    out = tmp_path / "a.h5"
    run_rgpipe(*MC, "--out", str(out))
    proc = run_rgpipe("inspect", str(out))
    assert "config_sha256" in proc.stdout and "git_revision" in proc.stdout
    assert "binder, 2 points over coupling" in proc.stdout
    assert any(line.split()[:1] == ["0.7"] for line in proc.stdout.splitlines())
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all" * 100)
    proc = run_rgpipe("inspect", str(bad), check=False)
    assert proc.returncode == 1 and str(bad) in proc.stderr


def test_help_of_every_stage_renders():
    """--help lists every option (a '%' in a help text once made argparse crash)."""
    from rgpipe.cli import build_parser

    parser = build_parser()
    for args in (["mc"], ["train", "mlrg"], ["critical"], ["aggregate"], ["inspect"]):
        with pytest.raises(SystemExit) as info:
            parser.parse_args([*args, "--help"])
        assert info.value.code == 0
    text = run_rgpipe("train", "mlrg", "--help").stdout
    assert "--block" in text and "--representation" in text and "20% faster" in text


def test_launcher_rank_from_the_environment():
    from rgpipe.runtime import launcher_rank

    assert launcher_rank({}) == 0
    assert launcher_rank({"PMI_RANK": "1", "SLURM_PROCID": "0"}) == 1
    assert launcher_rank({"OMPI_COMM_WORLD_RANK": "3"}) == 3
    assert launcher_rank({"RANK": "2"}) == 2
    assert launcher_rank({"SLURM_PROCID": "0", "PMI_RANK": ""}) == 0
