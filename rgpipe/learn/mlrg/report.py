"""The MLRG family's hooks of the aggregate stage: its plot data, its figure, its ordering.

* :func:`read_curves`: the learned flow of a training or critical file (kind ``flow``);
* :func:`flow_plot`: that flow on the Ising axis with every member's critical points;
* :func:`value_order`: blocks and representations in ladder order in scan plots.

The signatures are those of :mod:`rgpipe.learn.family`.  Nothing here imports torch, and
matplotlib only when a figure is drawn.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np


def read_curves(fh: Any) -> dict[str, dict[str, Any]]:
    """The plot data of an MLRG training or critical file.

    Returns:
        ``{"flow": d}`` when the file has ``/flow/{J0, f}``, else {}; ``d`` holds J0 (G,),
        f (M, G, n) (the flow f(J) = J' - J at J = (J0, 0, ..., 0) of every member),
        seed (M,), J_c (M,), fixed_points: list of (k, n) arrays and n_relevant: list of
        (k,) arrays (per member, in ``seed`` order; -1 where unknown), and J_c_exact (the
        ``exact`` attribute of ``/estimates/J_c``, NaN without one).
    """
    if "flow" not in fh or not {"J0", "f"} <= set(fh["flow"]):
        return {}
    d: dict[str, Any] = {"J0": np.asarray(fh["flow/J0"][()]), "f": np.asarray(fh["flow/f"][()])}
    if d["f"].ndim == 2:  # (G, n) of a single model
        d["f"] = d["f"][None]
    models = fh["models"] if "models" in fh else {}
    seeds = np.atleast_1d(models["seed"][()]) if "seed" in models else np.arange(len(d["f"]))
    d["seed"] = seeds
    d["J_c"] = np.atleast_1d(models["J_c"][()]) if "J_c" in models else np.full(len(seeds), np.nan)
    fps, rel = [], []
    for s in seeds:
        key = f"fixed_points/{int(s)}"
        if key in models and "J" in models[key]:
            fps.append(np.atleast_2d(models[key]["J"][()]))
            rel.append(
                np.atleast_1d(models[key]["n_relevant"][()])
                if "n_relevant" in models[key]
                else np.full(len(fps[-1]), -1)
            )
        else:
            fps.append(np.zeros((0, d["f"].shape[-1])))
            rel.append(np.zeros(0, dtype=np.int64))
    d["fixed_points"], d["n_relevant"] = fps, rel
    exact = float("nan")
    if "estimates" in fh and "J_c" in fh["estimates"]:
        value = np.asarray(fh["estimates/J_c"].attrs.get("exact", np.nan), dtype=np.float64)
        exact = float(value) if value.size == 1 else exact
    d["J_c_exact"] = exact
    return {"flow": d}


def flow_plot(data: dict[str, Any], path: Path, *, source: str, run: str) -> tuple[str, str]:
    """The learned flow f_0(J0, 0, ..., 0) of every member, with the critical points.

    Args:
        data: ``read_curves(fh)["flow"]``.
        path: the PNG file to write.
        source: the result file the data come from.
        run: short name of the run for the heading.

    Returns:
        (title, caption) for the report.
    """
    import matplotlib.pyplot as plt

    exact = float(data["J_c_exact"])
    fig, ax = plt.subplots(figsize=(6.8, 4.6), layout="constrained")
    J0, flow = data["J0"], data["f"]
    for m in range(flow.shape[0]):
        ax.plot(
            J0, flow[m, :, 0], color="C0", lw=0.8, alpha=0.5, label="members" if m == 0 else None
        )
    if flow.shape[0] > 1:
        ax.plot(J0, np.nanmean(flow[:, :, 0], axis=0), color="C0", lw=2, label="mean over members")
    ax.axhline(0.0, color="k", lw=0.8)
    jc = np.asarray(data["J_c"], float)
    ax.plot(
        jc,
        np.zeros_like(jc),
        "o",
        color="C1",
        ms=6,
        mfc="none",
        zorder=4,
        label="J_c per member (critical surface on the Ising axis)",
    )
    fp_x = [
        fp[k, 0]
        for fp, rel in zip(data["fixed_points"], data["n_relevant"], strict=True)
        for k in range(len(fp))
        if rel[k] == 1
    ]
    if fp_x:
        ax.plot(
            fp_x,
            np.zeros(len(fp_x)),
            "x",
            color="C2",
            ms=8,
            mew=2,
            zorder=5,
            label="critical fixed points J*_0 (one relevant direction)",
        )
    if math.isfinite(exact):
        ax.axvline(exact, color="C3", ls="--", lw=1.2, label=f"exact J_c = {exact:.7g}")
    n = flow.shape[-1]
    ax.set_xlabel("Ising coupling J0 (other couplings 0)")
    ax.set_ylabel("learned flow f_0(J) = J0' - J0")
    ax.set_title(
        f"Learned RG flow, {run}\n{flow.shape[0]} members, {n} coupling{'s' if n > 1 else ''}"
    )
    ax.legend(fontsize=8, loc="best", framealpha=0.95)
    ax.grid(alpha=0.3)
    fig.savefig(path)
    plt.close(fig)
    return (
        f"Learned RG flow of {source}",
        "Thin lines: f_0 of each ensemble member on the Ising axis J = (J0, 0, ...); thick: "
        "their mean; circles: each member's J_c; crosses: first components of the critical "
        "fixed points; dashed: exact J_c.",
    )


_CLUSTER_VALUE = re.compile(r"^(\d+)x(\d+)$")
_IRREP_TERM = re.compile(r"^(\d*)(A1|A2|B1|B2|E)$")
_IRREP_DIM = {"A1": 1, "A2": 1, "B1": 1, "B2": 1, "E": 2}


def value_order(key: str, value: str) -> tuple[int, int, int, str]:
    """Sort key putting categorical hyper-parameter values in ladder order (any ``key``).

    Blocks by size (``"plaquette"`` is the 1 x 1 cluster, then ``"NxM"`` by N M, then N),
    representations by their dimension (A1 < A1+E < 2A1+E), anything else alphabetically
    after them; e.g. ``["4x2", "plaquette", "2x2"]`` -> plaquette, 2x2, 4x2.
    """
    if value == "plaquette":
        return (0, 1, 1, value)
    match = _CLUSTER_VALUE.match(value)
    if match:
        nx, ny = int(match.group(1)), int(match.group(2))
        return (0, nx * ny, nx, value)
    terms = [_IRREP_TERM.match(t.strip()) for t in value.split("+")]
    if all(terms):
        dim = sum(int(t.group(1) or 1) * _IRREP_DIM[t.group(2)] for t in terms)
        return (1, dim, len(terms), value)
    return (2, 0, 0, value)
