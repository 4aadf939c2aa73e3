"""The package's layers: base < physics < mc < learn < analysis < top (the CLI and the
whole-configuration module).  A module never imports one of a higher layer, also not
inside a function (found by parsing every module, so an upward import cannot hide)."""

from __future__ import annotations

import ast
from pathlib import Path

from util import ROOT

PACKAGE = ROOT / "rgpipe"
ORDER = ("base", "physics", "mc", "learn", "analysis", "top")
TOP = {"cli", "inspect", "workflow_config", "__main__"}


def layer(module: str) -> str:
    """The layer of a dotted module name under rgpipe."""
    parts = module.split(".")
    if len(parts) < 2:
        return "base"
    if parts[1] in ("physics", "mc", "learn", "analysis"):
        return parts[1]
    return "top" if parts[1] in TOP else "base"


def imports(path: Path) -> set[str]:
    """Every rgpipe module a file imports (top level and inside functions)."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("rgpipe")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rgpipe"):
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_no_module_imports_a_higher_layer():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        mine = ORDER.index(layer(module))
        for target in imports(path):
            if ORDER.index(layer(target)) > mine:
                bad.append(f"{module} ({layer(module)}) imports {target} ({layer(target)})")
    assert not bad, "\n".join(bad)


def test_the_layer_map_sees_an_upward_import(tmp_path):
    """The check itself can fail: a physics module importing the MC layer is caught."""
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from rgpipe.mc.systems import SYSTEMS\n")
    assert "rgpipe.mc.systems" in imports(f)
    assert ORDER.index(layer("rgpipe.mc.systems")) > ORDER.index(layer("rgpipe.physics.xy"))
