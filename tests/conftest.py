"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tests run single-threaded unless a test asks otherwise (CI has 2 cores)."""
    import numba
    import torch

    numba.set_num_threads(1)
    torch.set_num_threads(1)
