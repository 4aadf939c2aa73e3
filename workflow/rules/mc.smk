# Monte Carlo stage: one job per (system, ensemble, size, seed).  Lattice models sweep
# all their couplings inside the job; the 0+1D field runs one lattice spacing.


rule sample_mc:
    """Monte Carlo of {system} ensemble {ensemble}: size L={size}, seed {seed}."""
    output:
        "results/mc/{system}/{ensemble}/L~{size}/seed~{seed}.h5",
    log:
        "results/logs/mc/{system}/{ensemble}/L~{size}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/mc/{system}/{ensemble}/L~{size}/seed~{seed}.tsv"
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
        "python -m rgpipe mc --system {wildcards.system} {params.flags}"
        " --seed {wildcards.seed} --threads {threads} --quiet --out {output} > {log} 2>&1"


use rule sample_mc as sample_mc_time with:
    output:
        "results/mc/{system}/{ensemble}/N~{size}/seed~{seed}.h5",
    log:
        "results/logs/mc/{system}/{ensemble}/N~{size}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/mc/{system}/{ensemble}/N~{size}/seed~{seed}.tsv"
