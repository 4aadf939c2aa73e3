# Training stage: one job per study point and base seed trains an ensemble of models,
# then the critical point and exponent are extracted from the learned flows.


rule train_mlrg:
    """MLRG ensemble of study {study} at {point}, models seeded from {seed}."""
    output:
        "results/train/mlrg/{study}/{point}/seed~{seed}.h5",
    log:
        "results/logs/train/mlrg/{study}/{point}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/train/mlrg/{study}/{point}/seed~{seed}.tsv"
    params:
        # the deterministic slice the job depends on: a change retrains
        job=lambda wc: canonical_json(mlrg_job(wc)),
        flags=mlrg_flags,
        launcher=mlrg_launcher,
    # threads = MPI ranks, so a local run never oversubscribes: raise both with
    # `--set-threads train_mlrg=2` (the Slurm profile sets 2 and the srun launcher)
    threads: 1
    resources:
        tasks=lambda wc, threads: threads,
        mem_mb=mlrg_mem_mb,
        runtime=lambda wc: f"{mlrg_runtime_min(wc)}m",
    conda:
        ENV
    shell:
        "{params.launcher} python -m rgpipe train mlrg {params.flags} --seed {wildcards.seed}"
        " --expect-ranks {resources.tasks} --quiet --out {output} > {log} 2>&1"


rule extract_critical_flow:
    """J_c and nu from the learned flows of study {study} at {point}, seed {seed}."""
    input:
        "results/train/mlrg/{study}/{point}/seed~{seed}.h5",
    output:
        "results/critical/mlrg/{study}/{point}/seed~{seed}.h5",
    log:
        "results/logs/critical/mlrg/{study}/{point}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/critical/mlrg/{study}/{point}/seed~{seed}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime="30m",
    conda:
        ENV
    shell:
        "python -m rgpipe critical --method flow --inputs {input} --out {output} > {log} 2>&1"
