"""The Monte Carlo systems' declarations: the schemas, the command line and the workflow's
flags are generated from them, and no option is declared twice."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest
from util import ROOT, run_rgpipe, user_env

from rgpipe.config import ConfigError
from rgpipe.mc import options, stage, systems
from rgpipe.mc.xy.spec import UPDATES as XY_UPDATES
from rgpipe.spec import REQUIRED, Param
from rgpipe.workflow_config import load_schema, validate_config
from rgpipe.workflow_config import validate_job as config_validate_job

SYSTEMS = list(systems.SYSTEMS.values())


def _declared(system: systems.System) -> list[Param]:
    return [*system.job_params, *system.ensemble_params]


def _show(p: Param) -> str:
    """How ``--help`` shows a default."""
    if p.default is None:
        return "automatic"
    if isinstance(p.default, bool):
        return "on" if p.default else "off"
    if isinstance(p.default, list):
        return " ".join(str(v) for v in p.default)
    return str(p.default)


@pytest.mark.parametrize("system", SYSTEMS, ids=lambda s: s.name)
def test_schemas_are_what_the_declarations_generate(system):
    defs = load_schema()["$defs"]
    ensemble = defs[f"{system.name}_ensemble"]
    job = defs[f"{system.name}_mc_job"]
    assert ensemble == systems.ensemble_schema(system.name)
    assert job == systems.job_schema(system.name)
    assert "$ref" not in repr(ensemble) and "$ref" not in repr(job)
    for schema, params in ((ensemble, system.ensemble_params), (job, system.job_params)):
        props = dict(schema["properties"])
        assert schema["additionalProperties"] is False
        if schema is job:
            assert props.pop("system") == {
                "type": "string",
                "const": system.name,
                "description": "The model.",
            }
        assert props == {p.name: p.value_schema() for p in params}
        need = {p.name for p in params if p.required} - set(system.conditional)
        assert set(schema["required"]) == need | ({"system"} if schema is job else set())
        assert schema.get("allOf") == ([system.cross_key] if system.cross_key else None)
    sizes = load_schema()["properties"]["mc"]["properties"][system.name]
    assert sizes["additionalProperties"] == {"$ref": f"#/$defs/{system.name}_ensemble"}


def _reachable() -> list[Param]:
    """Every distinct Param object of the systems: their jobs, ensembles and specs, and
    every Param a spec module or rgpipe.mc.options holds."""
    specs = [sys.modules[f"rgpipe.mc.{s.name}.spec"] for s in SYSTEMS]  # systems imports them
    modules = [options, *specs]
    found = [p for s in SYSTEMS for p in (*_declared(s), *s.spec)]
    found += [v for m in modules for v in vars(m).values() if isinstance(v, Param)]
    return list({id(p): p for p in found}.values())


def _copies(params: list[Param]) -> list[str]:
    """Names declared by two distinct Param objects with the same description, kind and
    default: a copy where the systems should share one declaration."""
    out = []
    for i, a in enumerate(params):
        for b in params[i + 1 :]:
            same_default = a.default is b.default or a.default == b.default
            if (a.name, a.description, a.kind) == (b.name, b.description, b.kind) and same_default:
                out.append(a.name)
    return out


def test_no_option_is_declared_twice():
    params = _reachable()
    assert len(params) > 40
    assert not _copies(params)
    for name in ("sweeps", "thermalization", "measure_every", "seed", "seeds"):
        objects = {id(p) for s in SYSTEMS for p in _declared(s) if p.name == name}
        assert len(objects) == 1, name
    assert systems.SYSTEMS["ising"].spec["couplings"] is options.COUPLINGS
    assert systems.SYSTEMS["xy"].spec["couplings"] is options.COUPLINGS


def test_the_copy_detector_finds_a_copy():
    """A re-declared shared option is caught; genuinely different options are not."""
    copy = Param("sweeps", "int", options.SWEEPS.description, 10000, minimum=1)
    assert _copies([options.SWEEPS, copy]) == ["sweeps"]
    lams = [p for p in _reachable() if p.name == "lam"]
    assert len(lams) == 2 and not _copies(lams)


def _help_entries(text: str) -> dict[str, str]:
    """``--help`` output: the help text of every flag, without whitespace (argparse wraps
    lines, also after hyphens)."""
    entries: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^  (--[A-Za-z][\w-]*)", line)
        if m:
            current = m.group(1)
            entries[current] = line[len(m.group(0)) :]
        elif current and line.startswith("    "):
            entries[current] += " " + line
        else:
            current = None
    return {k: "".join(v.split()) for k, v in entries.items()}


def test_help_lists_every_option_with_its_default():
    text = run_rgpipe("mc", "--help").stdout
    entries = _help_entries(text)
    for system in SYSTEMS:
        for p in system.job_params:
            assert p.option in entries, (system.name, p.option)
            entry = entries[p.option]
            assert "".join(p.description.split()) in entry, (system.name, p.name)
            if p.default is not REQUIRED:
                assert f"[default:{_show(p).replace(' ', '')}]" in entry, (system.name, p.name)


def test_help_imports_no_numba_or_torch():
    code = (
        "import sys\n"
        "from rgpipe.cli import main\n"
        "try:\n"
        "    main(['mc', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "from rgpipe.mc import systems\n"
        "systems.validate_job({'system': 'xy', 'L': 4, 'couplings': [1.0]})\n"
        "print(sorted(m for m in ('numba', 'torch') if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=user_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    stage.add_arguments(parser)
    return parser.parse_args(["--out", "x.h5", *argv])


@pytest.mark.parametrize(
    "system,argv,stray",
    [
        ("oscillator", ["--beta", "4", "--n-tau", "16", "--L", "8"], "--L"),
        ("ising", ["--L", "8", "--n-tau", "16"], "--n-tau"),
        (
            "ising",
            ["--L", "8", "--lattice", "square", "--update", "wolff", "--start", "hot"],
            "--start",
        ),
        ("xy", ["--L", "8", "--coupling", "1.0", "--backend", "numba"], "--backend"),
        (
            "phi4",
            ["--L", "8", "--lam", "1", "--coupling", "0.6", "--configurations", "2", "--eta", "1"],
            "--eta",
        ),
        (
            "oscillator",
            ["--beta", "4", "--n-tau", "16", "--configurations", "2"],
            "--configurations",
        ),
        ("oscillator", ["--beta", "4", "--n-tau", "16", "--coupling", "1"], "--coupling"),
    ],
)
def test_an_option_of_another_system_is_rejected(system, argv, stray):
    args = _parse("--system", system, *argv)
    with pytest.raises(
        ConfigError, match=f"option\\(s\\) {stray} do not apply to --system {system}"
    ):
        stage.job_from_args(args)


def test_shared_flags_set_each_systems_option():
    ising = stage.job_from_args(
        _parse("--system", "ising", "--L", "8", "--lattice", "square", "--update", "wolff",
               "--coupling", "0.5", "0.4")
    )  # fmt: skip
    assert ising["couplings"] == [0.4, 0.5] and ising["sweeps"] == options.SWEEPS.default
    phi4 = stage.job_from_args(
        _parse("--system", "phi4", "--L", "8", "--lam", "1", "--coupling", "0.7", "0.6")
    )
    assert phi4["betas"] == [0.6, 0.7] and phi4["lam"] == 1.0 and "couplings" not in phi4
    osc = stage.job_from_args(
        _parse("--system", "oscillator", "--beta", "4", "--n-tau", "16", "--lam", "4", "--eta",
               "1", "--no-fourier-acceleration")
    )  # fmt: skip
    assert osc["lam"] == 4.0 and osc["fourier_acceleration"] is False


@pytest.mark.parametrize("system", SYSTEMS, ids=lambda s: s.name)
def test_command_flags_rebuild_the_job(system):
    """The workflow's flags, parsed by the command line, give back the job it hashes."""
    config = validate_config(
        {
            "mc": {
                "ising": {"a": {"lattice": "lieb", "sizes": [4], "couplings": [0.7, 0.6],
                                "update": "metropolis", "configurations": 2}},
                "xy": {"a": {"sizes": [4], "couplings": [1.0], "metropolis_step": 0.5}},
                "phi4": {"a": {"sizes": [4], "m0sq": [-1.0, -1.2], "lambda0": 0.5}},
                "oscillator": {"a": {"potential": "polynomial", "coeffs": [0, 1, 1, 0, 1],
                                     "beta": 4.0, "n_tau": [16], "fourier_acceleration": False}},
            }
        }
    )  # fmt: skip
    entry = config["mc"][system.name]["a"]
    size = entry[system.sizes_key][0]
    job = systems.ensemble_job(system.name, entry, size, 7)
    flags = systems.command_flags(system.name, job)
    assert flags.startswith(f"{system.size.option} {size} ")
    parsed = stage.job_from_args(_parse("--system", system.name, *flags.split()))
    assert parsed == job
    assert config_validate_job(f"{system.name}_mc_job", job) == job


def test_xy_sweep_needs_an_ergodic_move():
    """The check reads the composition of a sweep from the declared update table."""
    for update, (wolff, _, _) in XY_UPDATES.items():
        job = {"system": "xy", "L": 4, "couplings": [1.0], "update": update}
        if wolff:
            systems.validate_job({**job, "metropolis_per_sweep": 0})
        else:
            with pytest.raises(ConfigError, match="needs a Metropolis sweep"):
                systems.validate_job({**job, "metropolis_per_sweep": 0})


def test_validate_job_names_the_system_and_option():
    with pytest.raises(ConfigError, match="invalid phi4 mc job:\n  option 'or_sweeps'"):
        systems.validate_job(
            {"system": "phi4", "L": 4, "betas": [0.5], "lam": 1.0, "update": "overrelaxation",
             "or_sweeps": 0}
        )  # fmt: skip
    with pytest.raises(ConfigError, match="a move is given twice"):
        systems.validate_job(
            {"system": "oscillator", "lam": 1.0, "eta": 1.0, "beta": 2.0, "n_tau": 8,
             "update": "hmc+hmc"}
        )  # fmt: skip
    with pytest.raises(ConfigError, match="unknown system 'potts'"):
        systems.validate_job({"system": "potts"})


def test_scheduler_cost():
    entry = {"lattice": "lieb", "couplings": [0.7] * 9, "sweeps": 20000, "thermalization": 2000,
             "configurations": 64}  # fmt: skip
    assert systems.n_sites("ising", entry, 32) == 3 * 32 * 32
    # 3 x (3 L^2 sites x 22000 sweeps x 9 couplings) updates at 1e6/s
    assert systems.runtime_minutes("ising", entry, 32) == 31
    assert systems.runtime_minutes("ising", entry, 256) == 1947
    assert systems.runtime_minutes("ising", {**entry, "sweeps": 10, "thermalization": 0}, 8) == 10
    # 9 couplings x (96 B per measurement + 64 configurations + the correlator allowance)
    assert systems.memory_mb("ising", entry, 32) == int(
        1000 + 3 * 9 * (96 * 20000 + 8 * 64 * 3072 + 8 * 4096 * 3072) / 1e6
    )
    osc = {"beta": 60.0, "sweeps": 20000, "thermalization": 1000}
    assert systems.n_sites("oscillator", osc, 1200) == 1200
    # an HMC trajectory counts 10 updates per time slice
    assert systems.runtime_minutes("oscillator", osc, 1200) == 13
    assert systems.runtime_minutes("oscillator", osc, 120000) == 1260
    phi4 = {"betas": [0.6] * 7, "sweeps": 20000, "thermalization": 2000}
    assert systems.n_sites("phi4", phi4, 32) == 1024
    assert systems.runtime_minutes("phi4", phi4, 32) == 79
    ring = {"lattice": "ring", "couplings": [1.0], "sweeps": 10, "thermalization": 0}
    assert systems.n_sites("xy", ring, 12) == 12
