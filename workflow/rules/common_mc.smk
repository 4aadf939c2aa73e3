# Input, param and target functions of the mc rules (mc.smk).  What a system's ensemble
# and job are (options, sizes, path letter, command-line flags, cost) is declared once,
# in rgpipe.mc.systems.
from rgpipe.mc import systems as mc_systems


def ensemble(wildcards):
    """The config entry of the ensemble named by the {system} and {ensemble} wildcards."""
    return config["mc"][wildcards.system][wildcards.ensemble]


def mc_job(wildcards):
    """The job slice `python -m rgpipe mc` runs with (as the CLI fills it in)."""
    return mc_systems.ensemble_job(
        wildcards.system, ensemble(wildcards), int(wildcards.size), int(wildcards.seed)
    )


def mc_flags(wildcards):
    """The job as command-line flags but the seed, which the rule passes from its wildcard
    (null values, i.e. automatic settings, omitted)."""
    job = {k: v for k, v in mc_job(wildcards).items() if k != "seed"}
    return mc_systems.command_flags(wildcards.system, job)


def mc_runtime_min(wildcards):
    """Generous wall-time estimate in minutes (rgpipe.mc.systems.runtime_minutes)."""
    return mc_systems.runtime_minutes(wildcards.system, ensemble(wildcards), int(wildcards.size))


def mc_mem_mb(wildcards):
    """Memory estimate in MB (rgpipe.mc.systems.memory_mb)."""
    return mc_systems.memory_mb(wildcards.system, ensemble(wildcards), int(wildcards.size))


def mc_path(system, name, size, seed):
    """The output file of one Monte Carlo job."""
    letter = mc_systems.SYSTEMS[system].path_letter
    return f"results/mc/{system}/{name}/{letter}~{size}/seed~{seed}.h5"


def mc_sizes(system, ens):
    """The sizes of an ensemble: one job (and file) each."""
    return ens[mc_systems.SYSTEMS[system].sizes_key]


def mc_targets():
    """Every Monte Carlo output file of the configuration."""
    return [
        mc_path(system, name, size, seed)
        for system, ensembles in config["mc"].items()
        for name, ens in ensembles.items()
        for size in mc_sizes(system, ens)
        for seed in ens["seeds"]
    ]
