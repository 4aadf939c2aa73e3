"""Read-only, rank-sharded reading of stored MC configurations (rgpipe.learn.data).

The files are made by the command line, as a user would, and compared with what h5py
reads from them whole; nothing here imports rgpipe.mc.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from util import run_rgpipe

from rgpipe.learn.data import SamplesError, iter_batches, read_samples, shard_bounds
from rgpipe.store import StoreError, create_result

COMMON = ("--sweeps", "200", "--thermalization", "100", "--seed", "1", "--quiet")
JOBS = {
    "ising": "--system ising --lattice square --L 4 --coupling 0.3 0.4 --update metropolis "
    "--configurations 10",
    "lieb": "--system ising --lattice lieb --L 2 --coupling 0.5 --update wolff --configurations 5",
    "xy": "--system xy --L 4 --coupling 0.9 1.1 --configurations 10",
    "phi4": "--system phi4 --L 4 --lam 1 --coupling 0.6 0.7 --configurations 10",
    "none": "--system ising --lattice square --L 4 --coupling 0.3 --update metropolis",
    "oscillator": "--system oscillator --beta 4 --n-tau 16 --lam 1 --eta 1",
}
"""One small MC job per file; ``none`` stores no configurations (the default)."""

# (file, coupling): every parameter point of the files that store configurations
POINTS = [
    ("ising", 0.3),
    ("ising", 0.4),
    ("lieb", None),
    ("lieb", 0.5),
    ("xy", 0.9),
    ("xy", 1.1),
    ("phi4", 0.6),
    ("phi4", 0.7),
]
# file -> (system, lattice, size, parameter, what, configuration shape, dtype, n_cfg)
FACTS = {
    "ising": ("ising", "square", 4, "coupling", "spins", (4, 4), np.int8, 10),
    "lieb": ("ising", "lieb", 2, "coupling", "spins", (3, 2, 2), np.int8, 5),
    "xy": ("xy", "square", 4, "coupling", "angles", (4, 4), np.float64, 10),
    "phi4": ("phi4", "square", 4, "beta", "phi", (4, 4), np.float64, 10),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Every file of JOBS, made once."""
    root = tmp_path_factory.mktemp("mc")
    out = {}
    for name, job in JOBS.items():
        out[name] = root / f"{name}.h5"
        run_rgpipe("mc", *job.split(), *COMMON, "--out", str(out[name]))
    return out


def stored(path: Path, coupling: float | None) -> tuple[np.ndarray, int | None]:
    """The configurations at ``coupling`` read whole with h5py, and the point's index."""
    with h5py.File(path, "r") as fh:
        par = fh["parameters"]
        values = par[par.attrs["parameter"]]
        (name,) = fh["samples"]
        ds = fh["samples"][name]
        if values.ndim == 0:
            assert coupling is None or coupling == values[()]
            return ds[()], None
        (point,) = np.flatnonzero(values[()] == coupling)
        return ds[point], int(point)


def fingerprint(directory: Path) -> dict[str, tuple[str, int]]:
    """name -> (sha256, mtime_ns) of every file in ``directory``."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(directory.iterdir())
    }


@pytest.mark.parametrize("size", [1, 2, 3, 7])
@pytest.mark.parametrize(("name", "coupling"), POINTS)
def test_shards_partition_the_stored_configurations(files, name, coupling, size):
    expected, _ = stored(files[name], coupling)
    shards = [read_samples(files[name], coupling=coupling, rank=r, size=size) for r in range(size)]
    indices = np.concatenate([s.indices for s in shards])
    assert np.array_equal(indices, np.arange(len(expected)))  # disjoint, in order, complete
    configurations = np.concatenate([s.configurations for s in shards])
    assert configurations.dtype == expected.dtype
    np.testing.assert_array_equal(configurations, expected)
    for rank, s in enumerate(shards):
        np.testing.assert_array_equal(s.configurations, expected[s.indices])
        assert (s.n_total, s.rank, s.n_ranks) == (len(expected), rank, size)
    counts = [len(s) for s in shards]
    assert max(counts) - min(counts) <= 1


def test_more_ranks_than_configurations_gives_empty_shards(files):
    shards = [read_samples(files["lieb"], rank=r, size=7) for r in range(7)]
    assert [len(s) for s in shards] == [1, 1, 1, 1, 1, 0, 0]
    for s in shards[5:]:
        assert s.configurations.shape == (0, 3, 2, 2)
        assert s.configurations.dtype == np.int8
        assert s.indices.shape == (0,)
        assert s.n_total == 5


@pytest.mark.parametrize(("name", "coupling"), POINTS)
def test_metadata_and_parameters_are_the_files(files, name, coupling):
    path = files[name]
    s = read_samples(str(path), coupling=coupling)
    system, lattice, size, parameter, what, shape, dtype, n_cfg = FACTS[name]
    assert (s.system, s.lattice, s.size, s.parameter, s.what) == (
        system,
        lattice,
        size,
        parameter,
        what,
    )
    assert s.shape == shape and s.configurations.dtype == dtype and s.n_total == n_cfg
    assert s.path == path
    _, point = stored(path, coupling)
    assert s.point == point
    with h5py.File(path, "r") as fh:
        par = fh["parameters"]
        values = par[parameter][()]
        assert s.coupling == (values if point is None else values[point])
        expected = {k: v for k, v in par.attrs.items() if k != "parameter"}
        for key, ds in par.items():
            if key != parameter:
                expected[key] = ds[()] if point is None else ds[point]
        smp = dict(fh["samples"].attrs)
    assert s.parameters.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(s.parameters[key], value, err_msg=key)
    assert s.layout == smp["layout"]
    assert s.sample_attrs.keys() == smp.keys()
    for key, value in smp.items():
        np.testing.assert_array_equal(s.sample_attrs[key], value, err_msg=key)


def test_phi4_parameters_follow_the_point(files):
    low, high = (read_samples(files["phi4"], coupling=b) for b in (0.6, 0.7))
    assert low.parameters["lam"] == high.parameters["lam"] == 1.0
    assert low.parameters["m0sq"] != high.parameters["m0sq"]
    assert (low.coupling, high.coupling) == (0.6, 0.7)
    assert low.sample_attrs["shape"].tolist() == [4, 4]


def test_coupling_matches_within_a_tight_relative_tolerance(files):
    s = read_samples(files["ising"], coupling=0.4 * (1 + 1e-12))
    assert s.coupling == 0.4 and s.point == 1
    with pytest.raises(SamplesError, match=r"0\.3, 0\.4"):
        read_samples(files["ising"], coupling=0.4 * (1 + 1e-6))


BAD = [
    ("none", {}, ["/samples", "set `configurations` > 0 in the MC ensemble"]),
    ("oscillator", {}, ["/samples", "oscillator", "stores no configurations"]),
    ("ising", {"coupling": 0.4, "what": "phi"}, ["/samples/phi", "['spins']"]),
    ("ising", {"coupling": 0.5}, ["/parameters/coupling", "coupling = 0.5", "[0.3, 0.4]"]),
    ("ising", {}, ["/parameters/coupling", "[0.3, 0.4]", "pass coupling="]),
    ("lieb", {"coupling": 0.6}, ["/parameters/coupling", "[0.5]"]),
    ("phi4", {"coupling": 0.3}, ["/parameters/beta", "beta = 0.3", "[0.6, 0.7]"]),
    ("ising", {"coupling": 0.4, "systems": ("xy", "phi4")}, ["'system'", "'ising'", "'xy'"]),
    ("phi4", {"coupling": 0.7, "systems": "ising"}, ["'system'", "'phi4'", "['ising']"]),
]


@pytest.mark.parametrize(("name", "kwargs", "words"), BAD)
def test_bad_requests_name_the_file_and_the_key(files, name, kwargs, words):
    with pytest.raises(SamplesError) as info:
        read_samples(files[name], **kwargs)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert message.startswith(f"{files[name]}: ")
    for word in words:
        assert word in message


def test_truncated_copy_is_a_store_error_naming_it(files, tmp_path):
    copy = tmp_path / "truncated.h5"
    data = files["ising"].read_bytes()
    copy.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match=re.escape(str(copy))):
        read_samples(copy, coupling=0.3)


def test_foreign_missing_and_non_mc_files_are_store_errors(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as fh:
        fh.create_dataset("samples/spins", data=np.ones((3, 4, 4), dtype=np.int8))
    with pytest.raises(StoreError, match=re.escape(f"{foreign}: not an rgpipe result")):
        read_samples(foreign)
    trained = tmp_path / "train.h5"
    with create_result(trained, stage="train", config={}, seed=0) as fh:
        fh.create_dataset("samples/spins", data=np.ones((3, 4, 4), dtype=np.int8))
    with pytest.raises(StoreError, match=re.escape(f"{trained}: written by stage 'train'")):
        read_samples(trained)
    with pytest.raises(StoreError, match=re.escape(f"{tmp_path / 'nope.h5'}: no such file")):
        read_samples(tmp_path / "nope.h5")


@pytest.mark.parametrize("configuration", [0, 5, 9])
def test_each_rank_reads_only_its_block(files, tmp_path, configuration):
    """Corrupt the chunk of one configuration: only the rank owning it notices."""
    copy = tmp_path / "corrupt.h5"
    shutil.copy(files["ising"], copy)
    with h5py.File(copy, "r") as fh:
        chunk = fh["samples/spins"].id.get_chunk_info_by_coord((1, configuration, 0, 0))
    with open(copy, "r+b") as raw:
        raw.seek(chunk.byte_offset)
        raw.write(b"\xff" * chunk.size)
    owner = next(r for r in range(3) if configuration in range(*shard_bounds(10, r, 3)))
    for rank in range(3):
        if rank == owner:
            with pytest.raises(StoreError, match=re.escape(f"{copy}: cannot read /samples/spins")):
                read_samples(copy, coupling=0.4, rank=rank, size=3)
        else:
            s = read_samples(copy, coupling=0.4, rank=rank, size=3)
            np.testing.assert_array_equal(
                s.configurations, stored(files["ising"], 0.4)[0][s.indices]
            )
    assert len(read_samples(copy, coupling=0.3).configurations) == 10  # the other point


def test_files_are_only_read(files):
    directory = files["ising"].parent
    before = fingerprint(directory)
    for name, coupling in POINTS:
        for rank in range(3):
            read_samples(files[name], coupling=coupling, rank=rank, size=3)
    for name, kwargs, _ in BAD:
        with pytest.raises(SamplesError):
            read_samples(files[name], **kwargs)
    assert fingerprint(directory) == before


def test_bad_rank_or_size_fails_before_opening(tmp_path):
    missing = tmp_path / "missing.h5"
    for rank, size in [(-1, 2), (2, 2), (0, 0)]:
        with pytest.raises(ValueError, match=r"(rank|size) must be") as info:
            read_samples(missing, rank=rank, size=size)
        assert not isinstance(info.value, StoreError)


def test_shard_bounds_split_evenly():
    for n in range(12):
        for size in range(1, 14):
            blocks = [shard_bounds(n, r, size) for r in range(size)]
            assert [i for a, b in blocks for i in range(a, b)] == list(range(n))
            counts = [b - a for a, b in blocks]
            assert max(counts) - min(counts) <= 1
            assert counts == sorted(counts, reverse=True)
    assert shard_bounds(10, 1, 3) == (4, 7)
    with pytest.raises(ValueError):
        shard_bounds(-1, 0, 1)


def test_iter_batches_visits_every_configuration_once(files):
    s = read_samples(files["xy"], coupling=0.9, rank=1, size=2)  # indices 5..9
    whole, _ = stored(files["xy"], 0.9)
    batches = list(iter_batches(s, 2, np.random.default_rng(3)))
    assert [len(i) for _, i in batches] == [2, 2, 1]
    seen = np.concatenate([i for _, i in batches])
    assert sorted(seen) == list(range(5, 10))
    for configurations, indices in batches:
        np.testing.assert_array_equal(configurations, whole[indices])
    dropped = list(iter_batches(s, 2, np.random.default_rng(3), drop_last=True))
    assert [len(i) for _, i in dropped] == [2, 2]
    again = np.concatenate([i for _, i in iter_batches(s, 2, np.random.default_rng(3))])
    other = np.concatenate([i for _, i in iter_batches(s, 2, np.random.default_rng(4))])
    assert np.array_equal(again, seen) and not np.array_equal(other, seen)
    with pytest.raises(ValueError, match="batch"):
        next(iter_batches(s, 0, np.random.default_rng(0)))


def test_iter_batches_of_an_empty_shard_is_empty(files):
    s = read_samples(files["lieb"], rank=6, size=7)
    assert list(iter_batches(s, 4, np.random.default_rng(0))) == []
