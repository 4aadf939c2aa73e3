"""Sweep drivers run one point at a time (for progress reports) give exactly the data of
one call with every point: each point is its own chain with its own random stream."""

import numpy as np
import pytest

from rgpipe.mc import systems
from rgpipe.mc.output import run_point_by_point
from rgpipe.mc.phi4.driver import simulate as run_phi4
from rgpipe.mc.xy.driver import simulate as run_xy
from rgpipe.stats import Stats


def assert_same(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, Stats):
        for f in Stats.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=path)
    else:
        np.testing.assert_array_equal(a, b, err_msg=path)


@pytest.mark.parametrize(
    "run,job,key,fields",
    [
        (
            run_xy,
            {"system": "xy", "L": 4, "couplings": [0.9, 1.2, 1.5]},
            "couplings",
            ("series", "estimates", "configurations", "couplings", "final"),
        ),
        (
            run_phi4,
            {"system": "phi4", "L": 4, "betas": [0.6, 0.7], "lam": 1.0},
            "betas",
            ("series", "estimates", "samples", "values", "parameters", "sample_attrs"),
        ),
    ],
    ids=["xy", "phi4"],
)
def test_point_by_point_equals_one_call(run, job, key, fields):
    job = {**job, "sweeps": 200, "thermalization": 20, "seed": 3, "configurations": 2}
    job = systems.validate_job(job)
    whole = run(job)
    split = run_point_by_point(run, job, key, "test", progress=False)
    for field in fields:
        assert_same(whole[field], split[field], field)
    assert split["job"][key] == job[key]
