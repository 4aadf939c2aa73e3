"""Config fuzzing: malformed variants of config.yaml are each rejected before any job with the
key named; valid variants are accepted.  Variants are generated from the default config
(fixed seed), so every key it has is exercised."""

from __future__ import annotations

import copy
import math
import random
import shutil
import subprocess
from collections.abc import Iterator

import pytest
import yaml
from util import ROOT, user_env

from rgpipe.config import ConfigError
from rgpipe.workflow_config import validate_config

BASE = yaml.safe_load((ROOT / "config.yaml").read_text())


def leaves(node: object, path: str = "") -> Iterator[tuple[str, object]]:
    """(dotted path, value) of every scalar and list element, as error messages name them."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list) and node and not isinstance(node[0], list | dict):
        yield path, node
        for i, value in enumerate(node):
            yield f"{path}[{i}]", value
    else:
        yield path, node


def mappings(node: object, path: str = "") -> Iterator[str]:
    """The dotted path of every mapping."""
    if isinstance(node, dict):
        yield path
        for key, value in node.items():
            yield from mappings(value, f"{path}.{key}" if path else key)


def setting(cfg: dict, path: str, value: object) -> dict:
    """A copy of ``cfg`` with the value at ``path`` (dotted, with [i]) replaced."""
    out = copy.deepcopy(cfg)
    parts = path.replace("]", "").replace("[", ".").split(".")
    node = out
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


def malformed() -> list[tuple[str, dict, str]]:
    """(what, config, key that must be named) for variants that are invalid by construction."""
    cases = []
    for path, value in leaves(BASE):
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            cases.append(
                ("whole-number float for an integer", setting(BASE, path, value + 0.0), path)
            )
            cases.append(("text for an integer", setting(BASE, path, "many"), path))
        elif isinstance(value, float):
            cases.append(("text for a number", setting(BASE, path, "x"), path))
            cases.append(("NaN", setting(BASE, path, math.nan), path))
        elif isinstance(value, str):
            cases.append(("a number for a string", setting(BASE, path, 17), path))
        elif isinstance(value, list):
            cases.append(("a mapping for a list", setting(BASE, path, {"a": 1}), path))
    for path in mappings(BASE):
        if path:
            bad = copy.deepcopy(BASE)
            node = bad
            for part in path.split("."):
                node = node[part]
            node["zz_unknown"] = 1
            cases.append(("an unknown key", bad, f"{path}.zz_unknown"))
    for path, value in leaves(BASE):
        if path.endswith(".seeds") and isinstance(value, list):
            cases.append(("a seed beyond int64", setting(BASE, path, [2**63]), path))
            cases.append(("a negative seed", setting(BASE, path, [-1]), path))
    return cases


def valid() -> list[tuple[str, dict]]:
    """Variants that must pass: reordered keys, changed values within bounds, renamed and
    added ensembles, extra seeds."""
    rng = random.Random(0)
    out = []
    shuffled = {k: BASE[k] for k in reversed(list(BASE))}
    out.append(("sections reordered", shuffled))
    for system, ensembles in BASE["mc"].items():
        for name, ens in ensembles.items():
            renamed = copy.deepcopy(BASE)
            renamed["mc"][system][f"{name}_copy"] = copy.deepcopy(ens)
            out.append((f"mc.{system}.{name} copied", renamed))
            longer = setting(BASE, f"mc.{system}.{name}.sweeps", ens["sweeps"] * rng.randint(2, 5))
            out.append((f"mc.{system}.{name} longer", longer))
            seeds = setting(BASE, f"mc.{system}.{name}.seeds", [*ens.get("seeds", [0]), 99])
            out.append((f"mc.{system}.{name} one more seed", seeds))
    for name, study in BASE["train"]["mlrg"].items():
        out.append(
            (f"train.mlrg.{name} epochs halved", setting(BASE, f"train.mlrg.{name}.epochs",
                                                         study["epochs"] // 2))
        )  # fmt: skip
        out.append(
            (f"train.mlrg.{name} seeds apart", setting(BASE, f"train.mlrg.{name}.seeds",
                                                       [0, study["n_models"]]))
        )  # fmt: skip
    return out


CASES = malformed()


def test_the_generator_covers_the_config():
    assert len(CASES) > 150
    assert {what for what, _, _ in CASES} >= {
        "whole-number float for an integer",
        "an unknown key",
        "a seed beyond int64",
        "NaN",
    }


@pytest.mark.parametrize("index", range(len(CASES)))
def test_a_malformed_variant_is_rejected_naming_its_key(index):
    what, cfg, key = CASES[index]
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    # an item of a sweep list is reported with its list (the value or list that failed)
    named = (f"'{key}", f"'{key.rsplit('[', 1)[0]}'")
    assert any(n in str(info.value) for n in named), f"{what}: {info.value}"


@pytest.mark.parametrize("what,cfg", valid(), ids=[w for w, _ in valid()])
def test_a_valid_variant_is_accepted(what, cfg):
    validate_config(cfg)


def test_the_workflow_rejects_before_any_job(tmp_path):
    """The same checks run when Snakemake starts: a duplicate key (which YAML alone would
    accept, the last winning) and an integer written as 20000.0 stop `snakemake -n`."""
    for name in ("Snakefile", "workflow", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    text = (ROOT / "config.yaml").read_text()
    duplicate = text.replace("      sweeps: 20000\n", "      sweeps: 20000\n      sweeps: 100\n", 1)
    whole = text.replace("      sweeps: 20000\n", "      sweeps: 20000.0\n", 1)
    for variant, needle in ((duplicate, "duplicate key 'sweeps'"), (whole, "sweeps'")):
        assert variant != text
        (tmp_path / "config.yaml").write_text(variant)
        proc = subprocess.run(
            [shutil.which("snakemake", path=user_env()["PATH"]), "-n", "--cores", "1"],
            cwd=tmp_path, env=user_env(), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode != 0 and needle in proc.stdout + proc.stderr
        assert not (tmp_path / "results").exists()
