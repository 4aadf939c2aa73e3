# Input, param and target functions of the training rules (train.smk): one rule per
# registered learned-method family (rgpipe.learn.registry), every study of
# config["train"][<family>] expanded into jobs (rgpipe.sweeps).
from rgpipe.learn import registry
from rgpipe.learn.jobs import job_params, study_list_valued
from rgpipe.learn.jobs import validate as validate_train_job
from rgpipe.spec import to_flags
from rgpipe.sweeps import expand as expand_study

FAMILIES = registry.families()
STUDY_FIXED = {"seeds", "data"}  # keys of a study that are never swept nor passed as flags
TRAIN_POINTS = {
    (name, study, point.path): point
    for name, family in FAMILIES.items()
    for study, spec in config["train"].get(name, {}).items()
    for point in expand_study(spec, study_list_valued(family), fixed=STUDY_FIXED)
}


def train_job(name, wildcards):
    """The validated job slice of one training job of family `name` (the file's config)."""
    point = TRAIN_POINTS[(name, wildcards.study, wildcards.point)]
    job = {k: v for k, v in point.params.items() if k not in STUDY_FIXED}
    job["seed"] = int(wildcards.seed)
    return validate_train_job(FAMILIES[name], job)


def train_data(name, wildcards):
    """The Monte Carlo file a data-trained job learns from ([] for other families)."""
    if FAMILIES[name].data is None:
        return []
    point = TRAIN_POINTS[(name, wildcards.study, wildcards.point)]
    src = point.params["data"]
    return [mc_path(src["system"], src["ensemble"], src["size"], src.get("seed", 1))]


def train_flags(name, wildcards):
    """The job as `python -m rgpipe train <name>` flags (the rule adds --seed and --out)."""
    job = {k: v for k, v in train_job(name, wildcards).items() if k != "seed"}
    words = to_flags(job_params(FAMILIES[name]), job)
    inputs = train_data(name, wildcards)
    return " ".join(words + (["--inputs", *inputs] if inputs else []))


def train_trigger(name, wildcards):
    """What a job depends on besides its code: the job slice and its data source."""
    point = TRAIN_POINTS[(name, wildcards.study, wildcards.point)]
    return canonical_json({"job": train_job(name, wildcards), "data": point.params.get("data")})


def train_launcher(wildcards, resources):
    """How the ranks are started: nothing for one rank, else the profile's `mpi` launcher
    (e.g. `srun --mpi=pmi2` on Slurm, default `mpiexec`) with `tasks` ranks."""
    tasks = int(resources.get("tasks", 1))
    if tasks <= 1 and "mpi" not in resources.keys():
        return ""
    return f"{resources.get('mpi', 'mpiexec')} -n {tasks}"


def train_cost(name, wildcards):
    """The family's Slurm request of one job (runtime minutes, memory MB) for one rank."""
    from rgpipe.learn.family import DEFAULT_COST
    from rgpipe.learn.jobs import resolve

    family = FAMILIES[name]
    hook = family.hook("cost")
    if hook is None:
        return DEFAULT_COST
    job = train_job(name, wildcards)
    return hook(resolve(family, job), job["n_models"])


def train_targets(name):
    """Every training file of family `name`."""
    return [
        f"results/train/{fam}/{study}/{path}/seed~{seed}.h5"
        for (fam, study, path), point in TRAIN_POINTS.items()
        if fam == name
        for seed in point.params.get("seeds", [0])
    ]


def train_critical_targets(name):
    """The critical-point file of every training file of family `name`."""
    if FAMILIES[name].critical is None:
        return []
    return [t.replace("results/train/", "results/critical/", 1) for t in train_targets(name)]


def learned_targets():
    """Every training and learned critical-point file of the configuration."""
    return [t for n in FAMILIES for t in train_targets(n) + train_critical_targets(n)]


def aggregated_learned_targets():
    """The files of each family the aggregate stage reads (its critical or training files)."""
    out = []
    for name, family in FAMILIES.items():
        out += train_critical_targets(name) if family.aggregate == "critical" else train_targets(name)
    return out


def for_family(function, name):
    """`function(name, wildcards)` as a one-argument input/param function of a rule."""

    def bound(wildcards):
        return function(name, wildcards)

    return bound
