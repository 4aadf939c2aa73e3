"""Configuration validation: bad input is rejected naming the key and the value."""

import copy
import math

import pytest
import yaml
from util import ROOT

from rgpipe.config import ConfigError, config_hash
from rgpipe.workflow_config import load_config, validate_config, validate_job

BASE = {
    "mc": {
        "ising": {
            "sq": {
                "lattice": "square",
                "sizes": [8, 16],
                "couplings": [0.43, 0.44],
                "update": "metropolis",
            }
        }
    }
}


def with_change(path: str, value):
    cfg = copy.deepcopy(BASE)
    node = cfg
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return cfg


def test_default_config_is_valid_and_gets_defaults():
    cfg = load_config(ROOT / "config.yaml")
    sq = cfg["mc"]["ising"]["square"]
    assert sq["backend"] == "numba" and sq["measure_every"] == 1


def test_commented_example_studies_of_the_default_config_are_valid():
    """config.yaml carries commented-out studies (too long for a laptop) for users to switch
    on: uncommented, each must pass the schema and the MLRG parameter checks."""
    text = (ROOT / "config.yaml").read_text()
    lines, found = [], 0
    for line in text.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        body = stripped[2:] if stripped.startswith("# ") else ""
        heading = body.endswith(":") and " " not in body  # "# a1e_4x3:"
        if heading or body.startswith("  "):  # "#   key: value"
            lines.append(indent + body)
            found += heading
        else:
            lines.append(line)
    assert found, "no commented example study in config.yaml"
    cfg = validate_config(yaml.safe_load("\n".join(lines)))
    study = cfg["train"]["mlrg"]["a1e_4x3"]
    assert study["axis_range"] == [0.6, 1.0] and study["block"] == "4x3"


def test_defaults_filled():
    cfg = validate_config(BASE)
    ens = cfg["mc"]["ising"]["sq"]
    assert ens["seeds"] == [0] and ens["sweeps"] == 10000 and ens["configurations"] == 0


@pytest.mark.parametrize(
    "path,value,needle",
    [
        ("mc.ising.sq.sizes", [1, 8], "'mc.ising.sq.sizes[0]': value 1"),
        ("mc.ising.sq.sizes", [7], "'mc.ising.sq.sizes[0]': value 7 is invalid: the checkerboard"),
        ("mc.ising.sq.sizes", [2], "'mc.ising.sq.sizes[0]': value 2 is invalid: the checkerboard"),
        ("mc.ising.sq.sweeps", -5, "'mc.ising.sq.sweeps': value -5"),
        ("mc.ising.sq.sweeps", "many", "'mc.ising.sq.sweeps': value 'many'"),
        ("mc.ising.sq.sweeps", 10.5, "'mc.ising.sq.sweeps': value 10.5"),
        ("mc.ising.sq.couplings", [0.4, -0.1], "'mc.ising.sq.couplings[1]': value -0.1"),
        ("mc.ising.sq.couplings", [0.4, math.inf], "'mc.ising.sq.couplings[1]': value inf"),
        ("mc.ising.sq.couplings", [math.nan], "'mc.ising.sq.couplings[0]': value nan"),
        ("mc.ising.sq.couplings", [0.0], "'mc.ising.sq.couplings[0]': value 0.0 is invalid"),
        ("mc.ising.sq.update", "heatbath", "'mc.ising.sq.update': value 'heatbath'"),
        ("mc.ising.sq.lattice", "triangular", "'mc.ising.sq.lattice': value 'triangular'"),
        ("mc.ising.sq.thermalization", -1, "'mc.ising.sq.thermalization': value -1"),
        ("mc.ising.sq.colour", "red", "mc.ising.sq.colour': unknown key"),
        ("mc.typo", {}, "mc.typo': unknown key"),
    ],
)
def test_bad_values_are_named(path, value, needle):
    with pytest.raises(ConfigError) as err:
        validate_config(with_change(path, value))
    assert needle in str(err.value)


def test_odd_size_is_fine_for_cluster_updates():
    cfg = with_change("mc.ising.sq.update", "wolff")
    cfg["mc"]["ising"]["sq"]["sizes"] = [5, 7]
    cfg["mc"]["ising"]["sq"]["couplings"] = [0.0, 0.4]
    validate_config(cfg)


def test_every_problem_is_reported_at_once():
    cfg = with_change("mc.ising.sq.sweeps", -1)
    cfg["mc"]["ising"]["sq"]["thermalization"] = "x"
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    assert "sweeps" in str(err.value) and "thermalization" in str(err.value)


def test_unknown_top_level_key():
    with pytest.raises(ConfigError, match="partition': unknown key"):
        validate_config({"partition": "gpu"})


def test_job_validation_names_the_option():
    with pytest.raises(ConfigError, match="'L': value 1"):
        validate_job(
            "ising_mc_job",
            {"system": "ising", "lattice": "square", "L": 1, "couplings": [0.4], "update": "wolff"},
        )
    with pytest.raises(ConfigError, match="option 'L': value 9 is invalid: the checkerboard"):
        validate_job(
            "ising_mc_job",
            {
                "system": "ising",
                "lattice": "square",
                "L": 9,
                "couplings": [0.4],
                "update": "metropolis",
            },
        )


def test_load_config_reports_file(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text(yaml.safe_dump(with_change("mc.ising.sq.sizes", [0])))
    with pytest.raises(ConfigError, match=str(bad)):
        load_config(bad)
    bad.write_text("mc: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_hash_is_canonical():
    a = {"b": 1, "a": [0.1, 2]}
    b = {"a": [0.1, 2], "b": 1}
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash({"a": [0.1, 3], "b": 1})


def test_every_family_parameter_is_a_generated_job_key_a_sweep_and_a_point_key():
    """Each family's hyper-parameters are declared once (its spec); load_schema generates the
    job slice, the study (a value or a sweep list) and the study's explicit points from them."""
    from rgpipe.learn import registry
    from rgpipe.learn.jobs import job_params
    from rgpipe.workflow_config import load_schema

    defs = load_schema()["$defs"]
    for name, family in registry.families().items():
        study = defs[f"{name}_study"]["properties"]
        assert load_schema()["properties"]["train"]["properties"][name]["additionalProperties"]
        for p in job_params(family):
            assert defs[f"{name}_job"]["properties"][p.name] == p.value_schema(), p.name
            if p.name != "seed":
                assert study[p.name] == p.sweep_schema(), p.name
                assert study["points"]["items"]["properties"][p.name] == p.value_schema()
    sweep = {"representation": "A1+E", "axis_range": [[0.6, 1.0], [0.5, 1.1]], "seeds": [0]}
    cfg = validate_config({"train": {"mlrg": {"s": sweep}}})
    assert cfg["train"]["mlrg"]["s"]["axis_range"] == [[0.6, 1.0], [0.5, 1.1]]
    with pytest.raises(ConfigError, match=r"axis_range"):
        validate_config({"train": {"mlrg": {"s": {"axis_range": [[0.6, "x"]]}}}})
    with pytest.raises(ConfigError, match=r"axis_range"):
        validate_job("mlrg_job", {"axis_range": "wide"})
