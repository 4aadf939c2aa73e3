"""The registered learned-method families.

A family registers itself by existing: every subpackage of :mod:`rgpipe.learn` that has a
``family`` module defining ``FAMILY`` is one (``rgpipe/learn/mlrg/family.py``).  Families
outside the package, such as the one the test suite defines, are modules named in the
environment variable ``RGPIPE_FAMILIES`` (separated by commas), importable from
``sys.path``/``PYTHONPATH``; Snakemake passes the variable on to every job.

Only the declarations are imported here (parameters and hook references), never the
trainers, so listing the families stays cheap.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from functools import cache
from pathlib import Path

from rgpipe.learn.family import Family

ENV_VAR = "RGPIPE_FAMILIES"
"""Extra family modules, comma-separated."""

RESERVED = frozenset({"ising", "xy", "phi4", "oscillator", "summary", "report", "logs"})
"""Names a family may not take: the MC systems share the results/critical/ namespace."""


def _builtin_modules() -> list[str]:
    """``rgpipe.learn.<pkg>.family`` of every subpackage that has one."""
    here = Path(__file__).parent
    out = []
    for info in pkgutil.iter_modules([str(here)]):
        if info.ispkg and (here / info.name / "family.py").exists():
            out.append(f"rgpipe.learn.{info.name}.family")
    return sorted(out)


def _extra_modules() -> list[str]:
    return [m.strip() for m in os.environ.get(ENV_VAR, "").split(",") if m.strip()]


@cache
def _load(modules: tuple[str, ...]) -> dict[str, Family]:
    out: dict[str, Family] = {}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ImportError(
                f"family module {name!r} (from {ENV_VAR}?) cannot be imported: {exc}"
            ) from exc
        fam = getattr(module, "FAMILY", None)
        if not isinstance(fam, Family):
            raise TypeError(f"module {name!r} defines no FAMILY = Family(...)")
        if not fam.name.isidentifier() or fam.name in RESERVED:
            raise ValueError(f"family name {fam.name!r} (module {name}) is not allowed")
        if fam.name in out:
            raise ValueError(f"two families are named {fam.name!r}")
        out[fam.name] = fam
    return out


def families() -> dict[str, Family]:
    """Every registered family by name, built-in ones first."""
    return dict(_load(tuple(_builtin_modules() + _extra_modules())))


def get(name: str) -> Family:
    """The family ``name``.

    Raises:
        KeyError: naming the registered families.
    """
    known = families()
    if name not in known:
        raise KeyError(f"no learned-method family {name!r}; registered: {', '.join(known)}")
    return known[name]


def by_critical_method(method: str) -> Family | None:
    """The family whose critical analysis is ``critical --method <method>``, or None."""
    for fam in families().values():
        if fam.critical is not None and fam.critical.method == method:
            return fam
    return None


def by_stage(stage: str) -> Family | None:
    """The family whose training files have stage ``stage``, or None."""
    for fam in families().values():
        if fam.stage == stage:
            return fam
    return None
