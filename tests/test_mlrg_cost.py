"""Scheduler requests of MLRG training jobs: generous against the measured figures of
docs/benchmarks.md (recorded constants, nothing timed here) and growing with the work."""

import pytest

from rgpipe.learn.mlrg.cost import memory_mb, pair_bytes, pair_seconds, runtime_minutes
from rgpipe.learn.mlrg.params import resolve_params

A1E_4X3 = {
    "representation": "A1+E",
    "block": "4x3",
    "batch": 128,
    "epochs": 3000,
    "dtype": "float32",
    "models_per_batch": 8,
}


@pytest.mark.parametrize(
    "params, measured_s_per_model",
    [
        ({}, 0.95),  # A1 plaquette, exact KL, 1500 epochs
        ({"loss": "cd"}, 13.6),  # A1 plaquette, contrastive (before its speed-up)
        ({"representation": "A1+E", "epochs": 4000}, 19.5),
        ({"representation": "2A1+E"}, 80.0),
        ({"block": "5x5"}, 14.6),
        (A1E_4X3, 312.0),  # one rank per core, both busy, before the border columns
    ],
)
def test_runtime_covers_the_measured_time_per_model(params, measured_s_per_model):
    p = resolve_params(params)
    assert runtime_minutes(p, 16) * 60 >= 1.5 * 16 * measured_s_per_model


def test_memory_covers_the_measured_peak():
    # A1+E 4x4, float64, 256 coupling pairs: 1034 MB resident measured (250 MB of it torch)
    p = resolve_params({"representation": "A1+E", "block": "4x4", "batch": 128})
    assert 256 * pair_bytes(p) >= 1.5 * (1034 - 250) * 1e6
    # 2A1+E plaquette, float64: 0.84 MB per pair measured
    assert pair_bytes(resolve_params({"representation": "2A1+E"})) >= 0.84e6
    assert memory_mb(resolve_params({}), 16) == 3000  # the floor for small jobs


def test_requests_grow_with_the_work():
    base = resolve_params(A1E_4X3)
    wider = resolve_params({**A1E_4X3, "block": "4x4"})
    longer = resolve_params({**A1E_4X3, "block": "5x3"})
    assert pair_seconds(wider) > pair_seconds(longer) > pair_seconds(base)
    assert pair_seconds(resolve_params({**A1E_4X3, "dtype": "float64"})) == pair_seconds(base)
    assert pair_bytes(resolve_params({**A1E_4X3, "dtype": "float64"})) == 2 * pair_bytes(base)
    assert runtime_minutes(resolve_params({**A1E_4X3, "batch": 256}), 16) > runtime_minutes(
        base, 16
    )
    assert runtime_minutes(base, 32) > runtime_minutes(base, 16)
    big = resolve_params({**A1E_4X3, "block": "4x4", "models_per_batch": 16})
    assert memory_mb(big, 16) > memory_mb(big, 4) > 3000
