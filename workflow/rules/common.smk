# Validation, target lists and input/param functions shared by every rule.
import math

from rgpipe.config import MLRG_LIST_VALUED, canonical_json, validate_config, validate_job
from rgpipe.sweeps import expand as expand_study

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


wildcard_constraints:
    system=r"ising|xy|phi4|oscillator",
    ensemble=r"[A-Za-z][A-Za-z0-9_-]*",
    size=r"[0-9]+",
    study=r"[A-Za-z][A-Za-z0-9_-]*",
    point=r"all|[A-Za-z_][A-Za-z0-9_]*~[^/]+(/[A-Za-z_][A-Za-z0-9_]*~[^/]+)*",
    seed=r"[0-9]+",


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


def critical_inputs(wildcards):
    """Every size of the ensemble, same seed."""
    ens = config["mc"][wildcards.system][wildcards.ensemble]
    return [
        mc_path(wildcards.system, wildcards.ensemble, size, wildcards.seed)
        for size in sorted(ens[SIZE[wildcards.system][0]])
    ]


CRITICAL_METHOD = {
    "ising": "binder",
    "phi4": "binder",
    "xy": "helicity",
    "oscillator": "continuum",
}


def critical_flags(wildcards):
    """Method-specific options of `python -m rgpipe critical`."""
    method = CRITICAL_METHOD[wildcards.system]
    settings = config["critical"][method]
    if method == "continuum":
        return "--powers " + " ".join(str(p) for p in settings["powers"])
    return f"--bootstrap {settings['bootstrap']}"


def critical_targets():
    """Critical-point files: every ensemble with enough sizes (square-lattice XY only;
    the continuum fit needs more n_tau than fit parameters), every seed."""
    out = []
    for system, ensembles in config["mc"].items():
        for name, ens in ensembles.items():
            n = len(ens[SIZE[system][0]])
            if system == "xy" and ens["lattice"] != "square":
                continue
            needed = len(config["critical"]["continuum"]["powers"]) if system == "oscillator" else 2
            if n >= needed:
                out += [f"results/critical/{system}/{name}/seed~{seed}.h5" for seed in ens["seeds"]]
    return out


# ---------------------------------------------------------------- training (MLRG)
MLRG_POINTS = {
    (study, point.path): point
    for study, spec in config["train"]["mlrg"].items()
    for point in expand_study(spec, MLRG_LIST_VALUED, fixed={"seeds"})
}


def mlrg_job(wildcards):
    """The validated job slice of one training job (hyper-parameters, seed, n_models, mode)."""
    point = MLRG_POINTS[(wildcards.study, wildcards.point)]
    job = {k: v for k, v in point.params.items() if k != "seeds"}
    job["seed"] = int(wildcards.seed)
    return validate_job("mlrg_job", job)


def mlrg_flags(wildcards):
    """The job as `python -m rgpipe train mlrg` options (the seed is added by the rule)."""
    parts = []
    for key, value in mlrg_job(wildcards).items():
        if key == "seed" or value is None:  # None: the option's own default (e.g. axis_range)
            continue
        flag = f"--{key.replace('_', '-')}"
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        parts.append(f"{flag} {value}")
    return " ".join(parts)


def mlrg_launcher(wildcards, resources):
    """How the ranks are started: nothing for one rank, else the profile's `mpi` launcher
    (e.g. `srun --mpi=pmi2` on Slurm, default `mpiexec`) with `tasks` ranks."""
    tasks = int(resources.get("tasks", 1))
    if tasks <= 1 and "mpi" not in resources.keys():
        return ""
    return f"{resources.get('mpi', 'mpiexec')} -n {tasks}"


def mlrg_runtime_min(wildcards):
    """Generous wall time of one training job (:func:`rgpipe.learn.mlrg.cost.runtime_minutes`:
    the loss's work per coupling pair for the representation, block and loss, times batch,
    epochs and models)."""
    from rgpipe.learn.mlrg.cost import runtime_minutes
    from rgpipe.learn.mlrg.params import job_params

    job = mlrg_job(wildcards)
    return runtime_minutes(job_params(job), job["n_models"])


def mlrg_mem_mb(wildcards):
    """Memory of one rank (:func:`rgpipe.learn.mlrg.cost.memory_mb`, at least 3000 MB)."""
    from rgpipe.learn.mlrg.cost import memory_mb
    from rgpipe.learn.mlrg.params import job_params

    job = mlrg_job(wildcards)
    return memory_mb(job_params(job), job["n_models"])


def train_targets():
    """Every training file of the configuration."""
    return [
        f"results/train/mlrg/{study}/{path}/seed~{seed}.h5"
        for (study, path), point in MLRG_POINTS.items()
        for seed in point.params.get("seeds", [0])
    ]


def flow_critical_targets():
    """The critical-point file of every training file."""
    return [t.replace("results/train/", "results/critical/", 1) for t in train_targets()]
