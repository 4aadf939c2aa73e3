"""rgpipe: machine-learned renormalization group pipeline.

Monte Carlo data, ML-RG training, critical-point extraction and bias statistics, each
a stage run as ``python -m rgpipe <stage> ...`` and writing self-describing HDF5.
"""

__version__ = "0.1.0"

from rgpipe import runtime as _runtime  # noqa: F401  (records the process start time)
