"""Random numbers for compiled kernels: xoshiro256** inlined into numba code.

Every random stream of a job derives from one integer seed through
:class:`numpy.random.SeedSequence` (``stream_states``), so a seed in the config gives
bit-identical data on the same machine, independently of the number of threads: a
kernel that runs in parallel owns one state per independent unit of work (a row, a
replica), never one per thread.

A state is a ``uint64[4]`` array (one row of a ``(n, 4)`` array for several streams).
Generator: D. Blackman and S. Vigna, xoshiro256** 1.0 (public-domain algorithm).
All shift amounts are uint64 so numba never promotes the arithmetic to float64.
"""

from __future__ import annotations

import zlib

import numba as nb
import numpy as np

_U5 = np.uint64(5)
_U7 = np.uint64(7)
_U9 = np.uint64(9)
_U11 = np.uint64(11)
_U17 = np.uint64(17)
_U45 = np.uint64(45)
_U64 = np.uint64(64)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@nb.njit(inline="always")
def rotl(x: np.uint64, k: np.uint64) -> np.uint64:
    """Rotate a uint64 left by k bits (0 < k < 64)."""
    return (x << k) | (x >> (_U64 - k))


@nb.njit(inline="always")
def next_u64(s: np.ndarray) -> np.uint64:
    """Advance a xoshiro256** state ``s`` (uint64[4], modified in place); return 64 bits."""
    result = rotl(s[1] * _U5, _U7) * _U9
    t = s[1] << _U17
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], _U45)
    return result


@nb.njit(inline="always")
def next_double(s: np.ndarray) -> float:
    """Uniform double in [0, 1) with 53 random bits."""
    return float(next_u64(s) >> _U11) * _INV53


@nb.njit(inline="always")
def next_below(s: np.ndarray, n: int) -> int:
    """Uniform integer in [0, n) (n < 2**53; bias below 2**-53 * n)."""
    return int(next_double(s) * n)


def probability_threshold(p: float) -> np.uint64:
    """uint64 t such that ``next_u64(s) < t`` happens with probability p (to 2**-64).

    Comparing raw 64-bit outputs with a threshold avoids an int-to-float conversion
    in the hot loop of accept/reject kernels.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {p}")
    if p >= 1.0:
        return np.uint64(0xFFFFFFFFFFFFFFFF)
    return np.uint64(int(p * 2.0**64))


def stream_key(*parts: object) -> int:
    """A stable 32-bit key naming one purpose of randomness (crc32 of the parts' repr)."""
    return zlib.crc32(repr(parts).encode())


def stream_states(seed: int, key: tuple[int, ...], n: int) -> np.ndarray:
    """Independent xoshiro256** states for ``n`` streams.

    Args:
        seed: the job's base seed (config ``seed``).
        key: integers naming the purpose (system, lattice, coupling, ...): streams with
            different keys are statistically independent.
        n: number of streams.

    Returns:
        uint64 array of shape (n, 4), no state all-zero.
    """
    seq = np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(int(k) for k in key))
    states = seq.generate_state(4 * n, dtype=np.uint64).reshape(n, 4)
    zero = ~states.any(axis=1)
    states[zero, 0] = np.uint64(0x9E3779B97F4A7C15)
    return states
