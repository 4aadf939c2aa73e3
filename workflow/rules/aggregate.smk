# Bias statistics across every critical-point file of the Monte Carlo ensembles and every
# file of the learned families that the aggregate stage reads (their critical-point or
# training files), and every Monte Carlo file checked against the exact values of its own
# finite lattice (validation only: they enter no bias group): the summary table, its CSV,
# the figures and the static report.  The last rule of the workflow.
import os

from rgpipe.analysis.options import AGGREGATE

AGGREGATE_OUTPUTS = {
    "summary": "results/summary.h5",
    "csv": "results/summary.csv",
    "report": "results/report/index.html",
    "markdown": "results/report/index.md",
}


rule aggregate_bias:
    """Summary statistics, plots and report of every critical-point and training file, and
    the check of every Monte Carlo file against its exact values."""
    input:
        critical_targets(),
        aggregated_learned_targets(),
        mc_targets(),
    output:
        **AGGREGATE_OUTPUTS,
    log:
        "results/logs/aggregate.log",
    benchmark:
        "results/benchmarks/aggregate.tsv"
    params:
        # the config's `aggregate` section (defaults filled) as the stage's flags
        flags=lambda wc: " ".join(to_flags(AGGREGATE, config["aggregate"])),
        plots=lambda wc, output: os.path.dirname(output.report),
    threads: 1
    resources:
        mem_mb=2000,
        runtime="30m",
    conda:
        ENV
    shell:
        "python -m rgpipe aggregate --inputs {input} {params.flags} --out {output.summary}"
        " --csv {output.csv} --plots {params.plots} --report {output.report} > {log} 2>&1"
