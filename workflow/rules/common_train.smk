# Input, param and target functions of the train rules (train.smk).
from rgpipe.config import MLRG_LIST_VALUED, validate_job
from rgpipe.sweeps import expand as expand_study

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
