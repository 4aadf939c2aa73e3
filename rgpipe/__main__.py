"""``python -m rgpipe <stage> ...``: see :mod:`rgpipe.cli`."""

import os

# One thread per process unless asked otherwise: oversubscribed BLAS/OpenMP threads on
# small machines were measured 20-140 times slower.  Must happen before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from rgpipe.cli import main  # noqa: E402

raise SystemExit(main())
