"""MLRG as a learned-method family: its parameters and where its hooks live."""

from rgpipe.learn.family import Critical, Family
from rgpipe.learn.mlrg.spec import SPEC

FAMILY = Family(
    name="mlrg",
    title="MLRG: learned RG flow of the Lieb-lattice Ising model (seeds 000/002)",
    spec=SPEC,
    trainer="rgpipe.learn.mlrg.train:GroupTrainer.from_context",
    write="rgpipe.learn.mlrg.output:write_models",
    describe="rgpipe.learn.mlrg.output:describe",
    steps="epochs",
    check="rgpipe.learn.mlrg.params:check",
    groups="rgpipe.learn.mlrg.ensemble:seed_groups",
    cost="rgpipe.learn.mlrg.cost:estimate",
    critical=Critical(
        method="flow",
        run="rgpipe.learn.mlrg.critical_file:write_critical",
        overrides=("root_starts", "root_tol", "crossing_steps", "crossing_escape", "crossing_grid"),
    ),
    aggregate="critical",
    curves="rgpipe.learn.mlrg.report:read_curves",
    plots={"flow": "rgpipe.learn.mlrg.report:flow_plot"},
    value_order="rgpipe.learn.mlrg.report:value_order",
)
