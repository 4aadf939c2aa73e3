"""The aggregate stage on Monte Carlo files: every estimate with exact values checked against
them (chi^2, p, max |pull|, verdict) against a hand computation on synthetic files, real
small files of every system with exact values, the tables of the summary file, the report
section, MC files outside the bias groups; and damaged inputs (a flipped compressed chunk,
a dataset whose storage is gone) becoming unreadable records instead of a traceback."""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from test_aggregate import write_critical
from util import run_rgpipe

from rgpipe.analysis import aggregate_stage
from rgpipe.analysis.aggregate import aggregate
from rgpipe.analysis.collect import collect
from rgpipe.analysis.reader import read_file
from rgpipe.analysis.records import UNREADABLE
from rgpipe.analysis.report import NUMERIC
from rgpipe.analysis.tables import summary_rows
from rgpipe.analysis.validation import FLAG_P, pull_stats
from rgpipe.analysis.validation_section import CHECK_HEADER, SYSTEM_HEADER, TITLE
from rgpipe.mc.output import MCResult, Status, write_mc
from rgpipe.mc.reference import Reference
from rgpipe.mc.systems import run, validate_job
from rgpipe.stats import Stats
from rgpipe.store import create_result, open_result

SYNTHETIC = {"system": "synthetic", "lattice": "chain"}
"""The job of the synthetic files: their system is ``synthetic/chain``."""


def _stats(mean, error) -> Stats:
    mean = np.asarray(mean, dtype=np.float64)
    error = np.broadcast_to(np.asarray(error, dtype=np.float64), mean.shape)
    return Stats(mean, error, np.full(mean.shape, 1.0), np.full(mean.shape, 0.5))


def write_sweep(path: Path, couplings, mean, error, exact, status=None) -> Path:
    """A synthetic coupling sweep with one estimate ``energy`` and its exact values."""
    result = MCResult(
        "coupling",
        np.asarray(couplings, dtype=np.float64),
        estimates={"energy": _stats(mean, error)},
        meta={"energy": ("J", "synthetic energy")},
        references={"energy": Reference(np.asarray(exact, dtype=np.float64), "by hand")},
    )
    if status is not None:
        result.status["energy"] = Status(
            np.asarray(status, dtype=np.int8), ("ok", "error not estimable: by construction")
        )
    write_mc(path, result, job=SYNTHETIC, seed=1)
    return path


def write_time_series(path: Path) -> Path:
    """A single point a = 0.2 with an array estimate along tau, a scalar far off its exact
    value and an estimate with a literature value only."""
    tau = np.array([0.0, 0.5, 1.0])
    result = MCResult(
        "a",
        np.array([0.2]),
        estimates={
            "correlator": _stats([[1.0, 0.5, 0.25]], 0.01),
            "x2": _stats([1.5], 0.01),
            "gap": _stats([0.9], 0.1),
        },
        axes={"tau": tau},
        references={
            "correlator": Reference(np.array([[1.0, 0.52, 0.25]]), "by hand"),
            "x2": Reference(np.array([1.0]), "by hand"),
            "gap": Reference(np.array([1.0]), "a paper", kind="literature"),
        },
    )
    write_mc(path, result, job=SYNTHETIC, seed=2)
    return path


def chi2_sf_odd(x: float, dof: int) -> float:
    """P(chi^2_dof > x) for odd dof in closed form:
    erfc(sqrt(x/2)) + sqrt(2x/pi) e^(-x/2) (1 + x/3 + x^2/15 + ...)."""
    series = sum(x**k / math.prod(range(3, 2 * k + 2, 2)) for k in range(1, (dof - 1) // 2))
    return math.erfc(math.sqrt(x / 2)) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2) * (
        1 + series
    )


def two_sided(z: float) -> float:
    """P(|Z| > z) for a standard normal Z."""
    return math.erfc(z / math.sqrt(2))


# ---------------------------------------------------------------------------------------------
# the statistics against a hand computation


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("synthetic")
    return {
        # pulls +1, -0.5, -3 at 0.3, 0.4, 0.5; 0.6 has status 1 (NaN error), 0.7 no exact
        "a": write_sweep(
            d / "a.h5",
            [0.3, 0.4, 0.5, 0.6, 0.7],
            [1.1, 2.0, 2.7, 4.0, 5.0],
            [0.1, 0.2, 0.1, np.nan, 0.1],
            [1.0, 2.1, 3.0, 3.0, np.nan],
            status=[0, 0, 0, 1, 0],
        ),
        # pulls 0 and +2
        "b": write_sweep(d / "b.h5", [0.3, 0.4], [1.0, 2.3], [0.1, 0.1], [1.0, 2.1]),
        "c": write_time_series(d / "c.h5"),
    }


def test_chi2_closed_form_agrees_with_known_values():
    """The hand formula itself: chi^2_3 at 7.815 and chi^2_5 at 11.07 are the 5% points."""
    assert chi2_sf_odd(7.814728, 3) == pytest.approx(0.05, rel=1e-6)
    assert chi2_sf_odd(11.070498, 5) == pytest.approx(0.05, rel=1e-6)


def test_validation_statistics_match_hand_computation(synthetic):
    files = collect([str(p) for p in synthetic.values()], progress=False)
    assert [f.status for f in files] == ["ok"] * 3 and not any(f.records for f in files)
    summary = aggregate(files, n_boot=100, seed=1)
    assert not summary.groups  # validation only: no group, no record
    checks = {(Path(c.comparison.path).stem, c.comparison.estimate): c for c in summary.checks}
    assert set(checks) == {("a", "energy"), ("b", "energy"), ("c", "correlator"), ("c", "x2")}

    a = checks["a", "energy"]
    s = a.stats
    assert (s.n_points, s.n_exact, s.dof) == (5, 4, 3)
    assert s.chi2 == pytest.approx(1 + 0.25 + 9, rel=1e-12)
    assert s.p == pytest.approx(chi2_sf_odd(10.25, 3), rel=1e-9)
    assert s.mean_pull == pytest.approx((1 - 0.5 - 3) / 3, rel=1e-12)
    assert s.max_abs_pull == pytest.approx(3.0, rel=1e-12)
    assert a.worst_label == "coupling=0.5"
    assert s.p_max == pytest.approx(3 * two_sided(3.0), rel=1e-9)
    assert not s.correlated and s.verdict == "pass"  # p = 0.017, p_max = 0.0081
    assert a.comparison.excluded() == {"error not estimable: by construction": 1}
    assert a.comparison.points_text() == "coupling 0.3 ... 0.5 (3 points)"

    b = checks["b", "energy"].stats
    assert (b.chi2, b.dof) == (pytest.approx(4.0), 2)
    assert b.p == pytest.approx(math.exp(-2.0), rel=1e-9)  # chi^2 with 2 dof

    corr = checks["c", "correlator"]
    s = corr.stats
    assert (s.dof, s.chi2) == (3, pytest.approx(4.0, rel=1e-9))
    assert s.correlated and math.isnan(s.p)  # three points of one chain along tau
    assert s.p_max == pytest.approx(3 * two_sided(2.0), rel=1e-9)
    assert corr.worst_label == "a=0.2, tau=0.5" and s.verdict == "pass"

    x2 = checks["c", "x2"].stats  # pull 50: fails both ways
    assert x2.max_abs_pull == pytest.approx(50.0, rel=1e-9) and x2.verdict == "fail"
    assert x2.p < FLAG_P and x2.p_max < FLAG_P
    # chi^2_1 and 2 P(Z > 50) underflow to 0: said as such, not as "p = 0"
    assert x2.reason == "chi2 p < 1e-300; max |pull| 50.00: p_max < 1e-300"
    assert "literature references not compared: gap" in files[2].message

    rollups = {(r.system, r.estimate): r for r in summary.rollups}
    energy = rollups["synthetic/chain", "energy"]
    assert [Path(summary.checks[i].comparison.path).stem for i in energy.checks] == ["a", "b"]
    s = energy.stats
    assert (s.dof, s.n_exact) == (5, 6)
    assert s.chi2 == pytest.approx(14.25, rel=1e-12)
    assert s.p == pytest.approx(chi2_sf_odd(14.25, 5), rel=1e-9)
    assert s.p_max == pytest.approx(5 * two_sided(3.0), rel=1e-9)
    assert (Path(energy.worst_path).stem, energy.worst_label) == ("a", "coupling=0.5")
    assert rollups["synthetic/chain", "x2"].stats.verdict == "fail"


def test_the_verdict_can_fail_on_either_test():
    """chi^2 alone (many moderate pulls) or max |pull| alone (one outlier among many small
    ones) fails a check; nothing compared is no verdict."""
    many = np.full(50, 1.6)  # chi2 = 128 on 50 dof, max |pull| 1.6
    s = pull_stats(many, 50, correlated=False)
    assert s.verdict == "fail" and s.p < FLAG_P and s.p_max == 1.0
    outlier = np.r_[np.zeros(99), 5.0]  # chi2 = 25 on 100 dof; 100 P(|Z| > 5) = 5.7e-5
    s = pull_stats(outlier, 100, correlated=False)
    assert s.verdict == "fail" and s.p > 0.99 and s.p_max < FLAG_P
    assert s.reason == f"max |pull| 5.00: p_max = {100 * two_sided(5.0):.2g} < 0.001"
    s = pull_stats(many, 50, correlated=True)  # the same pulls along one chain: no chi2 test
    assert s.verdict == "pass" and math.isnan(s.p)
    s = pull_stats(np.full(3, np.nan), 2, correlated=False)
    assert (s.dof, s.verdict, s.worst) == (0, "none", -1) and math.isnan(s.chi2)


# ---------------------------------------------------------------------------------------------
# real files of every system with exact values

REAL_JOBS = {
    "ising/lieb/L~2": dict(system="ising", lattice="lieb", L=2, couplings=[0.5, 0.7],
                           update="wolff", sweeps=2000, seed=1),
    "xy/square/L~2": dict(system="xy", lattice="square", L=2, couplings=[1.0], sweeps=2000,
                          seed=2),
    "phi4/gauss/L~4": dict(system="phi4", L=4, betas=[0.2, 0.4], lam=0.0, sweeps=2000, seed=3),
    "oscillator/harmonic/N~16": dict(system="oscillator", potential="harmonic", omega=1.0,
                                     beta=4.0, n_tau=16, sweeps=2000, thermalization=200,
                                     seed=4),
}  # fmt: skip
"""Small jobs whose files carry exact values (besides the Ising L = 4 file of the CLI)."""


def _real_files(mc: Path) -> list[Path]:
    """The Ising L = 4 enumeration file written by the command line, and one file of every
    other system with exact values, under ``mc/<system>/<ensemble>/<size>/seed~N.h5``."""
    ising = mc / "ising/square/L~4/seed~0.h5"
    ising.parent.mkdir(parents=True)
    run_rgpipe("mc", "--system", "ising", "--lattice", "square", "--L", "4", "--coupling",
               "0.3", "0.4", "--update", "wolff", "--sweeps", "2000", "--quiet", "--out",
               str(ising))  # fmt: skip
    out = [ising]
    for where, job in REAL_JOBS.items():
        job = validate_job(job)
        path = mc / where / f"seed~{job['seed']}.h5"
        write_mc(path, run(job, progress=False), job=job, seed=job["seed"])
        out.append(path)
    return out


def flip_bytes(path: Path, dataset: str) -> None:
    """Invert bytes in the middle of ``dataset``'s storage (its first chunk if chunked)."""
    with h5py.File(path) as fh:
        ds = fh[dataset]
        if ds.chunks:
            info = ds.id.get_chunk_info(0)
            offset, size = info.byte_offset, info.size
        else:
            offset, size = ds.id.get_offset(), ds.id.get_storage_size()
    with open(path, "r+b") as raw:
        raw.seek(offset + size // 4)
        data = raw.read(max(1, size // 2))
        raw.seek(offset + size // 4)
        raw.write(bytes(b ^ 0xFF for b in data))


def write_training(path: Path) -> Path:
    """A training file of an unregistered family with one estimate and gzip-compressed
    per-model weights."""
    with create_result(path, stage="train_toy", config={"lr": 0.1}, seed=5) as fh:
        fh.attrs.update({"system": "ising", "lattice": "square"})
        est = fh.create_group("estimates/K_c")
        est.create_dataset("mean", data=0.44)
        est.create_dataset("error_of_mean", data=0.01)
        est.attrs.update({"method": "toy", "exact": 0.4406868})
        fh.create_dataset("weights", data=np.linspace(0, 1, 4000).reshape(4, 1000),
                          chunks=(1, 1000), compression="gzip")  # fmt: skip
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory, synthetic) -> dict[str, object]:
    """results/ with critical files, a training file, the real and synthetic MC files, and
    damaged copies: an MC file with a flipped compressed chunk, a training file with a
    flipped compressed chunk, a critical file whose dataset's storage is gone."""
    root = tmp_path_factory.mktemp("validation") / "results"
    crit = root / "critical" / "ising" / "square"
    for seed, v in ((1, 0.441), (2, 0.443)):
        write_critical(crit / f"seed~{seed}.h5", value=v, error=0.001, seed=seed, curves=True)
    real = _real_files(root / "mc")
    for name, path in synthetic.items():
        (root / "mc" / "synthetic").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / "mc" / "synthetic" / f"{name}.h5")
    good = write_training(root / "train" / "toy" / "seed~5.h5")
    damaged = {
        "mc": root / "mc" / "ising" / "square" / "L~4" / "seed~9.h5",
        "train": root / "train" / "toy" / "seed~6.h5",
        "critical": crit / "seed~3.h5",
    }
    shutil.copy(real[0], damaged["mc"])
    flip_bytes(damaged["mc"], "observables/energy")
    shutil.copy(good, damaged["train"])
    flip_bytes(damaged["train"], "weights")
    write_critical(damaged["critical"], value=0.442, error=0.001, seed=3)
    raw = damaged["critical"].with_suffix(".raw")
    raw.write_bytes(np.arange(64, dtype=np.float64).tobytes())
    with h5py.File(damaged["critical"], "a") as fh:  # data kept in a file of its own
        fh.create_dataset(
            "curves_raw", shape=(64,), dtype=np.float64, external=[(str(raw), 0, 512)]
        )
    raw.unlink()
    originals = (real[0], good, crit / "seed~1.h5")
    return {"root": root, "real": real, "damaged": damaged, "originals": originals}


def _from_file(path: Path) -> dict[str, tuple[int, int]]:
    """estimate -> (points with a finite exact value, points comparable) read here with
    h5py: finite mean, error > 0, finite exact value."""
    out = {}
    with h5py.File(path) as fh:
        for name, g in fh["estimates"].items():
            if "exact" not in g or g["exact"].attrs["reference_kind"] != "exact":
                continue
            exact = np.atleast_1d(g["exact"][()])
            mean = np.atleast_1d(g["mean"][()])
            err = np.broadcast_to(np.atleast_1d(g["error_of_mean"][()]), mean.shape)
            finite = np.isfinite(exact)
            if finite.any():
                with np.errstate(invalid="ignore"):
                    ok = finite & np.isfinite(mean) & np.isfinite(err) & (err > 0)
                out[name] = (int(finite.sum()), int(ok.sum()))
    return out


def test_real_files_of_every_system_agree_with_their_exact_values(study):
    """Every estimate with exact values of every real file is a check, over the points
    its file makes comparable, and all agree: p (or, along tau, p_max) well above the flag
    (fixed seeds); the Ising L = 4 enumeration compares all eight estimates."""
    files = collect([str(p) for p in study["real"]], progress=False)
    summary = aggregate(files, n_boot=100, seed=1)
    for path in study["real"]:
        mine = {
            c.comparison.estimate: (c.stats.n_exact, c.stats.dof)
            for c in summary.checks
            if c.comparison.path == str(path)
        }
        assert mine == _from_file(path), path
    ising = [c for c in summary.checks if c.comparison.system == "ising/square"]
    assert len(ising) == 8 and all(c.stats.dof == 2 for c in ising)
    systems = {c.comparison.system for c in summary.checks}
    assert systems == {"ising/square", "ising/lieb", "xy/square", "phi4", "oscillator"}
    for c in summary.checks:
        s = c.stats
        assert s.verdict == "pass", (c.comparison.path, c.comparison.estimate, s)
        assert s.p_max > 0.01 and (s.correlated or s.p > 0.01), (c.comparison.estimate, s)
        assert s.chi2 / s.dof < 4
    corr = next(c for c in summary.checks if c.comparison.estimate == "correlator")
    assert corr.stats.correlated and corr.comparison.axis == "tau"


# ---------------------------------------------------------------------------------------------
# damaged inputs


@pytest.mark.parametrize(
    "kind,named",
    [
        ("mc", "dataset /observables/energy"),
        ("train", "dataset /weights"),
        ("critical", "dataset /curves_raw"),
    ],
)
def test_a_damaged_input_is_an_unreadable_record(study, kind, named):
    path = study["damaged"][kind]
    with open_result(path):  # the metadata is whole: the file opens
        pass
    f = read_file(str(path))
    assert f.status == "unreadable" and not f.comparisons
    assert f.message.startswith(f"{path}: cannot be read: {named}: ")
    ((rec,),) = [f.records]
    assert (rec.system, rec.method, rec.estimate) == UNREADABLE
    assert rec.status == "unreadable" and rec.message == f.message


def test_the_undamaged_originals_read(study):
    """The damage, not the layout, makes the files above unreadable."""
    mc, train, crit = (read_file(str(p)) for p in study["originals"])
    assert (mc.status, train.status, crit.status) == ("ok", "ok", "ok")
    assert len(mc.comparisons) == 8 and not mc.records
    assert [r.estimate for r in train.records] == ["K_c"] and train.records[0].ok
    assert [r.estimate for r in crit.records] == ["K_c"] and "binder" in crit.curves


# ---------------------------------------------------------------------------------------------
# the stage: summary file, report


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rgpipe aggregate")
    aggregate_stage.add_arguments(p)
    return p


@pytest.fixture(scope="module")
def stage_run(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    args = parser().parse_args(
        [
            "--root", str(study["root"]), "--out", str(out / "summary.h5"), "--csv",
            str(out / "summary.csv"), "--plots", str(out / "report"), "--report",
            str(out / "report" / "index.html"), "--bootstrap", "200", "--seed", "3", "--quiet",
        ]
    )  # fmt: skip
    assert aggregate_stage.run(args) == 0
    return out


def test_root_finds_the_mc_files(study):
    found = aggregate_stage.find_inputs(study["root"])
    mc = sorted(str(p) for p in (study["root"] / "mc").rglob("*.h5"))
    assert sorted(p for p in found if "/mc/" in p) == mc and len(mc) == 9


def test_mc_files_enter_no_group(study, stage_run):
    """The summary table with the MC files equals the one without them (but the damaged MC
    file, counted among the unreadable files like any other)."""
    paths = aggregate_stage.find_inputs(study["root"])
    mc = {p for p in paths if "/mc/" in p}
    with_mc = aggregate(collect(paths, progress=False), n_boot=200, seed=3)
    without = aggregate(
        collect([p for p in paths if p not in mc], progress=False), n_boot=200, seed=3
    )
    damaged = str(study["damaged"]["mc"])
    for g in with_mc.groups:
        paths_of = {with_mc.records[i].path for i in g.records}
        if (g.system, g.method, g.estimate) == UNREADABLE:
            assert paths_of & mc == {damaged}
        else:
            assert not paths_of & mc, g.title
    rows = {r["group"]: r for r in summary_rows(with_mc)}
    for row in summary_rows(without):
        if row["system"] == UNREADABLE[0]:
            continue
        other = rows[row["group"]]
        assert json.dumps(other, default=str) == json.dumps(row, default=str)
    with h5py.File(stage_run / "summary.h5") as fh:
        s = fh["summary"]
        assert not any(p in f for f in s["files"].asstr()[()] for p in mc - {damaged})
        assert fh.attrs["n_unreadable"] == 3 and fh.attrs["n_mc_files"] == 8


def test_summary_file_holds_the_validation_tables(study, stage_run):
    with h5py.File(stage_run / "summary.h5") as fh:
        v, vs, vp = fh["validation"], fh["validation_systems"], fh["validation_points"]
        for table in (v, vs, vp):
            assert all(table[c].attrs["description"] for c in table.attrs["columns"])
        n = v.attrs["rows"]
        expected = sum(len(_from_file(p)) for p in study["real"]) + 4  # + a, b, c (2)
        assert fh.attrs["n_checks"] == n == expected
        assert fh.attrs["n_checks_failed"] == 1
        est = v["estimate"].asstr()[()]
        path = v["path"].asstr()[()]
        i = next(k for k in range(n) if path[k].endswith("synthetic/a.h5"))
        assert est[i] == "energy" and v["dof"][i] == 3 and v["n_excluded"][i] == 1
        assert v["chi2"][i] == pytest.approx(10.25)
        assert v["p"][i] == pytest.approx(chi2_sf_odd(10.25, 3))
        assert v["worst_point"].asstr()[i] == "coupling=0.5"
        assert v["excluded"].asstr()[i] == "1 x error not estimable: by construction"
        files = fh["files"]["path"].asstr()[()]
        assert files[v["file"][i]] == path[i]
        fail = [k for k in range(n) if v["verdict"].asstr()[k] == "fail"]
        assert [(Path(path[k]).name, est[k]) for k in fail] == [("c.h5", "x2")]
        # the per-point table gives back every check's chi2
        check = vp["check"][()]
        pull = vp["pull"][()]
        for k in range(n):
            assert np.nansum(pull[check == k] ** 2) == pytest.approx(v["chi2"][k], rel=1e-12)
            assert int(vp["compared"][()][check == k].sum()) == v["dof"][k]
        sysrow = list(zip(vs["system"].asstr()[()], vs["estimate"].asstr()[()], strict=True))
        r = sysrow.index(("synthetic/chain", "energy"))
        assert vs["dof"][r] == 5 and vs["chi2"][r] == pytest.approx(14.25)
        assert vs["n_files"][r] == 2 and vs["checks"].asstr()[r] == ";".join(
            str(k) for k in range(n) if (path[k].endswith(("a.h5", "b.h5")))
        )


class _Section:
    """Tables (header, row ids, cells) and figures between the validation heading and the
    next h2, from the report's HTML."""

    def __init__(self, text: str):
        from html.parser import HTMLParser

        start = text.index('<h2 id="validation">')
        end = text.index("<h2>", start + 1)
        self.html = text[start:end]
        self.tables: list[dict] = []
        self.figures: list[str] = []
        section = self

        class P(HTMLParser):
            cell = None

            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if tag == "table":
                    section.tables.append({"header": [], "ids": [], "rows": []})
                elif tag == "tr" and "id" in a:
                    section.tables[-1]["ids"].append(a["id"])
                    section.tables[-1]["rows"].append([])
                elif tag in ("th", "td"):
                    self.cell = [tag, "", a.get("class", "")]
                elif tag == "figure":
                    section.figures.append(a.get("class", ""))

            def handle_data(self, data):
                if self.cell is not None:
                    self.cell[1] += data

            def handle_endtag(self, tag):
                if tag in ("th", "td") and self.cell is not None:
                    t = section.tables[-1]
                    if self.cell[0] == "th":
                        t["header"].append(self.cell[1])
                    else:
                        t["rows"][-1].append((self.cell[1], self.cell[2]))
                    self.cell = None

        P().feed(self.html)


def test_report_shows_the_validation_section(stage_run):
    x2_reason = "chi2 p < 1e-300; max |pull| 50.00: p_max < 1e-300"
    text = (stage_run / "report" / "index.html").read_text()
    sec = _Section(text)
    assert f">{TITLE}</h2>" in sec.html
    assert text.index('<h2 id="validation">') < text.index("<h2>Figures</h2>")
    systems, checks = sec.tables
    assert systems["header"] == SYSTEM_HEADER and checks["header"] == CHECK_HEADER
    assert SYSTEM_HEADER[:3] == CHECK_HEADER[:3] == ["#", "system", "estimate"]
    with h5py.File(stage_run / "summary.h5") as fh:
        n_checks, n_systems = fh["validation"].attrs["rows"], fh["validation_systems"].attrs["rows"]
    assert systems["ids"] == [f"validation-system-{k}" for k in range(n_systems)]
    assert checks["ids"] == [f"validation-{k}" for k in range(n_checks)]
    assert sec.figures == ["pulls"]  # the pull figure here, not among the figures
    assert 'class="pulls"' not in text[text.index("<h2>Figures</h2>") :]
    assert sec.html.count('<div class="wide"><table>') == 2
    failed = [row for row in checks["rows"] if row[-1][0].startswith("FAIL")]
    assert len(failed) == 1 and failed[0][2][0] == "x2" and failed[0][-1][1] == "fail"
    assert failed[0][-1][0] == f"FAIL: {x2_reason}"
    assert failed[0][CHECK_HEADER.index("p")][0] == "< 1e-300"
    row = next(r for r in checks["rows"] if r[3][0] == "mc/synthetic/a.h5")
    cells = dict(zip(CHECK_HEADER, [c for c, _ in row], strict=True))
    assert cells["chi2/dof"] == "10.25/3 = 3.42" and cells["max |pull|"] == "3.00"
    assert cells["at"] == "coupling=0.5" and cells["excluded"] == "1: 1 error not estimable"
    assert cells["p"] == f"{chi2_sf_odd(10.25, 3):.2g}" and cells["verdict"] == "pass"
    corr = next(r for r in checks["rows"] if r[2][0] == "correlator" and "synthetic" in r[3][0])
    assert corr[CHECK_HEADER.index("p")][0] == "- (correlated)"
    assert {"chi2/dof", "p", "max |pull|"} <= NUMERIC
    assert (stage_run / "report" / "pulls.png").stat().st_size > 10_000
    md = (stage_run / "report" / "index.md").read_text()
    header = " | ".join(h.replace("|", "\\|") for h in CHECK_HEADER)  # | escaped in cells
    assert f"## {TITLE}" in md and f"| {header} |" in md
    assert "![Monte Carlo against exact values: pulls](pulls.png)" in md


def test_only_mc_files_still_give_a_summary(study, tmp_path):
    """An aggregate of Monte Carlo files alone writes the validation and an empty summary."""
    real = study["real"]
    args = parser().parse_args(
        ["--inputs", *map(str, real), "--out", str(tmp_path / "s.h5"), "--csv",
         str(tmp_path / "s.csv"), "--plots", str(tmp_path / "r"), "--report",
         str(tmp_path / "r" / "index.html"), "--quiet"]
    )  # fmt: skip
    assert aggregate_stage.run(args) == 0
    with h5py.File(tmp_path / "s.h5") as fh:
        assert fh.attrs["n_groups"] == 0 and fh["summary"].attrs["rows"] == 0
        assert fh.attrs["n_checks"] == fh["validation"].attrs["rows"] > 30
