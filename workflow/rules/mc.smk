# Monte Carlo stage: one job per (ensemble, size, seed) sweeps all couplings.


rule sample_ising:
    """Ising Monte Carlo: coupling sweep of {ensemble} at size {L} with seed {seed}."""
    output:
        "results/mc/ising/{ensemble}/L~{L}/seed~{seed}.h5",
    log:
        "results/logs/mc/ising/{ensemble}/L~{L}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/mc/ising/{ensemble}/L~{L}/seed~{seed}.tsv"
    params:
        # the deterministic slice the job depends on: a change reruns the job
        job=lambda wc: canonical_json(ising_job(wc)),
        lattice=lambda wc: ising_ensemble(wc)["lattice"],
        couplings=lambda wc: " ".join(repr(float(k)) for k in sorted(ising_ensemble(wc)["couplings"])),
        algorithm=lambda wc: ising_ensemble(wc)["update"],
        backend=lambda wc: ising_ensemble(wc)["backend"],
        sweeps=lambda wc: ising_ensemble(wc)["sweeps"],
        thermalization=lambda wc: ising_ensemble(wc)["thermalization"],
        every=lambda wc: ising_ensemble(wc)["measure_every"],
        configurations=lambda wc: ising_ensemble(wc)["configurations"],
    threads: 1
    resources:
        mem_mb=ising_mem_mb,
        runtime=lambda wc: f"{ising_runtime_min(wc)}m",
    conda:
        ENV
    shell:
        "python -m rgpipe mc --system ising --lattice {params.lattice} --L {wildcards.L}"
        " --coupling {params.couplings} --update {params.algorithm} --backend {params.backend}"
        " --sweeps {params.sweeps} --thermalization {params.thermalization}"
        " --measure-every {params.every} --configurations {params.configurations}"
        " --seed {wildcards.seed} --threads {threads} --quiet --out {output} > {log} 2>&1"
