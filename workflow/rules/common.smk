# Validation, target lists and input/param functions shared by every rule.
import math

from rgpipe.config import canonical_json, validate_config

# Validate (and fill defaults) before any job starts: a bad key or value stops here
# with a message naming it, and nothing runs.
_validated = validate_config(config)
config.clear()
config.update(_validated)

ENV = "../envs/rgpipe.yaml"
# Options of `python -m rgpipe mc` per system: job key -> flag.  Every key of the
# ensemble except sizes/seeds becomes a flag, so the command line carries the whole job.
MC_FLAGS = {
    "lattice": "--lattice",
    "couplings": "--coupling",
    "update": "--update",
    "backend": "--backend",
    "sweeps": "--sweeps",
    "thermalization": "--thermalization",
    "measure_every": "--measure-every",
    "configurations": "--configurations",
    "start": "--start",
    "metropolis_step": "--metropolis-step",
    "clusters_per_sweep": "--clusters-per-sweep",
    "metropolis_per_sweep": "--metropolis-per-sweep",
    "overrelax_per_sweep": "--overrelax-per-sweep",
}


wildcard_constraints:
    system=r"ising|xy",
    ensemble=r"[A-Za-z][A-Za-z0-9_-]*",
    L=r"[0-9]+",
    seed=r"[0-9]+",


def ensemble(wildcards):
    """The config entry of the ensemble named by the {system} and {ensemble} wildcards."""
    return config["mc"][wildcards.system][wildcards.ensemble]


def mc_job(wildcards):
    """The job slice `python -m rgpipe mc` runs with (as the CLI fills it in)."""
    ens = ensemble(wildcards)
    job = {k: v for k, v in ens.items() if k not in ("sizes", "seeds")}
    job.update(
        system=wildcards.system,
        L=int(wildcards.L),
        seed=int(wildcards.seed),
        couplings=sorted(ens["couplings"]),
    )
    return job


def mc_flags(wildcards):
    """The job as command-line flags (null values, i.e. automatic settings, omitted)."""
    parts = []
    for key, value in mc_job(wildcards).items():
        if key not in MC_FLAGS or value is None:
            continue
        if isinstance(value, list):
            value = " ".join(repr(float(v)) for v in value)
        parts.append(f"{MC_FLAGS[key]} {value}")
    return " ".join(parts)


def n_sites(wildcards):
    ens = ensemble(wildcards)
    per_cell = 3 if ens.get("lattice") == "lieb" else 1
    return int(wildcards.L) ** (1 if ens.get("lattice") == "ring" else 2) * per_cell


def mc_runtime_min(wildcards):
    """Generous wall-time estimate in minutes (1e6 site updates/s worst case, x3)."""
    ens = ensemble(wildcards)
    sweeps = ens["sweeps"] + ens["thermalization"]
    work = n_sites(wildcards) * sweeps * len(ens["couplings"])
    return max(10, math.ceil(3 * work / 1e6 / 60))


def mc_mem_mb(wildcards):
    """Series (up to 12 x 8 B per measurement) and configurations (8 B per site), plus
    interpreter overhead."""
    ens = ensemble(wildcards)
    k = len(ens["couplings"])
    data = k * (96 * ens["sweeps"] + 8 * ens["configurations"] * n_sites(wildcards)) / 1e6
    return int(1000 + 3 * data)


def mc_targets():
    """Every Monte Carlo output file of the configuration."""
    return [
        f"results/mc/{system}/{name}/L~{L}/seed~{seed}.h5"
        for system, ensembles in config["mc"].items()
        for name, ens in ensembles.items()
        for L in ens["sizes"]
        for seed in ens["seeds"]
    ]


CRITICAL_METHOD = {"ising": "binder", "xy": "helicity"}


def critical_targets():
    """Critical-point files: every ensemble with at least two sizes (square-lattice XY
    only), every seed."""
    return [
        f"results/critical/{system}/{name}/seed~{seed}.h5"
        for system, ensembles in config["mc"].items()
        if system in CRITICAL_METHOD
        for name, ens in ensembles.items()
        if len(ens["sizes"]) >= 2 and not (system == "xy" and ens["lattice"] != "square")
        for seed in ens["seeds"]
    ]
