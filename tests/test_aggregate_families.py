"""The aggregate stage asks a file's learned-method family for its curves, figures and value
order: a family defined only here, the MLRG hooks on an MLRG critical file, and literature
reference values (labelled, no bias in units of the error)."""

from __future__ import annotations

import argparse
import csv
import math
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from rgpipe.analysis import aggregate_stage, families
from rgpipe.analysis.aggregate import aggregate
from rgpipe.analysis.plots import make_plots, scan_values
from rgpipe.analysis.reader import read_file, reference_kind
from rgpipe.learn import registry
from rgpipe.store import create_result

TOY_MODULE = "rgpipe_test_toy_family"
"""The module of the family defined by this test (written to a temporary directory)."""

TOY_SOURCE = '''
"""A family known only to the test suite: files with a power spectrum."""

from pathlib import Path

import numpy as np

from rgpipe.learn.family import Family
from rgpipe.spec import Spec

CALLS = []


def read_curves(fh):
    if "spectrum" not in fh:
        return {}
    return {"spectrum": {"k": fh["spectrum/k"][()], "power": fh["spectrum/power"][()]}}


def spectrum_plot(data, path, *, source, run):
    import matplotlib.pyplot as plt

    CALLS.append((Path(path).name, source, run, float(np.sum(data["power"]))))
    fig, ax = plt.subplots()
    ax.loglog(data["k"], data["power"])
    ax.set_title(run)
    fig.savefig(path)
    plt.close(fig)
    return f"Toy spectrum of {source}", f"TOY-CAPTION power spectrum of {run}."


SIZE_ORDER = {"small": 0, "medium": 1, "large": 2}


def value_order(key, value):
    return (SIZE_ORDER.get(value, 3), value)


FAMILY = Family(
    name="toy",
    title="a family of the test suite",
    spec=Spec("toy"),
    trainer="rgpipe_test_toy_family:none",
    write="rgpipe_test_toy_family:none",
    describe="rgpipe_test_toy_family:none",
    curves="rgpipe_test_toy_family:read_curves",
    plots={"spectrum": "rgpipe_test_toy_family:spectrum_plot"},
    value_order="rgpipe_test_toy_family:value_order",
)
'''


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    """Register the family ``toy`` through RGPIPE_FAMILIES; yield its module."""
    import importlib

    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / f"{TOY_MODULE}.py").write_text(textwrap.dedent(TOY_SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path / "modules"))
    monkeypatch.setenv(registry.ENV_VAR, TOY_MODULE)
    monkeypatch.delitem(sys.modules, TOY_MODULE, raising=False)
    registry._load.cache_clear()
    yield importlib.import_module(TOY_MODULE)
    registry._load.cache_clear()


def write_toy(path: Path, size: str, seed: int, *, family: str | None = "toy") -> Path:
    """A toy training file: one estimate ``m`` and a power spectrum."""
    config = {"toy": {"size": size, "steps": 10}, "seed": seed}
    with create_result(path, stage="train_toy", config=config, seed=seed) as fh:
        fh.attrs.update({"system": "toyland"})
        if family is not None:
            fh.attrs["family"] = family
        est = fh.create_group("estimates/m")
        shift = {"small": 0.1, "large": -0.1}.get(size, 0.0)
        est.create_dataset("mean", data=0.5 + 0.01 * seed + shift)
        est.create_dataset("error_of_mean", data=0.01)
        est.attrs.update({"exact": 0.5, "reference": "by construction"})
        k = np.geomspace(0.1, 3.0, 20)
        fh.create_dataset("spectrum/k", data=k)
        fh.create_dataset("spectrum/power", data=1.0 / (k**2 + 0.1 * seed + 1.0))
    return path


def stage_args(root: Path, out: Path) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    aggregate_stage.add_arguments(p)
    return p.parse_args(
        [
            "--root", str(root), "--out", str(out / "summary.h5"), "--csv",
            str(out / "summary.csv"), "--plots", str(out / "report"), "--report",
            str(out / "report" / "index.html"), "--bootstrap", "200", "--quiet",
        ]
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# a family defined by the test


def test_family_of_a_file_by_attribute_stage_or_method(toy_family):
    toy = registry.get("toy")
    assert families.family_of("toy", "train_toy", "") == (toy, "")
    assert families.family_of("", "train_toy", "") == (toy, "")  # before the attribute
    assert families.family_of("", "critical", "toy") == (toy, "")  # critical file, by method
    assert families.family_of("", "critical", "binder") == (None, "")  # Monte Carlo
    family, note = families.family_of("nosuch", "train_nosuch", "")
    assert family is None and "'nosuch' is not registered" in note


def test_family_curves_plot_and_value_order_reach_the_report(toy_family, tmp_path):
    root = tmp_path / "results"
    for size in ("large", "small", "medium"):
        for seed in (1, 2):
            write_toy(root / "train" / "toy" / f"size~{size}" / f"seed~{seed}.h5", size, seed)
    f = read_file(str(root / "train" / "toy" / "size~small" / "seed~1.h5"))
    assert f.family == "toy" and set(f.curves) == {"spectrum"}
    assert f.records[0].family == "toy" and f.records[0].system == "toyland"

    out = tmp_path / "out"
    assert aggregate_stage.run(stage_args(root, out)) == 0
    # the plot hook drew one figure per group (its first run), from its own curves
    drawn = sorted(c[0] for c in toy_family.CALLS)
    assert drawn == [f"spectrum_toy_size_{s}_seed_1.png" for s in ("large", "medium", "small")]
    for name, source, run, total in toy_family.CALLS:
        assert (out / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert source.endswith("seed~1.h5") and run.startswith("toyland: size~")
        assert total > 0
    html = (out / "report" / "index.html").read_text()
    md = (out / "report" / "index.md").read_text()
    for text in (html, md):
        assert text.count("TOY-CAPTION power spectrum of toyland: size~") == 3
        assert "Toy spectrum of " in text
    assert 'src="spectrum_toy_size_small_seed_1.png"' in html


def test_scan_values_follow_the_family_order(toy_family, tmp_path):
    root = tmp_path / "results"
    for size in ("large", "small", "medium"):
        write_toy(root / "train" / "toy" / f"size~{size}.h5", size, 1)
    files = [read_file(str(p)) for p in sorted(root.rglob("*.h5"))]
    summary = aggregate(files, n_boot=200)
    groups = [g for g in summary.groups if g.family == "toy"]
    assert len(groups) == 3
    assert scan_values(groups, "size") == ["small", "medium", "large"]  # not alphabetical
    for g in groups:  # a family without value_order: alphabetical
        g.family = ""
    assert scan_values(groups, "size") == ["large", "medium", "small"]


def test_unregistered_family_keeps_its_records_and_says_why(tmp_path):
    registry._load.cache_clear()
    path = write_toy(tmp_path / "x.h5", "small", 1, family="nosuch")
    f = read_file(str(path))
    assert f.status == "ok" and f.family == "" and f.curves == {}
    assert "'nosuch' is not registered" in f.message
    assert [r.estimate for r in f.records] == ["m"] and f.records[0].ok


# ---------------------------------------------------------------------------------------------
# MLRG: the hooks on a critical file of today's layout (no family attribute)

J_C = 0.7642854597404991


def write_mlrg_critical(path: Path, jc: list[float]) -> Path:
    """A critical file in the layout of rgpipe.learn.mlrg.critical_file.write_critical."""
    seeds = list(range(1, len(jc) + 1))
    config = {"method": "flow", "mlrg": {"representation": "A1", "block": "2x2"}, "seeds": seeds}
    jc_arr = np.array(jc)
    with create_result(path, stage="critical", config=config, seed=seeds[0]) as fh:
        fh.attrs.update({"system": "ising", "lattice": "lieb", "method": "mlrg"})
        est = fh.create_group("estimates/J_c")
        est.create_dataset("mean", data=np.nanmean(jc_arr))
        est.create_dataset("error_of_mean", data=np.nanstd(jc_arr, ddof=1) / np.sqrt(len(jc)))
        est.attrs.update({"method": "mlrg_flow", "exact": J_C, "reference": "exact", "units": "1"})
        models = fh.create_group("models")
        models.create_dataset("seed", data=np.array(seeds, dtype=np.int64))
        models.create_dataset("J_c", data=jc_arr)
        models.create_dataset("J_star", data=np.stack([[j, 0.0] for j in jc]))
        grid = np.linspace(0.4, 1.2, 41)
        fh.create_dataset("flow/J0", data=grid)
        f = np.stack([np.stack([0.5 * (grid - j), 0.1 * grid], axis=-1) for j in jc])
        fh.create_dataset("flow/f", data=f)  # (M, G, n = 2)
    return path


def test_mlrg_hooks_resolve():
    registry._load.cache_clear()
    mlrg = registry.get("mlrg")
    read, order = mlrg.hook("curves"), mlrg.hook("value_order")
    assert callable(read) and callable(order)
    assert set(mlrg.plots) == {"flow"}
    assert callable(families.value_order("mlrg"))
    assert sorted(["2x2", "plaquette"], key=lambda v: order("block", v)) == ["plaquette", "2x2"]


def test_mlrg_critical_file_gets_the_flow_figure(tmp_path):
    registry._load.cache_clear()
    path = write_mlrg_critical(tmp_path / "critical" / "mlrg" / "block~2x2.h5", [0.76, 0.78, 0.77])
    f = read_file(str(path))
    assert f.family == "mlrg"  # by the method attribute of today's files
    d = f.curves["flow"]
    assert d["f"].shape == (3, 41, 2) and d["J_c_exact"] == pytest.approx(J_C)
    assert [len(fp) for fp in d["fixed_points"]] == [0, 0, 0]  # critical files store none
    summary = aggregate([f], n_boot=200)
    figures = [fig for fig in make_plots(summary, tmp_path / "report") if fig.kind == "flow"]
    assert len(figures) == 1
    fig = figures[0]
    assert fig.path.name == "flow_critical_mlrg_block_2x2.png" and fig.path.stat().st_size > 10_000
    assert fig.title == f"Learned RG flow of {path}" and fig.sources == [str(path)]
    assert "dashed: exact J_c" in fig.caption


# ---------------------------------------------------------------------------------------------
# literature reference values

PHI4_REFERENCE = "beta_c ~ 0.680 at lam = 1 (literature; strong corrections to scaling)"


def write_phi4(path: Path, value: float, seed: int, **attrs) -> Path:
    """A phi^4 critical file with the approximate literature beta_c."""
    config = {"method": "binder", "seed": seed, "system": "phi4", "lattice": "square"}
    with create_result(path, stage="critical", config=config, seed=seed) as fh:
        fh.attrs.update({"system": "phi4", "lattice": "square", "lam": 1.0})
        est = fh.create_group("estimates/beta_c")
        est.create_dataset("mean", data=value)
        est.create_dataset("error_of_mean", data=0.001)
        est.attrs.update(
            {"method": "binder_crossing", "exact": 0.680, "reference": PHI4_REFERENCE, **attrs}
        )
    return path


def test_reference_kind_from_attribute_or_text():
    assert reference_kind(0.68, PHI4_REFERENCE) == "literature"  # old files: by the text
    assert reference_kind(0.44, "K_c = ln(1 + sqrt 2)/2 (Onsager)") == "exact"
    assert reference_kind(0.68, "Someone 2020", "literature") == "literature"
    assert reference_kind(0.68, "Someone 2020", "approximate") == "literature"
    assert reference_kind(0.44, "literature says exact", "exact") == "exact"
    assert reference_kind(math.nan, PHI4_REFERENCE) == "none"


def test_literature_reference_is_labelled_and_has_no_sigma_bias(tmp_path):
    root = tmp_path / "results"
    for seed, value in ((1, 0.690), (2, 0.694), (3, 0.692)):
        write_phi4(root / "critical" / "phi4" / f"seed~{seed}.h5", value, seed)
    out = tmp_path / "out"
    assert aggregate_stage.run(stage_args(root, out)) == 0
    with open(out / "summary.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["reference_kind"] == "literature"
    assert float(row["bias"]) == pytest.approx(0.012)
    assert float(row["relative_bias"]) == pytest.approx(0.012 / 0.680)  # kept
    assert math.isnan(float(row["chi2_exact"])) and math.isnan(float(row["p_exact"]))
    assert row["dof_exact"] == "0"
    with h5py.File(out / "summary.h5") as fh:
        assert fh["records/reference_kind"].asstr()[()].tolist() == ["literature"] * 3
        assert fh["groups/000"].attrs["reference_kind"] == "literature"
    md = (out / "report" / "index.md").read_text()
    table = next(line for line in md.splitlines() if line.startswith("| 0 | phi4/square"))
    assert "0.68 (literature)" in table and "(vs literature)" in table
    assert "- (literature)" in table  # no chi2 against it
    assert "±" not in table.split("(vs literature)")[0].rsplit("|", 1)[-1]  # bias without error
    assert "| phi4/square | beta_c | 0.68 | literature |" in md
    assert "their bias in units of the error is not" in md  # bias overview caption
    assert "dashed line: literature value" in md  # box plot caption


def test_declared_exact_reference_keeps_the_chi2(tmp_path):
    paths = [
        write_phi4(tmp_path / f"seed~{s}.h5", v, s, reference_kind="exact")
        for s, v in ((1, 0.681), (2, 0.679))
    ]
    summary = aggregate([read_file(str(p)) for p in paths], n_boot=200)
    (g,) = summary.groups
    assert g.reference_kind == "exact" and not g.literature
    assert g.stats.chi2_exact == pytest.approx(2.0) and g.stats.dof_exact == 2
