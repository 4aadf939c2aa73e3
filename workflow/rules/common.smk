# Validation of the whole configuration and the wildcard constraints shared by every rule;
# each stage's input/param functions and target lists live with its rules.
from rgpipe.config import canonical_json, check_yaml_file
from rgpipe.workflow_config import validate_config

# Validate (and fill defaults) before any job starts: a bad key or value stops here
# with a message naming it, and nothing runs.  Snakemake's YAML reader keeps the last of
# two equal keys silently: read every config file again with one that refuses them.
for _path in workflow.configfiles:
    check_yaml_file(_path)
_validated = validate_config(config)
config.clear()
config.update(_validated)

ENV = "../envs/rgpipe.yaml"


wildcard_constraints:
    system=r"ising|xy|phi4|oscillator",
    ensemble=r"[A-Za-z][A-Za-z0-9_-]*",
    size=r"[0-9]+",
    study=r"[A-Za-z][A-Za-z0-9_-]*",
    point=r"all|[A-Za-z_][A-Za-z0-9_]*~[^/]+(/[A-Za-z_][A-Za-z0-9_]*~[^/]+)*",
    seed=r"[0-9]+",


include: "common_mc.smk"
include: "common_critical.smk"
include: "common_train.smk"
