"""The aggregate stage: statistics against hand-computed values on synthetic result files,
grouping by swept hyper-parameters, failed runs counted, summary/CSV layout, plots, report."""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import h5py
import numpy as np
import pytest

from rgpipe.analysis import aggregate_stage
from rgpipe.analysis.aggregate import aggregate
from rgpipe.analysis.collect import collect
from rgpipe.analysis.group_stats import bootstrap_ci, group_statistics
from rgpipe.analysis.grouping import short_names, swept_keys
from rgpipe.analysis.reader import read_file
from rgpipe.analysis.records import UNREADABLE
from rgpipe.store import create_result, file_sha256, open_result

EXACT = 0.44
J_C = 0.7642854597404991


def write_critical(
    path: Path,
    *,
    value: float,
    error: float,
    seed: int,
    update: str = "wolff",
    converged: bool | None = None,
    curves: bool = False,
) -> Path:
    """A critical-point file of the Ising square lattice with one K_c estimate."""
    config = {
        "method": "binder",
        "bootstrap": 200,
        "seed": seed,
        "system": "ising",
        "lattice": "square",
        "sizes": [8, 16],
        "update": update,
    }
    with create_result(path, stage="critical", config=config, seed=seed) as fh:
        fh.attrs.update({"system": "ising", "lattice": "square"})
        est = fh.create_group("estimates/K_c")
        est.create_dataset("mean", data=value)
        est.create_dataset("error_of_mean", data=error)
        est.attrs.update(
            {
                "method": "binder_crossing",
                "exact": EXACT,
                "reference": "synthetic",
                "units": "1",
                "converged": bool(np.isfinite(value)) if converged is None else converged,
            }
        )
        if curves:
            k = np.linspace(0.40, 0.48, 41)
            sizes = np.array([8, 16])
            u = np.array([0.6 + 0.05 * np.tanh(L * (k - value)) for L in sizes])
            cv = fh.create_group("curves")
            cv.create_dataset("coupling", data=k)
            cv.create_dataset("sizes", data=sizes)
            cv.create_dataset("binder", data=u)
            cv.create_dataset("binder_error", data=np.full_like(u, 0.002))
            cr = fh.create_group("crossings")
            cr.create_dataset("pairs", data=np.array([[8, 16]]))
            cr.create_dataset("estimate", data=np.array([value]))
            cr.create_dataset("error", data=np.array([error]))
    return path


def write_xy(path: Path) -> Path:
    config = {"method": "helicity", "seed": 1, "system": "xy", "lattice": "square"}
    with create_result(path, stage="critical", config=config, seed=1) as fh:
        fh.attrs.update({"system": "xy", "lattice": "square"})
        est = fh.create_group("estimates/T_BKT")
        est.create_dataset("mean", data=0.891)
        est.create_dataset("error_of_mean", data=0.002)
        est.attrs.update({"method": "helicity_weber_minnhagen", "exact": 0.89294})
        t = np.tile(np.linspace(0.84, 0.94, 6), (2, 1))
        cv = fh.create_group("curves")
        cv.create_dataset("sizes", data=np.array([8, 16]))
        cv.create_dataset("temperature", data=t)
        cv.create_dataset(
            "helicity", data=np.array([0.7 - 0.8 * (t[0] - 0.84), 0.69 - t[1] + 0.84])
        )
        cv.create_dataset("helicity_error", data=np.full_like(t, 0.003))
    return path


def write_oscillator(path: Path) -> Path:
    config = {"method": "continuum", "seed": 1, "system": "oscillator", "powers": [0, 2]}
    a = np.array([0.2, 0.1, 0.05])
    with create_result(path, stage="critical", config=config, seed=1) as fh:
        fh.attrs["system"] = "oscillator"
        pts = fh.create_group("points")
        pts.create_dataset("a", data=a)
        pts.create_dataset("energy", data=0.5 - 0.2 * a**2)
        pts.create_dataset("energy_error", data=np.full(3, 0.001))
        pts.create_dataset("gap", data=1.0 + 0.3 * a**2)
        pts.create_dataset("gap_error", data=np.full(3, 0.002))
        for name, value, exact in (("E0", 0.5004, 0.5), ("gap", 0.9990, 1.0)):
            est = fh.create_group(f"estimates/{name}")
            est.create_dataset("mean", data=value)
            est.create_dataset("error_of_mean", data=0.001)
            est.attrs.update({"method": "continuum_extrapolation", "exact": exact})
    return path


def write_mlrg(path: Path, loss: str, jc: list[float], seeds: list[int]) -> Path:
    """An MLRG critical-point file in the layout of rgpipe.learn.mlrg.critical_file (the
    family is aggregated through its critical files)."""
    config = {
        "method": "flow",
        "mlrg": {"loss": loss, "representation": "A1", "epochs": 100},
        "seeds": seeds,
    }
    jc = np.array(jc)
    with create_result(path, stage="critical", config=config, seed=seeds[0]) as fh:
        fh.attrs.update({"system": "ising", "lattice": "lieb", "method": "mlrg", "family": "mlrg"})
        finite = jc[np.isfinite(jc)]
        est = fh.create_group("estimates/J_c")
        est.create_dataset("mean", data=finite.mean())
        est.create_dataset("error_of_mean", data=finite.std(ddof=1) / np.sqrt(finite.size))
        est.attrs.update(
            {"exact": J_C, "n_models": jc.size, "n_valid": finite.size, "method": "mlrg_flow"}
        )
        models = fh.create_group("models")
        models.create_dataset("seed", data=np.array(seeds, dtype=np.int64))
        models.create_dataset("J_c", data=jc)
        for s, j in zip(seeds, jc, strict=True):
            g = models.create_group(f"fixed_points/{s}")
            g.create_dataset("J", data=np.array([[j]]) if np.isfinite(j) else np.zeros((0, 1)))
            g.create_dataset("n_relevant", data=np.ones(int(np.isfinite(j)), dtype=np.int64))
        grid = np.linspace(0.0, 1.6, 33)
        flow = fh.create_group("flow")
        flow.create_dataset("J0", data=grid)
        flow.create_dataset(
            "f",
            data=np.stack([0.4 * (grid - (j if np.isfinite(j) else 0.8)) for j in jc])[..., None],
        )
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """results/ with critical and training files, a failed run, a NaN, a corrupt file."""
    root = tmp_path_factory.mktemp("study") / "results"
    crit = root / "critical" / "ising" / "square"
    # update=wolff: three good runs, a NaN estimate, a run with converged = False
    for seed, (v, e) in enumerate([(0.441, 0.001), (0.443, 0.002), (0.445, 0.002)], start=1):
        write_critical(crit / f"update~wolff/seed~{seed}.h5", value=v, error=e, seed=seed,
                       curves=seed == 1)  # fmt: skip
    write_critical(crit / "update~wolff/seed~4.h5", value=float("nan"), error=float("nan"), seed=4)
    write_critical(crit / "update~wolff/seed~5.h5", value=0.9, error=0.001, seed=5, converged=False)
    # update=sw: two good runs
    for seed, v in ((1, 0.440), (2, 0.444)):
        write_critical(
            crit / f"update~sw/seed~{seed}.h5", value=v, error=0.002, seed=seed, update="sw"
        )
    # a corrupt file and a truncated one
    (crit / "update~sw/seed~3.h5").write_bytes(b"this is not an HDF5 file\n" * 40)
    good = (crit / "update~sw/seed~1.h5").read_bytes()
    (crit / "update~sw/seed~4.h5").write_bytes(good[: len(good) // 2])
    write_xy(root / "critical" / "xy" / "square" / "seed~1.h5")
    write_oscillator(root / "critical" / "oscillator" / "dw" / "seed~1.h5")
    train = root / "critical" / "mlrg"
    write_mlrg(train / "loss~kl.h5", "kl", [0.80, 0.82, float("nan")], [1, 2, 3])
    write_mlrg(train / "loss~cd.h5", "cd", [0.75, 0.77, 0.79, 0.81], [1, 2, 3, 4])
    return root


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rgpipe aggregate")
    aggregate_stage.add_arguments(p)
    return p


@pytest.fixture(scope="module")
def summary(study):
    files = collect(aggregate_stage.find_inputs(study), progress=False)
    return aggregate(files, n_boot=2000, seed=7)


def by_title(summary) -> dict:
    return {g.title: g for g in summary.groups}


# ---------------------------------------------------------------------------------------------
# statistics against hand-computed values


def chi2_sf_dof3(x: float) -> float:
    """P(chi^2_3 > x) in closed form."""
    return math.erfc(math.sqrt(x / 2)) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2)


def test_group_with_failed_runs_matches_hand_computation(summary):
    g = by_title(summary)["ising/square binder_crossing K_c [update=wolff]"]
    s = g.stats
    # x = 0.441, 0.443, 0.445 with errors 0.001, 0.002, 0.002; exact 0.44
    assert (s.n_runs, s.n, s.n_failed) == (5, 3, 2)
    assert s.mean == pytest.approx(0.443, abs=1e-15)
    assert s.std == pytest.approx(0.002, rel=1e-12)
    assert s.sem == pytest.approx(0.002 / math.sqrt(3), rel=1e-12)
    assert s.bias == pytest.approx(0.003, rel=1e-12)
    assert s.bias_error == s.sem
    assert s.relative_bias == pytest.approx(0.003 / 0.44, rel=1e-12)
    # weights 1e6, 2.5e5, 2.5e5: sum 1.5e6, sum w x = 663000
    assert s.n_weighted == 3
    assert s.weighted_mean == pytest.approx(0.442, rel=1e-12)
    assert s.weighted_error == pytest.approx(1 / math.sqrt(1.5e6), rel=1e-12)
    assert s.chi2_exact == pytest.approx(1 + 2.25 + 6.25, rel=1e-9)
    assert s.dof_exact == 3
    assert s.p_exact == pytest.approx(chi2_sf_dof3(9.5), rel=1e-9)
    assert s.chi2_internal == pytest.approx(1 + 0.25 + 2.25, rel=1e-9)
    assert s.dof_internal == 2
    assert s.ci_low < s.mean < s.ci_high
    assert 0.441 - 1e-12 <= s.ci_low and s.ci_high <= 0.445 + 1e-12  # within the data
    statuses = sorted(summary.records[i].status for i in g.records)
    assert statuses == ["nan", "not_converged", "ok", "ok", "ok"]


def test_second_swept_group_matches_hand_computation(summary):
    s = by_title(summary)["ising/square binder_crossing K_c [update=sw]"].stats
    # x = 0.440, 0.444, errors 0.002 each
    assert (s.n, s.n_failed) == (2, 0)
    assert s.mean == pytest.approx(0.442, rel=1e-12)
    assert s.std == pytest.approx(0.004 / math.sqrt(2), rel=1e-12)
    assert s.sem == pytest.approx(0.002, rel=1e-12)
    assert s.weighted_error == pytest.approx(0.002 / math.sqrt(2), rel=1e-12)
    assert s.chi2_exact == pytest.approx(4.0, rel=1e-9)
    assert s.p_exact == pytest.approx(math.exp(-2.0), rel=1e-9)  # chi^2 with 2 dof


def test_ensemble_members_are_runs_and_nan_members_fail(summary):
    groups = by_title(summary)
    kl = groups["ising/lieb mlrg_flow J_c [loss=kl]"].stats
    assert (kl.n_runs, kl.n, kl.n_failed) == (3, 2, 1)
    assert kl.mean == pytest.approx(0.81, rel=1e-12)
    assert kl.std == pytest.approx(math.sqrt(2e-4), rel=1e-9)
    assert kl.sem == pytest.approx(0.01, rel=1e-9)
    assert kl.bias == pytest.approx(0.81 - J_C, rel=1e-12)
    assert kl.n_weighted == 0 and math.isnan(kl.weighted_mean) and math.isnan(kl.chi2_exact)
    cd = groups["ising/lieb mlrg_flow J_c [loss=cd]"].stats
    assert (cd.n, cd.n_failed) == (4, 0)
    assert cd.mean == pytest.approx(0.78, rel=1e-12)
    # values 0.75..0.81 step 0.02: var = 0.02^2 * 5/3
    assert cd.std == pytest.approx(0.02 * math.sqrt(5 / 3), rel=1e-9)
    seeds = [summary.records[i].seed for i in groups["ising/lieb mlrg_flow J_c [loss=cd]"].records]
    assert seeds == [1, 2, 3, 4]


def test_single_run_group_uses_its_own_error(summary):
    s = by_title(summary)["xy/square helicity_weber_minnhagen T_BKT"].stats
    assert s.n == 1 and math.isnan(s.std) and math.isnan(s.sem) and math.isnan(s.ci_low)
    assert s.bias == pytest.approx(0.891 - 0.89294, rel=1e-12)
    assert s.bias_error == pytest.approx(0.002)
    assert s.chi2_exact == pytest.approx((0.891 - 0.89294) ** 2 / 0.002**2, rel=1e-9)


def test_unreadable_files_are_counted_not_dropped(summary):
    g = by_title(summary)[" ".join(UNREADABLE)]
    assert (g.stats.n, g.stats.n_failed) == (0, 2)
    bad = {f.path.rsplit("/", 1)[-1] for f in summary.files if f.status == "unreadable"}
    assert bad == {"seed~3.h5", "seed~4.h5"}
    assert all(summary.records[i].message for i in g.records)
    n_files = 5 + 2 + 2 + 1 + 1 + 2
    assert len(summary.files) == n_files
    total_failed = sum(g.stats.n_failed for g in summary.groups)
    assert total_failed == 2 + 2 + 1  # wolff NaN + not converged, unreadable x2, kl member


def test_other_stages_are_skipped_and_missing_files_fail(study, tmp_path):
    from rgpipe.mc.output import MCResult, write_mc

    mc = tmp_path / "mc.h5"  # an MC file is read (for its exact values), never skipped
    write_mc(mc, MCResult("coupling", np.array([0.4])), job={"system": "ising"}, seed=1)
    f = read_file(str(mc))
    assert (f.status, f.records, f.comparisons) == ("ok", [], [])
    assert f.message == "no estimate has exact values"
    other = tmp_path / "summary.h5"
    with create_result(other, stage="aggregate", config={}, seed=0):
        pass
    f = read_file(str(other))
    assert f.status == "skipped" and f.message == "stage 'aggregate' is not aggregated"
    missing = read_file(str(tmp_path / "nowhere.h5"))
    assert missing.status == "unreadable" and not missing.records[0].ok


def test_bootstrap_interval_is_reproducible_and_has_the_normal_width():
    rng = np.random.default_rng(3)
    x = rng.normal(1.0, 0.5, size=200)
    sem = x.std(ddof=1) / math.sqrt(x.size)
    lo, hi = bootstrap_ci(x, 4000, np.random.default_rng(1))
    assert (lo, hi) == bootstrap_ci(x, 4000, np.random.default_rng(1))
    assert lo < x.mean() < hi
    # for a large normal sample the 95% interval is mean +- 1.96 sem
    assert hi - lo == pytest.approx(2 * 1.959964 * sem, rel=0.1)
    assert bootstrap_ci(np.full(5, 2.0), 100, rng) == (2.0, 2.0)
    assert all(math.isnan(v) for v in bootstrap_ci(np.array([1.0]), 100, rng))


def test_group_statistics_without_exact_value():
    s = group_statistics(np.array([1.0, 3.0]), np.array([1.0, np.nan]), float("nan"), 0, 200,
                         np.random.default_rng(0))  # fmt: skip
    assert s.mean == 2.0 and math.isnan(s.bias) and math.isnan(s.relative_bias)
    assert s.n_weighted == 1 and s.weighted_mean == 1.0 and math.isnan(s.chi2_exact)


# ---------------------------------------------------------------------------------------------
# grouping


def test_swept_keys_ignore_seeds_and_paths_and_names_are_short():
    a = json.dumps({"mlrg": {"loss": "kl", "batch": 8}, "seeds": [1], "out": "a.h5", "seed": 1})
    b = json.dumps({"mlrg": {"loss": "cd", "batch": 8}, "seeds": [2], "out": "b.h5", "seed": 2})
    c = json.dumps({"mlrg": {"loss": "cd", "batch": 16}, "seeds": [3], "out": "c.h5", "seed": 3})
    assert swept_keys([a, b]) == ["mlrg.loss"]
    assert swept_keys([a, b, c]) == ["mlrg.batch", "mlrg.loss"]
    assert short_names(["mlrg.loss", "hmc.loss", "mlrg.batch"]) == {
        "mlrg.loss": "mlrg.loss",
        "hmc.loss": "hmc.loss",
        "mlrg.batch": "batch",
    }


def test_groups_are_split_by_the_swept_key_only(summary):
    titles = [g.title for g in summary.groups]
    assert "ising/square binder_crossing K_c [update=sw]" in titles
    assert "ising/square binder_crossing K_c [update=wolff]" in titles
    # xy and oscillator have one file each: nothing swept, one group per estimate
    assert "oscillator continuum_extrapolation E0" in titles
    assert "oscillator continuum_extrapolation gap" in titles
    assert titles[-1] == " ".join(UNREADABLE)
    assert len(titles) == len(set(titles)) == 8


def test_distributed_scheduler_gives_the_same_records(study):
    distributed = pytest.importorskip("distributed")
    paths = aggregate_stage.find_inputs(study)[:4]
    local = collect(paths, progress=False)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        remote = collect(paths, scheduler=cluster.scheduler_address, progress=False)
    assert [f.path for f in remote] == paths
    for a, b in zip(local, remote, strict=True):
        assert a.status == b.status and a.sha256 == b.sha256
        assert [(repr(r.value), r.status) for r in a.records] == [
            (repr(r.value), r.status) for r in b.records
        ]


# ---------------------------------------------------------------------------------------------
# the stage: summary.h5, CSV, plots, report


@pytest.fixture(scope="module")
def stage_run(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    args = parser().parse_args(
        [
            "--root", str(study), "--out", str(out / "summary.h5"), "--csv",
            str(out / "summary.csv"), "--plots", str(out / "report"), "--report",
            str(out / "report" / "index.html"), "--bootstrap", "1000", "--seed", "3", "--quiet",
        ]
    )  # fmt: skip
    assert aggregate_stage.run(args) == 0
    return out


def test_summary_h5_layout_and_values(stage_run, study):
    with open_result(stage_run / "summary.h5", stage="aggregate") as fh:
        assert json.loads(fh.attrs["config_json"]) == {
            "bootstrap": 1000,
            "confidence": 0.95,
            "seed": 3,
        }
        s = fh["summary"]
        labels = list(s["label"].asstr()[()])
        i = labels.index("update=wolff")
        assert s["mean"][i] == pytest.approx(0.443)
        assert (s["n"][i], s["n_failed"][i], s["n_runs"][i]) == (3, 2, 5)
        assert s["chi2_exact"][i] == pytest.approx(9.5)
        assert s["hp.update"].asstr()[i] == "wolff"
        assert s["mean"].attrs["description"]
        n_records = fh["records"]["value"].shape[0]
        assert n_records == fh.attrs["n_records"] == 5 + 2 + 2 + 1 + 2 + 3 + 4
        assert fh.attrs["n_failed"] == 5 and fh.attrs["n_unreadable"] == 2
        group = fh["records"]["group"][()]
        assert np.sum(group == i) == 5
        g = fh[f"groups/{i:03d}"]
        assert g.attrs["label"] == "update=wolff" and g.attrs["n_failed"] == 2
        assert sorted(g["status"].asstr()[()]) == ["nan", "not_converged", "ok", "ok", "ok"]
        inputs = json.loads(fh.attrs["inputs_json"])
        files = fh["files"]
        assert len(files["path"]) == 13
        for entry in inputs:  # rgpipe inputs by their content digest, others by their bytes
            if "content_sha256" in entry:
                with h5py.File(entry["path"]) as src:
                    assert entry["content_sha256"] == src.attrs["content_sha256"]
            else:
                assert entry["sha256"] == file_sha256(entry["path"])
        assert sum("content_sha256" in e for e in inputs) >= 9


def test_csv_has_one_row_per_group(stage_run):
    with open(stage_run / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8
    row = next(r for r in rows if r["label"] == "update=sw")
    assert float(row["mean"]) == pytest.approx(0.442)
    assert float(row["sem"]) == pytest.approx(0.002)
    assert float(row["p_exact"]) == pytest.approx(math.exp(-2.0))
    assert row["n_failed"] == "0" and row["hp.update"] == "sw"
    assert len(row["files"].split(";")) == 2
    unreadable = next(r for r in rows if r["system"] == UNREADABLE[0])
    assert unreadable["n_failed"] == "2"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.hrefs, self.ids, self.tags = [], [], set(), set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.images.append(a["src"])
        if "href" in a:
            self.hrefs.append(a["href"])
        if "id" in a:
            self.ids.add(a["id"])


def test_report_references_exist(stage_run):
    report = stage_run / "report" / "index.html"
    text = report.read_text()
    links = _Links()
    links.feed(text)
    assert not {"script", "link", "iframe"} & links.tags  # self-contained
    with open(stage_run / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for k, row in enumerate(rows):  # every table row is in the report
        assert f"group-{k}" in links.ids
        assert row["estimate"] in text and (row["label"] or "-") in text
    assert len(links.images) >= 8
    for src in links.images:
        assert not re.match(r"[a-z]+://", src) and not src.startswith("/")
        assert (report.parent / src).is_file(), src
    for href in links.hrefs:
        if href.startswith("#"):
            assert href[1:] in links.ids, href
        else:
            assert (report.parent / href).is_file(), href
    for f in ("summary.h5", "summary.csv"):
        assert f"../{f}" in links.hrefs
    for path in rows[0]["files"].split(";"):  # provenance: path and sha256 of the input
        assert path in text and file_sha256(path) in text
    md = (stage_run / "report" / "index.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(images) == sorted(links.images)
    assert md.count("\n| ") >= len(rows)


def test_plots_are_written(stage_run):
    pngs = {p.name for p in (stage_run / "report").glob("*.png")}
    for prefix in ("bias_overview", "box_ising_square_K_c", "binder_", "helicity_",
                   "continuum_", "flow_", "scan_ising_lieb_mlrg_flow_J_c_loss"):  # fmt: skip
        assert any(n.startswith(prefix) for n in pngs), (prefix, pngs)
    for name in pngs:
        data = (stage_run / "report" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_invalid_options_and_empty_root(tmp_path):
    p = parser()
    assert aggregate_stage.run(p.parse_args(["--root", str(tmp_path), "--quiet"])) == 2
    args = p.parse_args(["--inputs", "x.h5", "--bootstrap", "10"])
    assert aggregate_stage.run(args) == 2
    with pytest.raises(SystemExit):
        p.parse_args(["--inputs", "x.h5", "--root", "results"])


def test_summary_rows_match_h5_file(stage_run):
    with h5py.File(stage_run / "summary.h5") as fh:
        cols = list(fh["summary"].attrs["columns"])
    with open(stage_run / "summary.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert cols == header


def test_categorical_scan_values_are_in_ladder_order():
    from rgpipe.learn import registry

    order = registry.get("mlrg").hook("value_order")

    def ladder_key(value: str) -> tuple:
        return order("block", value)

    blocks = ["4x2", "plaquette", "3x3", "2x2", "3x2"]
    assert sorted(blocks, key=ladder_key) == ["plaquette", "2x2", "3x2", "4x2", "3x3"]
    reps = ["2A1+E", "A1+E", "A1", "A1+2E"]
    assert sorted(reps, key=ladder_key) == ["A1", "A1+E", "2A1+E", "A1+2E"]
    assert sorted(["relu", "tanh", "A1"], key=ladder_key) == ["A1", "relu", "tanh"]


class _Report(HTMLParser):
    """The report's table headers (per table), table row ids, figures (id, class, section,
    caption text) in document order."""

    def __init__(self):
        super().__init__()
        self.headers: list[list[str]] = []
        self.row_ids: list[list[str]] = []
        self.figures: list[dict[str, str]] = []
        self.section = ""
        self._in = ""  # "th" or "figcaption" while inside one

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.headers.append([])
            self.row_ids.append([])
        elif tag == "tr" and "id" in a:
            self.row_ids[-1].append(a["id"])
        elif tag == "section":
            self.section = a.get("id", "")
        elif tag == "figure":
            self.figures.append({"id": a["id"], "kind": a.get("class", ""),
                                 "section": self.section, "caption": ""})  # fmt: skip
        elif tag in ("th", "figcaption"):
            self._in = tag
            if tag == "th":
                self.headers[-1].append("")

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = ""

    def handle_data(self, data):
        if self._in == "th":
            self.headers[-1][-1] += data
        elif self._in == "figcaption":
            self.figures[-1]["caption"] += data


def test_report_structure_key_columns_and_figure_order(stage_run):
    """The structure the report promises: the summary table starts with the key columns and
    has one row per group, the further statistics follow in a second table (same rows),
    relative bias in percent; figures in sections overview, physics, scans, boxes, each
    with a caption; no box figure for an estimate whose groups all have one run."""
    from rgpipe.analysis.report import DETAIL_HEADER, KEY_HEADER

    text = (stage_run / "report" / "index.html").read_text()
    page = _Report()
    page.feed(text)
    with open(stage_run / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    k = next(i for i, ids in enumerate(page.row_ids) if ids[:1] == ["group-0"])
    assert page.headers[k] == KEY_HEADER
    assert KEY_HEADER[:5] == ["#", "system", "method", "estimate", "hyper-parameters"]
    assert {"mean ± error", "exact", "bias ± error", "bias/error"} <= set(KEY_HEADER)
    assert page.row_ids[k] == [f"group-{i}" for i in range(len(rows))]
    assert page.headers[k + 1] == DETAIL_HEADER
    assert page.row_ids[k + 1] == [f"stats-{i}" for i in range(len(rows))]
    assert text.count('<div class="wide"><table>') >= 2
    # wolff group: bias 0.003 on 0.44 is +0.682 %, and 0.003/sem = 2.60 errors
    row = re.search(r"<td>update=wolff</td>(.*?)</tr>", text, re.S)
    assert row is not None
    assert row.group(1).endswith('<td class="num">+2.60</td><td class="num">+0.682</td>')
    sections = [f["section"] for f in page.figures]
    order = ["figures-overview", "figures-physics", "figures-scan", "figures-box"]
    assert sections == sorted(sections, key=order.index)
    assert set(sections) == set(order)
    assert all(len(f["caption"]) > 60 for f in page.figures)
    kinds = {f["kind"] for f in page.figures if f["section"] == "figures-physics"}
    assert {"binder", "helicity", "continuum", "flow"} <= kinds
    boxes = {p.name for p in (stage_run / "report").glob("box_*.png")}
    assert boxes == {"box_ising_square_K_c.png", "box_ising_lieb_J_c.png"}  # not xy, oscillator
    assert sum(f["kind"] == "box" for f in page.figures) == 2
    md = (stage_run / "report" / "index.md").read_text()
    assert "| " + " | ".join(KEY_HEADER) + " |" in md
    heads = [line for line in md.splitlines() if line.startswith("### ")]
    assert heads[0] == "### Further statistics" and len(heads) == 5


def test_single_run_groups_get_a_point_but_no_box(tmp_path, monkeypatch):
    """Box figures: a box only for groups of two or more ok runs (the single-run group is
    its point with its error bar), and no figure at all when every group has one run."""
    from rgpipe.analysis import plots

    crit = tmp_path / "critical" / "ising" / "square"
    for seed, v in ((1, 0.441), (2, 0.443)):
        write_critical(crit / f"update~wolff/seed~{seed}.h5", value=v, error=0.001, seed=seed)
    write_critical(crit / "update~sw/seed~1.h5", value=0.442, error=0.002, seed=1, update="sw")
    write_xy(tmp_path / "critical" / "xy" / "square" / "seed~1.h5")
    summary = aggregate(collect(aggregate_stage.find_inputs(tmp_path), progress=False), 200, 1)
    drawn = []
    real_save = plots.save

    def keep(fig, path):
        ax = fig.axes[0]
        boxes = {a.get_gid() for a in ax.get_children() if str(a.get_gid()).startswith("box-")}
        points = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata())]
        drawn.append((path.name, boxes, sum(len(p.get_xdata()) for p in points)))
        return real_save(fig, path)

    monkeypatch.setattr(plots, "save", keep)
    figures = plots.estimate_boxplots(summary, tmp_path / "plots")
    assert [f.path.name for f in figures] == ["box_ising_square_K_c.png"]
    ((_, boxes, n_points),) = drawn
    labels = [g.label for g in summary.groups if g.system == "ising/square"]
    assert boxes == {f"box-{labels.index('update=wolff')}"}
    assert n_points == 3  # two wolff runs and the single sw run


def test_binder_and_helicity_figures_draw_the_measurements_and_the_fits(tmp_path, monkeypatch):
    """A Binder file with measured points and the extrapolation gets the points on the
    curves and a third panel (pair crossings, fitted line, g = 0 value); a helicity file
    with the Weber-Minnhagen fit gets one fitted line per size; captions say so."""
    from rgpipe.analysis.curves import binder, helicity

    path = write_critical(tmp_path / "b.h5", value=0.4407, error=2e-4, seed=1, curves=True)
    with h5py.File(path, "a") as fh:
        k = np.array([[0.42, 0.44, 0.46]] * 2)
        fh["curves/measured_coupling"] = k
        fh["curves/measured_binder"] = 0.6 + 0.05 * np.tanh(np.array([[8], [16]]) * (k - 0.44))
        fh["curves/measured_binder_error"] = np.full(k.shape, 0.002)
        cr = fh["crossings"]
        del cr["pairs"], cr["estimate"], cr["error"]
        cr["pairs"] = np.array([[4, 8], [8, 16]])
        cr["estimate"] = np.array([0.4501, 0.4419])
        cr["error"] = np.array([1e-3, 5e-4])
        cr["scaling_variable"] = np.array([0.00586, 0.000732])
        fit = {"intercept": 0.4407, "intercept_error": 2e-4, "amplitude": 1.6, "chi2": 0.0}
        cr.attrs.update({**fit, "dof": 0, "nu": 1.0, "omega": 2.0, "extrapolated": True})
    xy = write_xy(tmp_path / "x.h5")
    with h5py.File(xy, "a") as fh:
        fh.create_group("fit").attrs.update({"T_BKT": 0.891, "C": 1.2, "chi2": 0.5, "dof": 1})
    drawn = {}

    def keep(fig, path):
        drawn[path.name] = fig
        return path

    monkeypatch.setattr(binder, "save", keep)
    monkeypatch.setattr(helicity, "save", keep)
    fb = read_file(str(path))
    fig = binder.plot(fb, tmp_path / "b.png")
    axes = drawn["b.png"].axes
    assert len(axes) == 3
    measured = [c for c in axes[0].containers if len(c.lines[0].get_xdata()) == 3]
    assert len(measured) == 2  # the MC estimates of both sizes
    assert axes[2].get_xlim()[0] < 0 < axes[2].get_xlim()[1]  # g = 0 inside the axes
    assert "open points" in fig.caption and "g = 0" in fig.caption
    fx = read_file(str(xy))
    fig = helicity.plot(fx, tmp_path / "x.png")
    ax = drawn["x.png"].axes[0]
    wm = [line for line in ax.lines if line.get_linestyle() == "-." and len(line.get_xdata())]
    assert len(wm) == 2  # one Weber-Minnhagen line per size
    assert "Weber-Minnhagen lines" in fig.caption
    del fx.curves["helicity"]["fit"]  # a file written before /fit had attributes
    assert "Weber-Minnhagen lines" not in helicity.plot(fx, tmp_path / "y.png").caption
