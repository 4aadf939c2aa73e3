# Input, param and target functions of the mc rules (mc.smk).
import math

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
    "potential": "--potential",
    "lam": "--lam",
    "eta": "--eta",
    "omega": "--omega",
    "coeffs": "--coeffs",
    "mass": "--mass",
    "beta": "--beta",
    "hmc_steps": "--hmc-steps",
    "hmc_length": "--hmc-length",
    "gap_tmin": "--gap-tmin",
    "correlator_rows": "--correlator-rows",
    "betas": "--coupling",
    "m0sq": "--m0sq",
    "lambda0": "--lambda0",
    "or_sweeps": "--or-sweeps",
    "clusters": "--clusters",
}
# the size of one job: L (lattice models, path L~<L>) or n_tau (0+1D field, path N~<n>)
SIZE = {
    "ising": ("sizes", "L"),
    "xy": ("sizes", "L"),
    "phi4": ("sizes", "L"),
    "oscillator": ("n_tau", "N"),
}


def ensemble(wildcards):
    """The config entry of the ensemble named by the {system} and {ensemble} wildcards."""
    return config["mc"][wildcards.system][wildcards.ensemble]


def mc_job(wildcards):
    """The job slice `python -m rgpipe mc` runs with (as the CLI fills it in)."""
    ens = ensemble(wildcards)
    sizes_key, size_flag = SIZE[wildcards.system]
    job = {k: v for k, v in ens.items() if k not in (sizes_key, "seeds")}
    job.update(system=wildcards.system, seed=int(wildcards.seed))
    if wildcards.system == "oscillator":
        job["n_tau"] = int(wildcards.size)
    else:
        job["L"] = int(wildcards.size)
        for key in ("couplings", "betas", "m0sq"):
            if key in job:
                job[key] = sorted(job[key])
    return job


def mc_flags(wildcards):
    """The job as command-line flags (null values, i.e. automatic settings, omitted)."""
    parts = []
    for key, value in mc_job(wildcards).items():
        if key == "fourier_acceleration":
            parts.append("--fourier-acceleration" if value else "--no-fourier-acceleration")
        if key not in MC_FLAGS or value is None:
            continue
        if isinstance(value, list):
            value = " ".join(repr(float(v)) for v in value)
        parts.append(f"{MC_FLAGS[key]} {value}")
    size_option = "--n-tau" if wildcards.system == "oscillator" else "--L"
    return f"{size_option} {wildcards.size} " + " ".join(parts)


def n_sites(wildcards):
    """Degrees of freedom of one job (spins, rotors or time slices)."""
    ens = ensemble(wildcards)
    n = int(wildcards.size)
    if wildcards.system == "oscillator" or ens.get("lattice") == "ring":
        return n
    return n * n * (3 if ens.get("lattice") == "lieb" else 1)


def mc_runtime_min(wildcards):
    """Generous wall-time estimate in minutes (1e6 site updates/s worst case, x3; HMC
    trajectories of the 0+1D field count 10 updates per site)."""
    ens = ensemble(wildcards)
    sweeps = ens["sweeps"] + ens["thermalization"]
    points = len(ens.get("couplings", ens.get("betas", ens.get("m0sq", [None]))))
    points *= 10 if wildcards.system in ("oscillator", "phi4") else 1
    return max(10, math.ceil(3 * n_sites(wildcards) * sweeps * points / 1e6 / 60))


def mc_mem_mb(wildcards):
    """Series (up to 12 x 8 B per measurement), configurations (8 B per site) and the
    0+1D correlator, plus interpreter overhead."""
    ens = ensemble(wildcards)
    k = len(ens.get("couplings", ens.get("betas", ens.get("m0sq", [None]))))
    configs = ens.get("configurations", 0) * n_sites(wildcards)
    data = k * (96 * ens["sweeps"] + 8 * configs + 8 * 4096 * n_sites(wildcards)) / 1e6
    return int(1000 + 3 * data)


def mc_path(system, name, size, seed):
    """The output file of one Monte Carlo job."""
    return f"results/mc/{system}/{name}/{SIZE[system][1]}~{size}/seed~{seed}.h5"


def mc_targets():
    """Every Monte Carlo output file of the configuration."""
    return [
        mc_path(system, name, size, seed)
        for system, ensembles in config["mc"].items()
        for name, ens in ensembles.items()
        for size in ens[SIZE[system][0]]
        for seed in ens["seeds"]
    ]
