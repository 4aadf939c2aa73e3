# Training stage: one rule train_<family> per registered learned-method family; one job per
# study point and base seed trains an ensemble of models.  Families with a critical
# analysis get extract_critical_<family>, which re-analyses the trained models.

for _name, _family in FAMILIES.items():

    rule:
        """Ensemble of the learned family at {study}/{point}, models seeded from {seed}."""
        name:
            f"train_{_name}"
        input:
            for_family(train_data, _name),
        output:
            f"results/train/{_name}/{{study}}/{{point}}/seed~{{seed}}.h5",
        log:
            f"results/logs/train/{_name}/{{study}}/{{point}}/seed~{{seed}}.log",
        benchmark:
            f"results/benchmarks/train/{_name}/{{study}}/{{point}}/seed~{{seed}}.tsv"
        params:
            # the loop variables are read when the rule is defined; the shell command is
            # formatted when a job runs, so it must reach them through params
            family=_name,
            # the deterministic slice the job depends on: a change retrains
            job=for_family(train_trigger, _name),
            flags=for_family(train_flags, _name),
            launcher=train_launcher,
        # threads = MPI ranks, so a local run never oversubscribes: raise both with
        # `--set-threads train_<family>=2` (the Slurm profile sets 2 and the srun launcher)
        threads: 1
        resources:
            tasks=lambda wc, threads: threads,
            mem_mb=lambda wc, _n=_name: train_cost(_n, wc).memory_mb,
            runtime=lambda wc, _n=_name: f"{train_cost(_n, wc).runtime_minutes}m",
        conda:
            ENV
        shell:
            "{params.launcher} python -m rgpipe train {params.family} {params.flags}"
            " --seed {wildcards.seed} --expect-ranks {resources.tasks} --quiet --out {output}"
            " > {log} 2>&1"

    if _family.critical is not None:

        rule:
            """Critical point of the trained ensemble at {study}/{point}, seed {seed}."""
            name:
                f"extract_critical_{_name}"
            input:
                f"results/train/{_name}/{{study}}/{{point}}/seed~{{seed}}.h5",
            output:
                f"results/critical/{_name}/{{study}}/{{point}}/seed~{{seed}}.h5",
            log:
                f"results/logs/critical/{_name}/{{study}}/{{point}}/seed~{{seed}}.log",
            benchmark:
                f"results/benchmarks/critical/{_name}/{{study}}/{{point}}/seed~{{seed}}.tsv"
            params:
                method=_family.critical.method,
            threads: 1
            resources:
                mem_mb=2000,
                runtime="30m",
            conda:
                ENV
            shell:
                "python -m rgpipe critical --method {params.method}"
                " --inputs {input} --out {output} > {log} 2>&1"
