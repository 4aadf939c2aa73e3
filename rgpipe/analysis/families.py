"""What the aggregate stage asks a learned-method family about its files.

A family (:class:`rgpipe.learn.family.Family`, found through :mod:`rgpipe.learn.registry`)
provides the aggregate stage's per-file content: which plot data its files hold
(``curves``), how each kind is drawn (``plots``) and in which order the values of its
categorical hyper-parameters appear in scan plots (``value_order``).  The hook signatures
are documented in :mod:`rgpipe.learn.family`.

A file's family is, in this order: its root attribute ``family``; for a training file the
family whose stage it has (``train_<family>``); for a critical file a root ``method``
attribute naming a registered family (files written before the ``family`` attribute).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rgpipe.analysis.figure import DPI, Figure, run_title
from rgpipe.analysis.records import FileResult
from rgpipe.learn import registry
from rgpipe.learn.family import Family, resolve

ValueOrder = Callable[[str, str], tuple]
"""``(short key, value as text) -> sort key`` of categorical swept values."""


def family_of(declared: str, stage: str, method: str) -> tuple[Family | None, str]:
    """The family of a file, and a note when its ``family`` attribute is not registered.

    Args:
        declared: the file's root attribute ``family`` ('' when absent).
        stage: its root attribute ``stage``.
        method: its root attribute ``method`` ('' when absent).

    Returns:
        (family or None, '' or why a declared family was not found).
    """
    if declared:
        known = registry.families()
        if declared in known:
            return known[declared], ""
        return None, (
            f"family {declared!r} is not registered ({', '.join(known) or 'none'}): "
            "its curves are not read"
        )
    if stage.startswith("train_"):
        return registry.by_stage(stage), ""
    if stage == "critical" and method:
        return registry.families().get(method), ""
    return None, ""


def family_curves(family: Family, fh: Any) -> dict[str, dict[str, Any]]:
    """The family's plot data of an open result file, by kind ({} without a curves hook)."""
    read = family.hook("curves")
    return {} if read is None else dict(read(fh))


def figure(f: FileResult, kind: str, path: Path) -> Figure | None:
    """Draw the curves ``kind`` of a family's file with the family's plot hook.

    The hook writes ``path`` (its directory is created here; its ``savefig`` uses
    :data:`~rgpipe.analysis.figure.DPI`) and returns the report's title and caption.

    Returns:
        The figure, or None when the family has no plot of ``kind``.

    Raises:
        RuntimeError: when the hook did not write ``path``.
    """
    import matplotlib  # reading the curves needs no matplotlib

    ref = registry.get(f.family).plots.get(kind)
    if ref is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"savefig.dpi": DPI}):
        title, caption = resolve(ref)(f.curves[kind], path, source=f.path, run=run_title(f))
    if not path.is_file():
        raise RuntimeError(f"plot hook {ref} ({kind} of {f.path}) wrote no {path}")
    return Figure(path, kind, str(title), str(caption), [f.path])


def alphabetical(key: str, value: str) -> tuple[str]:
    """The order of categorical values of a family without ``value_order``."""
    return (value,)


def value_order(family_name: str) -> ValueOrder:
    """The family's order of categorical swept values; alphabetical for Monte Carlo groups,
    unregistered families and families without the hook."""
    if not family_name:
        return alphabetical
    known = registry.families()
    hook = known[family_name].hook("value_order") if family_name in known else None
    return alphabetical if hook is None else hook
