"""Per-seed random streams of learned models.

Every model of an ensemble owns one seed; a family names the independent streams a model
draws from (e.g. ``init``, ``chains``, ``loss``, ``analysis``), and each stream is a
``torch.Generator`` seeded from ``numpy.random.SeedSequence(seed).spawn(len(names))`` in
that order.  Every random tensor of a model comes from its own streams, so its result
depends only on its seed and the hyper-parameters, never on the other models of its
vectorised group or on the number of ranks of an ensemble.

Under data parallelism (DDP over ``size`` ranks) the streams that draw a rank's data (its
shard of chains or minibatches) are replaced by children keyed by (rank, size), so the ranks
see different data, while the others (initialisation, analysis) stay those of the seed and
every rank starts from the same weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

DDP_SPAWN_KEY = 1_000_003
"""First word of the spawn key of the per-rank data streams (any fixed number)."""


def _generator(child: np.random.SeedSequence) -> torch.Generator:
    """A CPU torch generator seeded with 63 bits of ``child``'s state."""
    state = int(child.generate_state(1, np.uint64)[0]) & ((1 << 63) - 1)
    return torch.Generator().manual_seed(state)


def check_seed(seed: object) -> int:
    """``seed`` as an int (raises ValueError unless it is a non-negative integer)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def seed_streams(seed: int, names: Sequence[str]) -> dict[str, torch.Generator]:
    """The independent generators ``names`` of one model seed."""
    seq = np.random.SeedSequence(check_seed(seed))
    return {
        name: _generator(child) for name, child in zip(names, seq.spawn(len(names)), strict=True)
    }


def rank_streams(
    seed: int, names: Sequence[str], data: Sequence[str], rank: int, size: int
) -> dict[str, torch.Generator]:
    """The streams of one model seed on one data-parallel rank.

    Args:
        seed: the model's seed.
        names: every stream of the model (as in :func:`seed_streams`).
        data: the streams that draw a rank's data; with ``size > 1`` they come from a child
            sequence keyed by (rank, size).
        rank, size: this rank and the number of data-parallel ranks.
    """
    streams = seed_streams(seed, names)
    if size == 1:
        return streams
    seq = np.random.SeedSequence(int(seed), spawn_key=(DDP_SPAWN_KEY, int(size), int(rank)))
    for name, child in zip(data, seq.spawn(len(data)), strict=True):
        streams[name] = _generator(child)
    return streams
