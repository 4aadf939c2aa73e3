# Validation, target lists and input/param functions shared by every rule.
import json
import math

from rgpipe.config import canonical_json, validate_config

# Validate (and fill defaults) before any job starts: a bad key or value stops here
# with a message naming it, and nothing runs.
_validated = validate_config(config)
config.clear()
config.update(_validated)

ENV = "../envs/rgpipe.yaml"


wildcard_constraints:
    ensemble=r"[A-Za-z][A-Za-z0-9_-]*",
    L=r"[0-9]+",
    seed=r"[0-9]+",


def ising_ensemble(wildcards):
    """The config entry of an Ising ensemble named by the {ensemble} wildcard."""
    return config["mc"]["ising"][wildcards.ensemble]


def ising_job(wildcards):
    """The job slice `python -m rgpipe mc --system ising` is run with (as the CLI fills it)."""
    ens = ising_ensemble(wildcards)
    job = {k: v for k, v in ens.items() if k not in ("sizes", "seeds")}
    job.update(
        system="ising",
        L=int(wildcards.L),
        seed=int(wildcards.seed),
        couplings=sorted(ens["couplings"]),
    )
    return job


def ising_runtime_min(wildcards):
    """Generous wall-time estimate in minutes (1e6 spin updates/s worst case, x3)."""
    ens = ising_ensemble(wildcards)
    n = int(wildcards.L) ** 2 * (3 if ens["lattice"] == "lieb" else 1)
    sweeps = ens["sweeps"] + ens["thermalization"]
    return max(10, math.ceil(3 * n * sweeps * len(ens["couplings"]) / 1e6 / 60))


def ising_mem_mb(wildcards):
    """Series (16 B per measurement) and stored configurations, plus interpreter overhead."""
    ens = ising_ensemble(wildcards)
    n = int(wildcards.L) ** 2 * (3 if ens["lattice"] == "lieb" else 1)
    k = len(ens["couplings"])
    data = k * (16 * ens["sweeps"] + ens["configurations"] * n) / 1e6
    return int(1000 + 3 * data)


def mc_targets():
    """Every Monte Carlo output file of the configuration."""
    return [
        f"results/mc/ising/{name}/L~{L}/seed~{seed}.h5"
        for name, ens in config["mc"]["ising"].items()
        for L in ens["sizes"]
        for seed in ens["seeds"]
    ]


def critical_targets():
    """Binder-crossing files: every Ising ensemble with at least two sizes, every seed."""
    return [
        f"results/critical/ising/{name}/seed~{seed}.h5"
        for name, ens in config["mc"]["ising"].items()
        if len(ens["sizes"]) >= 2
        for seed in ens["seeds"]
    ]
