# Critical-point extraction from Monte Carlo data: one job per ensemble and seed.


rule extract_critical_binder:
    """Binder-crossing K_c of Ising ensemble {ensemble}, seed {seed}, from all its sizes."""
    input:
        lambda wc: [
            f"results/mc/ising/{wc.ensemble}/L~{L}/seed~{wc.seed}.h5"
            for L in sorted(config["mc"]["ising"][wc.ensemble]["sizes"])
        ],
    output:
        "results/critical/ising/{ensemble}/seed~{seed}.h5",
    log:
        "results/logs/critical/ising/{ensemble}/seed~{seed}.log",
    benchmark:
        "results/benchmarks/critical/ising/{ensemble}/seed~{seed}.tsv"
    params:
        bootstrap=config["critical"]["binder"]["bootstrap"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime="30m",
    conda:
        ENV
    shell:
        "python -m rgpipe critical --method binder --inputs {input}"
        " --bootstrap {params.bootstrap} --seed {wildcards.seed} --out {output} > {log} 2>&1"
