"""One declaration per parameter, across the whole package: every option of the Monte Carlo
systems, the learned families, the training runner and the critical and aggregate stages is
one rgpipe.spec.Param, the config schema is generated from them, and the hand-written schema
file declares none of them."""

from __future__ import annotations

import importlib
import pkgutil

import rgpipe
from rgpipe.analysis import options as analysis_options
from rgpipe.config import load_base_schema
from rgpipe.learn import jobs, registry
from rgpipe.spec import Param
from rgpipe.workflow_config import load_schema


def every_param() -> list[Param]:
    """Every distinct Param object held by a module of the package, or by a family's spec."""
    found: dict[int, Param] = {}
    for info in pkgutil.walk_packages(rgpipe.__path__, "rgpipe."):
        if info.name.endswith(("__main__", ".cli")):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, Param):
                found[id(value)] = value
    for family in registry.families().values():
        found.update({id(p): p for p in family.spec})
    return list(found.values())


def copies(params: list[Param]) -> list[str]:
    """Names declared by two distinct objects with the same kind, description and default
    (a copy where the stages should share one declaration)."""
    seen: dict[tuple, Param] = {}
    out = []
    for p in params:
        key = (p.name, p.kind, p.description, repr(p.default))
        if key in seen and seen[key] is not p:
            out.append(p.name)
        seen[key] = p
    return out


def test_no_parameter_is_declared_twice():
    params = every_param()
    assert len(params) > 80  # MC systems, MLRG, runner, analysis
    assert not copies(params)


def test_the_copy_detector_can_fail():
    twin = Param("bootstrap", "int", analysis_options.BOOTSTRAP.description, 200, minimum=2)
    assert copies([analysis_options.BOOTSTRAP, twin]) == ["bootstrap"]


def _property_names(node: object) -> set[str]:
    """Every key of every ``properties`` mapping in a schema."""
    out: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            out |= set(node["properties"])
        for value in node.values():
            out |= _property_names(value)
    elif isinstance(node, list):
        for value in node:
            out |= _property_names(value)
    return out


def test_the_schema_file_declares_only_the_layout():
    """The hand-written file holds the file's layout (the stages and the MC systems); every
    parameter comes from a declaration."""
    declared = {p.name for p in every_param()}
    written = _property_names(load_base_schema())
    assert written == {"mc", "train", "ising", "xy", "phi4", "oscillator"}
    assert not written & declared


def test_critical_and_aggregate_jobs_are_generated():
    defs = load_schema()["$defs"]
    for param in analysis_options.CRITICAL:
        got = defs["critical_job"]["properties"][param.name]
        assert {k: v for k, v in got.items() if k != "contains"} == param.value_schema()
    for param in analysis_options.AGGREGATE:
        assert defs["aggregate_job"]["properties"][param.name] == param.value_schema()
    assert "flow" in defs["critical_job"]["properties"]["method"]["enum"]
    runner = {p.name for p in jobs.RUNNER}
    assert runner <= set(defs["mlrg_job"]["properties"])
