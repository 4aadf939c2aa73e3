# Critical-point extraction from Monte Carlo data: one job per ensemble and seed,
# reading every size of the ensemble.


rule extract_critical:
    """Critical point of {system} ensemble {ensemble}, seed {seed}, from all its sizes."""
    input:
        critical_inputs,
    output:
        "results/critical/{system}/{ensemble}/seed~{seed}.h5",
    log:
        "results/logs/critical/{system}/{ensemble}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/critical/{system}/{ensemble}/seed~{seed}.tsv"
    params:
        method=lambda wc: CRITICAL_METHOD[wc.system],
        flags=critical_flags,
    threads: 1
    resources:
        mem_mb=2000,
        runtime="30m",
    conda:
        ENV
    shell:
        "python -m rgpipe critical --method {params.method} --inputs {input}"
        " {params.flags} --seed {wildcards.seed} --out {output} > {log} 2>&1"
