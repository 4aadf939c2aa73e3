# Input, param and target functions of the critical rules (critical.smk).
def critical_inputs(wildcards):
    """Every size of the ensemble, same seed."""
    ens = config["mc"][wildcards.system][wildcards.ensemble]
    return [
        mc_path(wildcards.system, wildcards.ensemble, size, wildcards.seed)
        for size in sorted(mc_sizes(wildcards.system, ens))
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
            n = len(mc_sizes(system, ens))
            if system == "xy" and ens["lattice"] != "square":
                continue
            needed = len(config["critical"]["continuum"]["powers"]) if system == "oscillator" else 2
            if n >= needed:
                out += [f"results/critical/{system}/{name}/seed~{seed}.h5" for seed in ens["seeds"]]
    return out
