# rgpipe workflow: table of contents.  The stages live in workflow/rules/; every rule's
# shell command is `python -m rgpipe <stage> ...`, so what Snakemake ran can be rerun by
# hand from the rule's log.  Usage: `snakemake --cores 2` on a laptop,
# `snakemake --profile slurm` on a cluster (see slurm/README.md).
from snakemake.utils import min_version

min_version("9.19")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/mc.smk"
include: "workflow/rules/critical.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"


rule all:
    """Every output of the configured study."""
    input:
        mc_targets(),
        critical_targets(),
        learned_targets(),
        AGGREGATE_OUTPUTS.values(),
    default_target: True
