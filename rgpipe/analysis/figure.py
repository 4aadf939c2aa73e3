"""What every figure of the aggregate stage shares: the :class:`Figure` record, file names,
number formats and how a run and a reference value are named.

Importing it imports no matplotlib (the files are read without it); :mod:`.plots` selects
the Agg backend before any figure is drawn.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rgpipe.analysis.records import FileResult

if TYPE_CHECKING:
    import matplotlib.figure

DPI = 110
"""Resolution of the PNG files."""


@dataclass
class Figure:
    """A written figure.

    Attributes:
        path: the PNG file.
        kind: ``bias``, ``box``, ``scan``, :data:`PULLS` (the Monte Carlo validation) or
            the curve kind of a per-file figure (``binder``, ``helicity``, ``continuum`` or
            a learned-method family's own kind).
        title: one line for the report.
        caption: what is shown, for the report.
        sources: the result files the figure is drawn from.
    """

    path: Path
    kind: str
    title: str
    caption: str
    sources: list[str] = field(default_factory=list)


PULLS = "pulls"
"""Kind of the figure of the Monte Carlo validation (the pull of every point against its
exact value), shown in the report's validation section, not among :data:`SECTIONS`."""

SECTIONS = {
    "overview": "Overview: the bias of every group",
    "physics": "Physics: the curves, fits and extrapolations behind each estimate",
    "scan": "Hyper-parameter scans",
    "box": "Spread of the runs (groups with several runs)",
}
"""The report's figure sections, in report order: title of each."""


def section_of(kind: str) -> str:
    """The report section of a figure kind (a key of :data:`SECTIONS`): ``bias`` is the
    overview, ``scan`` and ``box`` their own, every per-file curve kind is physics."""
    return {"bias": "overview", "scan": "scan", "box": "box"}.get(kind, "physics")


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (letters, digits, '.', '_', '-')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def file_slug(path: str) -> str:
    """The last directory levels of a result path, e.g. ``ising_lieb_seed_1``."""
    parts = Path(path).with_suffix("").parts
    return slug("_".join(parts[-3:]))


def save(fig: matplotlib.figure.Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` (creating its directory) at :data:`DPI` and close it."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def fmt(x: float, digits: int = 5) -> str:
    """``x`` to ``digits`` significant digits, 'nan' when not finite."""
    return "nan" if not math.isfinite(x) else f"{x:.{digits}g}"


def paren(value: float, error: float) -> str:
    """``value(error)`` with the error's two significant digits in parentheses, e.g.
    0.76426(20); the value alone (6 digits) without a finite positive error."""
    if not math.isfinite(value):
        return "nan"
    if not math.isfinite(error) or error <= 0:
        return f"{value:.6g}"
    digits = max(0, 1 - math.floor(math.log10(error)))
    err = round(error * 10**digits)
    return f"{value:.{digits}f}({err})"


def reference_word(kind: str) -> str:
    """``literature`` for a literature reference value, else ``exact`` (legend labels)."""
    return "literature" if kind == "literature" else "exact"


def run_title(f: FileResult) -> str:
    """``system: <dir>/<file>`` naming the run of a per-file figure."""
    system = f.records[0].system if f.records else ""
    return f"{system}: {'/'.join(Path(f.path).parts[-2:])}"


def estimates_of(f: FileResult) -> dict[str, tuple[float, float, float]]:
    """estimate name -> (value, error, exact) of a file's file-level records."""
    return {r.estimate: (r.value, r.error, r.exact) for r in f.records if r.member < 0}
