# Monte Carlo stage: one job per (system, ensemble, size, seed) sweeps all couplings.


rule sample_mc:
    """Monte Carlo of {system} ensemble {ensemble}: coupling sweep at size {L}, seed {seed}."""
    output:
        "results/mc/{system}/{ensemble}/L~{L}/seed~{seed}.h5",
    log:
        "results/logs/mc/{system}/{ensemble}/L~{L}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/mc/{system}/{ensemble}/L~{L}/seed~{seed}.tsv"
    params:
        # the deterministic slice the job depends on: a change reruns the job
        job=lambda wc: canonical_json(mc_job(wc)),
        flags=mc_flags,
    threads: 1
    resources:
        mem_mb=mc_mem_mb,
        runtime=lambda wc: f"{mc_runtime_min(wc)}m",
    conda:
        ENV
    shell:
        "python -m rgpipe mc --system {wildcards.system} --L {wildcards.L} {params.flags}"
        " --seed {wildcards.seed} --threads {threads} --quiet --out {output} > {log} 2>&1"
