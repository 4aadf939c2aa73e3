"""``python -m rgpipe critical``: critical points from Monte Carlo data.

Inputs are Monte Carlo files of one system at several lattice sizes (one file per size,
as written by ``rgpipe mc``).

``--method binder`` (Ising; phi^4 with beta_c for K_c): the Binder-cumulant crossings of
every pair of consecutive sizes, extrapolated to L = infinity by a correlated fit in the
scaling variable g(L1, L2) ~ L^-(1/nu + omega) (:mod:`rgpipe.analysis.crossing_fit`); the
estimate K_c is the extrapolation, ``K_c_largest_pair`` the crossing of the two largest
sizes.  With two sizes only there is one crossing: K_c is that crossing, flagged
``extrapolated = False`` with the reason in ``fallback``::

    /estimates/K_c/{mean, error_of_mean}    attrs: method, exact, reference, extrapolated,
        fallback, chi2, dof, nu, omega, amplitude, omega_shift, pairs_used, pair, ...
    /estimates/K_c_largest_pair/{mean, error_of_mean}   attrs: pair, ...
    /crossings/{pairs, estimate, error, failed, replicates, scaling_variable, used,
        covariance, extrapolated_replicates}   attrs: the fit
    /curves/{coupling, sizes, binder, binder_error}          curves on a common grid
    /curves/measured_{coupling, binder, binder_error}        (S, R) the MC estimates

``--method helicity`` (XY): T_BKT from the Weber-Minnhagen fit of the helicity modulus
of all sizes (:mod:`rgpipe.analysis.bkt`)::

    /estimates/T_BKT/{mean, error_of_mean}  attrs: method, exact, reference, C, chi2, ...
    /fit/{temperature, chi2, replicates}    attrs: T_BKT, T_BKT_error, C, chi2, dof
    /curves/{sizes, temperature, helicity, helicity_error}

``--method continuum`` (0+1D field): E0 (the virial energy <H>(beta) at large beta) and
the gap E1 - E0, each extrapolated to a = 0 from runs at several n_tau (a = beta/n_tau)
by a weighted fit in powers of a (``--powers``, default 0 2); exact values from exact
diagonalisation of the continuum Hamiltonian::

    /estimates/{E0, gap}/{mean, error_of_mean}   attrs: chi2, dof, powers, exact, ...
    /points/{a, energy, energy_error, gap, gap_error}

Every estimate group carries ``exact`` (NaN where unknown), ``reference``, ``method``
and ``converged``; a fit that fails is written with NaN and ``converged = False``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from rgpipe.analysis.options import CRITICAL, critical_schema
from rgpipe.config import ConfigError, check_job
from rgpipe.store import StoreError, check_output, create_result, open_result, read_config


def exact_critical(system: str, lattice: str) -> tuple[float, str, str]:
    """The exact (or best literature) critical point of a model, its source and its kind
    (``exact`` or ``literature``)."""
    from rgpipe.analysis.bkt import T_BKT_LITERATURE
    from rgpipe.physics.ising_exact import J_C_LIEB, K_C_SQUARE

    known = {
        ("ising", "square"): (K_C_SQUARE, "K_c = ln(1 + sqrt 2)/2 (Onsager)", "exact"),
        ("ising", "lieb"): (
            J_C_LIEB,
            "J_c = arccosh(1 + sqrt 2)/2 (decimation to the square lattice)",
            "exact",
        ),
        ("xy", "square"): (
            T_BKT_LITERATURE,
            "T_BKT = 0.89294(8), Hasenbusch 2005 (literature)",
            "literature",
        ),
    }
    return known.get((system, lattice), (float("nan"), "none", "none"))


def literature_phi4(model: dict[str, Any]) -> tuple[float, str, str]:
    """beta_c of 2D phi^4 in the lattice form at lam = 1 (an approximate literature value:
    no bias in units of the error is computed against it), its source and kind."""
    if model.get("lam") == 1.0:
        return (
            0.680,
            "beta_c ~ 0.680 at lam = 1 (literature, approximate; strong corrections to scaling)",
            "literature",
        )
    return float("nan"), "none", "none"


def _family_methods() -> dict[str, Any]:
    """``{critical method: family}`` of the learned families that have a critical analysis."""
    from rgpipe.learn import registry

    return {f.critical.method: f for f in registry.families().values() if f.critical is not None}


def add_arguments(p: argparse.ArgumentParser) -> None:
    families = _family_methods()
    learned = "; ".join(f"{m}: {f.title} (one training file)" for m, f in families.items())
    p.add_argument(
        "--method",
        required=True,
        choices=[*METHODS, *families],
        help="binder: Binder crossings (Ising, phi^4); helicity: Weber-Minnhagen T_BKT (XY); "
        f"continuum: E0 and gap at a = 0 (0+1D field); {learned}",
    )
    p.add_argument("--inputs", nargs="+", required=True, help="Monte Carlo files (one per L)")
    g = p.add_argument_group("Monte Carlo methods")
    for param in CRITICAL:
        param.add_argument(g)
    p.add_argument("--out", required=True, help="output HDF5 file")
    added: dict[str, Any] = {}
    for method, family in families.items():
        g = p.add_argument_group(f"{method}: training settings the re-analysis may change")
        for name in family.critical.overrides:
            param = family.spec[name]
            if name in added:
                if added[name] is not param:
                    raise ValueError(f"two families declare the critical override {name!r}")
                continue
            added[name] = param
            param.add_argument(g, param.description + " [default: the training file's value]")


def _model_key(cfg: dict[str, Any]) -> tuple:
    """What must be equal across the inputs of one analysis (everything but the size)."""
    if cfg["system"] == "oscillator":
        keys = ("potential", "lam", "eta", "omega", "coeffs", "mass", "beta")
        return ("oscillator", json.dumps({k: cfg.get(k) for k in keys}, sort_keys=True))
    if cfg["system"] == "phi4":
        return ("phi4", json.dumps({k: cfg.get(k) for k in ("lam", "lambda0")}, sort_keys=True))
    return (cfg["system"], cfg.get("lattice", ""))


def _read_dataset(path: str, node: Any) -> np.ndarray:
    """A dataset's values; a damaged chunk raises a StoreError naming file and dataset."""
    from rgpipe.store import StoreError

    try:
        return node[()]
    except (OSError, RuntimeError, ValueError) as exc:
        raise StoreError(f"{path}: cannot read dataset {node.name} (damaged?): {exc}") from exc


def _read_one(path: str) -> dict[str, Any]:
    """Configuration, size, couplings, series and estimates of one MC file."""
    with open_result(path, stage="mc") as fh:
        cfg = read_config(fh)
        par = fh["parameters"]
        name = par.attrs.get("parameter", "coupling")
        return {
            "path": path,
            "cfg": cfg,
            "L": int(cfg["n_tau"] if cfg["system"] == "oscillator" else cfg["L"]),
            "n_spins": int(par.attrs["n_spins"]),
            "couplings": (np.atleast_1d(_read_dataset(path, par[name])) if name in par else None),
            "series": {
                k: np.atleast_2d(_read_dataset(path, v)) for k, v in fh["observables"].items()
            },
            "estimates": {
                k: (
                    np.atleast_1d(_read_dataset(path, g["mean"])),
                    np.atleast_1d(_read_dataset(path, g["error_of_mean"])),
                )
                for k, g in fh["estimates"].items()
            },
        }


def _read_inputs(paths: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-file configuration and data of the MC inputs (one model, distinct sizes).

    The size is L for lattice models and n_tau for the 0+1D field.

    Raises:
        ConfigError: inputs of several models (each file named) or repeated sizes.
        rgpipe.store.StoreError: a file that is not a complete MC result, or damaged.
    """
    items = [_read_one(path) for path in paths]
    models: dict[tuple, list[str]] = {}
    for d in items:
        models.setdefault(_model_key(d["cfg"]), []).append(d["path"])
    if len(models) != 1:
        groups = "; ".join(f"{key[0]} {key[1]}: {', '.join(p)}" for key, p in models.items())
        raise ConfigError(f"the inputs are not of one system and model: {groups}")
    sizes: dict[int, list[str]] = {}
    for d in items:
        sizes.setdefault(d["L"], []).append(d["path"])
    repeated = {n: p for n, p in sizes.items() if len(p) > 1}
    if repeated:
        raise ConfigError(
            "the inputs must have distinct sizes: "
            + "; ".join(f"size {n} in {', '.join(p)}" for n, p in repeated.items())
        )
    cfg = items[0]["cfg"]
    model = {"system": cfg["system"]}
    if cfg["system"] in ("oscillator", "phi4"):
        model.update(json.loads(_model_key(cfg)[1]))
    if cfg["system"] == "phi4":
        model["lattice"] = "square"
    elif cfg["system"] != "oscillator":
        model["lattice"] = cfg["lattice"]
    return sorted(items, key=lambda d: d["L"]), model


def _crossings(items: list[dict[str, Any]], job: dict[str, Any]) -> tuple[Any, str]:
    """Crossings of consecutive sizes (Ising: reweighted series; phi^4: interpolated
    estimates) and how they were computed."""
    from rgpipe.analysis.binder import (
        BinderCurve,
        SizeData,
        binder_crossings,
        interpolated_crossings,
    )

    if items[0]["cfg"]["system"] == "ising":
        sizes = [
            SizeData(
                d["L"],
                d["n_spins"],
                d["couplings"],
                d["series"]["energy"],
                d["series"]["magnetization"],
            )
            for d in items
        ]
        res = binder_crossings(sizes, n_boot=job["bootstrap"], seed=job["seed"])
        return res, "multiple-histogram reweighting, block bootstrap"
    curves = []
    for d in items:
        order = np.argsort(d["couplings"])
        mean, err = d["estimates"]["binder"]
        curves.append(BinderCurve(d["L"], d["couplings"][order], mean[order], err[order]))
    res = interpolated_crossings(curves, n_boot=job["bootstrap"], seed=job["seed"])
    return res, "cubic-spline interpolation of the estimates, parametric bootstrap"


def _binder(items: list[dict[str, Any]], job: dict[str, Any], fh: Any):
    """Binder crossings of all consecutive pairs extrapolated to L = infinity; writes the
    groups; returns the estimate records (the extrapolation and the largest pair)."""
    from rgpipe.analysis.crossing_fit import extrapolate

    res, how = _crossings(items, job)
    ext = extrapolate(res.pairs, res.estimate, res.replicates)
    name = "beta_c" if items[0]["cfg"]["system"] == "phi4" else "K_c"
    _write_crossings(fh, res, ext)
    _write_binder_curves(fh, res, items)
    _print_crossings(name, res, ext)
    return [
        {
            "name": name,
            "mean": ext.value,
            "error": ext.error,
            "attrs": _extrapolated_attrs(name, how, res, ext),
        },
        {
            "name": f"{name}_largest_pair",
            "mean": float(res.estimate[-1]),
            "error": float(res.error[-1]),
            "attrs": {
                "units": "1",
                "description": "critical coupling from the Binder crossing of the two largest "
                f"sizes ({how}), not extrapolated",
                "method": "binder_crossing",
                "pair": res.pairs[-1],
                "failed_replicates": int(res.failed[-1]),
            },
        },
    ]


def _print_crossings(name: str, res: Any, ext: Any) -> None:
    """Every pair's crossing and the extrapolation (or why there is none), on stderr."""
    from rgpipe.analysis.crossing_fit import OMEGA_ALT

    for (l1, l2), x, e in zip(res.pairs, res.estimate, res.error, strict=True):
        print(f"rgpipe critical: crossing L={l1},{l2}: K = {x:.6f} +- {e:.6f}", file=sys.stderr)
    if ext.extrapolated:
        print(
            f"rgpipe critical: crossings extrapolated in g(L1, L2) (nu = {ext.nu:g}, omega = "
            f"{ext.omega:g}): {name} = {ext.value:.6f} +- {ext.error:.6f}, chi2/dof = "
            f"{ext.chi2:.2f}/{ext.dof}, omega = {OMEGA_ALT:g} shifts it by {ext.omega_shift:+.6f}",
            file=sys.stderr,
        )
    else:
        print(f"rgpipe critical: {ext.fallback}", file=sys.stderr)


def _extrapolated_attrs(name: str, how: str, res: Any, ext: Any) -> dict[str, Any]:
    """Attributes of the extrapolated estimate: the fit, its exponents, the fallback flag
    and the largest pair's crossing."""
    from rgpipe.analysis.crossing_fit import OMEGA_ALT

    if ext.extrapolated:
        described = (
            f"critical coupling: the Binder crossings of all {int(ext.used.sum())} pairs of "
            f"consecutive sizes ({how}) extrapolated to L = infinity by a correlated fit "
            f"K* = {name} + A g(L1, L2), g = (L1^-omega - L2^-omega)/(L2^(1/nu) - L1^(1/nu)), "
            f"nu = {ext.nu:g}, omega = {ext.omega:g} (bootstrap covariance of the pairs)"
        )
    else:
        described = f"critical coupling: {ext.fallback} ({how})"
    return {
        "units": "1",
        "description": described,
        "method": "binder_crossing",
        "pair": res.pairs[-1],
        "pairs_used": res.pairs[ext.used].reshape(-1),
        "failed_replicates": int(np.sum(~np.isfinite(ext.replicates))),
        "extrapolated": ext.extrapolated,
        "fallback": ext.fallback,
        "chi2": ext.chi2,
        "dof": ext.dof,
        "nu": ext.nu,
        "omega": ext.omega,
        "amplitude": ext.slope,
        "omega_alt": OMEGA_ALT,
        "omega_shift": ext.omega_shift,
        "largest_pair_mean": float(res.estimate[-1]),
        "largest_pair_error": float(res.error[-1]),
    }


def _write_crossings(fh: Any, res: Any, ext: Any) -> None:
    """``/crossings``: every pair's crossing with its bootstrap replicates, the scaling
    variable and covariance of the extrapolation and its refits (attrs: the fit)."""
    cr = fh.create_group("crossings")
    for name in ("pairs", "estimate", "error", "failed", "replicates"):
        cr.create_dataset(name, data=getattr(res, name))
    cr.create_dataset("scaling_variable", data=ext.scaling)
    cr.create_dataset("used", data=ext.used)
    cr.create_dataset("covariance", data=ext.covariance)
    cr.create_dataset("extrapolated_replicates", data=ext.replicates)
    cr["scaling_variable"].attrs["description"] = (
        "g(L1, L2) = (L1^-omega - L2^-omega)/(L2^(1/nu) - L1^(1/nu)), the crossing is linear in it"
    )
    cr.attrs.update(
        {
            "extrapolated": ext.extrapolated,
            "fallback": ext.fallback,
            "intercept": ext.value,
            "intercept_error": ext.error,
            "amplitude": ext.slope,
            "chi2": ext.chi2,
            "dof": ext.dof,
            "nu": ext.nu,
            "omega": ext.omega,
            "omega_shift": ext.omega_shift,
        }
    )


def _write_binder_curves(fh: Any, res: Any, items: list[dict[str, Any]]) -> None:
    """``/curves``: the interpolated (or reweighted) curves on a common grid and the Monte
    Carlo estimates at the simulated couplings (``measured_*``, (S, R) padded with NaN)."""
    cv = fh.create_group("curves")
    cv.create_dataset("coupling", data=res.grid)
    cv.create_dataset("sizes", data=np.array([d["L"] for d in items]))
    cv.create_dataset("binder", data=res.curves)
    cv.create_dataset("binder_error", data=res.curve_errors)
    width = max(len(d["couplings"]) for d in items)
    measured = np.full((3, len(items), width), np.nan)
    for s, d in enumerate(items):
        order = np.argsort(d["couplings"])
        mean, err = d["estimates"].get("binder", (np.full(order.shape, np.nan),) * 2)
        measured[:, s, : len(order)] = d["couplings"][order], mean[order], err[order]
    for name, data in zip(("coupling", "binder", "binder_error"), measured, strict=True):
        cv.create_dataset(f"measured_{name}", data=data)


def _helicity(items: list[dict[str, Any]], job: dict[str, Any], fh: Any):
    """Weber-Minnhagen T_BKT; writes the groups; returns (estimate, error, name, attrs)."""
    from rgpipe.analysis.bkt import HelicityData, bootstrap_t_bkt

    data = []
    for d in items:
        k = d["couplings"]
        if np.any(k <= 0):
            raise ConfigError("the helicity fit needs couplings K > 0 (T = 1/K)")
        order = np.argsort(1.0 / k)
        mean, err = d["estimates"]["helicity"]
        data.append(HelicityData(d["L"], 1.0 / k[order], mean[order], err[order]))
    fit, reps = bootstrap_t_bkt(data, n_boot=job["bootstrap"], seed=job["seed"])
    ok = np.isfinite(reps)
    err = float(np.std(reps[ok], ddof=1)) if ok.sum() > 1 else float("nan")
    g = fh.create_group("fit")
    g.create_dataset("temperature", data=fit.grid)
    g.create_dataset("chi2", data=fit.chi2_curve)
    g.create_dataset("replicates", data=reps)
    g.attrs.update(
        {
            "T_BKT": fit.t_bkt,
            "T_BKT_error": err,
            "C": fit.c,
            "chi2": fit.chi2,
            "dof": fit.dof,
            "form": "Upsilon_L(T_BKT) = (2 T_BKT/pi) [1 + 1/(2 ln L + C)]",
        }
    )
    cv = fh.create_group("curves")
    cv.create_dataset("sizes", data=np.array([d.L for d in data]))
    cv.create_dataset("temperature", data=np.array([d.temperature for d in data]))
    cv.create_dataset("helicity", data=np.array([d.helicity for d in data]))
    cv.create_dataset("helicity_error", data=np.array([d.error for d in data]))
    print(
        f"rgpipe critical: T_BKT = {fit.t_bkt:.5f} +- {err:.5f}, C = {fit.c:.3f}, "
        f"chi2/dof = {fit.chi2:.2f}/{fit.dof}",
        file=sys.stderr,
    )
    attrs = {
        "units": "J/k_B",
        "description": "BKT temperature from the Weber-Minnhagen fit of the helicity "
        "modulus, Upsilon_L = (2T/pi)[1 + 1/(2 ln L + C)]",
        "method": "helicity_weber_minnhagen",
        "C": fit.c,
        "chi2": fit.chi2,
        "dof": fit.dof,
        "failed_replicates": int((~ok).sum()),
    }
    return [{"name": "T_BKT", "mean": fit.t_bkt, "error": err, "attrs": attrs}]


def _continuum(items: list[dict[str, Any]], job: dict[str, Any], fh: Any):
    """E0 and the gap extrapolated to a = 0; exact values from exact diagonalisation."""
    from rgpipe.physics.oscillator import extrapolate_continuum, potential_from_spec
    from rgpipe.physics.oscillator_exact import continuum_spectrum, continuum_thermal

    cfg = items[0]["cfg"]
    beta, mass = float(cfg["beta"]), float(cfg["mass"])
    a = np.array([beta / d["L"] for d in items])
    pts = fh.create_group("points")
    pts.create_dataset("a", data=a)
    pot = potential_from_spec(cfg, mass)
    spectrum = continuum_spectrum(pot, mass)
    thermal = continuum_thermal(spectrum, beta)
    exact = {
        "energy": (float(spectrum.energies[0]), float(thermal.energy)),
        "gap": (float(spectrum.energies[1] - spectrum.energies[0]), float("nan")),
    }
    out = []
    for obs, name in (("energy", "E0"), ("gap", "gap")):
        mean = np.array([d["estimates"][obs][0][0] for d in items])
        err = np.array([d["estimates"][obs][1][0] for d in items])
        pts.create_dataset(obs, data=mean)
        pts.create_dataset(f"{obs}_error", data=err)
        powers = tuple(job["powers"])
        ok = np.isfinite(mean) & np.isfinite(err) & (err > 0)
        if ok.sum() > len(powers) - 1:
            ext = extrapolate_continuum(
                list(zip(a[ok], mean[ok], err[ok], strict=True)), powers=powers
            )
            value, error, chi2, dof = ext.value, ext.error, ext.chi2, ext.dof
        else:
            value = error = chi2 = float("nan")
            dof = 0
        print(
            f"rgpipe critical: {name}(a -> 0) = {value:.6f} +- {error:.6f}, "
            f"chi2/dof = {chi2:.2f}/{dof}, exact {exact[obs][0]:.6f}",
            file=sys.stderr,
        )
        attrs = {
            "units": "energy (hbar = 1)",
            "description": (
                "ground-state energy: the virial <H>(beta) extrapolated to a = 0 (thermal "
                "excess of order gap exp(-beta gap) not removed)"
                if obs == "energy"
                else "E1 - E0 from cosh fits of C(tau), extrapolated to a = 0"
            ),
            "method": "continuum_extrapolation",
            "powers": np.array(powers),
            "chi2": chi2,
            "dof": dof,
            "points_used": int(ok.sum()),
            "exact_thermal": exact[obs][1],
        }
        out.append(
            {
                "name": name,
                "mean": value,
                "error": error,
                "attrs": attrs,
                "exact": exact[obs][0],
                "reference": "exact diagonalisation of the continuum Hamiltonian",
            }
        )
    return out


MIN_SIZES = {
    "binder": lambda job: 2,
    "helicity": lambda job: 2,
    "continuum": lambda job: len(job["powers"]),
}
"""Inputs (sizes) each method needs: two for a crossing or a fit in ln L, one more than the
fit parameters (the powers of a) for the continuum extrapolation."""

METHODS = {
    "binder": (_binder, ("ising", "phi4")),
    "helicity": (_helicity, ("xy",)),
    "continuum": (_continuum, ("oscillator",)),
}


def _run_family(family: Any, args: argparse.Namespace) -> int:
    """Re-analyse the trained models of a learned family (one training file)."""
    from rgpipe.spec import given

    if len(args.inputs) != 1:
        print(f"rgpipe critical: --method {args.method} takes one training file", file=sys.stderr)
        return 2
    params = [family.spec[name] for name in family.critical.overrides]
    try:
        estimates = family.hook_critical(args.out, args.inputs[0], given(args, params))
    except (OSError, ValueError) as exc:
        print(f"rgpipe critical: {exc}", file=sys.stderr)
        return 2
    for name, st in estimates.items():
        print(f"rgpipe critical: {name} = {st.mean:.6f} +- {st.error_of_mean:.6f}", file=sys.stderr)
    print(f"rgpipe critical: wrote {args.out}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    """Validate, analyse, write."""
    try:
        check_output(args.out)
    except StoreError as exc:
        print(f"rgpipe critical: {exc}", file=sys.stderr)
        return 2
    family = _family_methods().get(args.method)
    if family is not None:
        return _run_family(family, args)
    try:
        given = {
            "method": args.method,
            "bootstrap": args.bootstrap,
            "seed": args.seed,
            "powers": args.powers,
        }
        job = check_job(
            {k: v for k, v in given.items() if v is not None},
            critical_schema(tuple(METHODS)),
            "critical job",
        )
        items, model = _read_inputs(args.inputs)
        analyse, systems = METHODS[job["method"]]
        if model["system"] not in systems:
            raise ConfigError(
                f"--method {job['method']} needs {' or '.join(systems)} inputs, "
                f"got {model['system']} ({', '.join(args.inputs)})"
            )
        needed = MIN_SIZES[job["method"]](job)
        if len(items) < needed:
            raise ConfigError(
                f"--method {job['method']} needs at least {needed} sizes, got {len(items)} "
                f"({', '.join(args.inputs)})"
            )
    except (ConfigError, OSError) as exc:
        print(f"rgpipe critical: {exc}", file=sys.stderr)
        return 2
    # the Monte Carlo settings shared by the inputs (seed and size aside): two ensembles
    # that differ, e.g. in their coupling grid, are then told apart downstream
    mc = {k: v for k, v in items[0]["cfg"].items() if k not in ("seed", "L", "n_tau")}
    config = {**job, **model, "sizes": [d["L"] for d in items], "mc": mc}
    with create_result(
        args.out, stage="critical", config=config, seed=job["seed"], inputs=args.inputs
    ) as fh:
        estimates = analyse(items, job, fh)
        group = fh.create_group("estimates")
        for e in estimates:
            if "exact" not in e and model["system"] == "phi4":
                e["exact"], e["reference"], e["reference_kind"] = literature_phi4(model)
            elif "exact" not in e:
                e["exact"], e["reference"], e["reference_kind"] = exact_critical(
                    model["system"], model.get("lattice")
                )
            est = group.create_group(e["name"])
            est.create_dataset("mean", data=e["mean"])
            est.create_dataset("error_of_mean", data=e["error"])
            est.attrs.update(
                {
                    **e["attrs"],
                    "exact": e["exact"],
                    "reference": e["reference"],
                    "reference_kind": e.get("reference_kind", "exact"),
                    "converged": bool(np.isfinite(e["mean"])),
                }
            )
            print(
                f"rgpipe critical: {e['name']} = {e['mean']:.6f} +- {e['error']:.6f} "
                f"(exact {e['exact']:.6f})",
                file=sys.stderr,
            )
        fh.attrs.update({k: v for k, v in model.items() if v is not None})
    print(f"rgpipe critical: wrote {args.out}", file=sys.stderr)
    return 0
