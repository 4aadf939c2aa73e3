"""Multi-spin-coded checkerboard Metropolis for the periodic square-lattice Ising model.

Layout.  For an even L the lattice is cut along x into S strips (S the largest power of
two <= 64 with L divisible by 2S) of even width W = L/S.  Word ``words[y, w]`` (uint64)
holds in its bit b (b < S) the spin at (x = w + b W, y), bit set = spin up.  Because W is
even, all spins of a word have the same checkerboard colour (x + y) % 2 = (w + y) % 2,
and the neighbours of a word are whole words: up/down are ``words[y +- 1, w]``,
right/left are ``words[y, w +- 1]``, except at the strip edges where the neighbouring
strip's word is rotated by one bit.  At L = 1024, S = 64 and every bit is used.

Update.  For a word of the active colour, a_i = s XOR n_i marks anti-aligned neighbours;
from the four masks the lanes with k >= 2, k = 1 and k = 0 anti-aligned neighbours are
found with a few bitwise operations.  The energy change of a flip is 2K(4 - 2k), so
lanes with k >= 2 flip, lanes with k = 1 flip with probability p = exp(-4K) and lanes
with k = 0 with p^2 = exp(-8K) (two independent Bernoulli(p) masks ANDed).  A
Bernoulli(p) mask compares, lane by lane, a uniform U (its bits drawn most significant
first, one random word per bit position, for the undecided lanes only) with the 64-bit
binary expansion of p: exact to 2^-64 and about log2(#lanes) + 2 random words.

Parallelism.  Within one colour the rows are independent; each row owns a xoshiro
state, so the result is bit-identical for any number of threads.
"""

from __future__ import annotations

import types

import numba as nb
import numpy as np

from rgpipe.mc.rng import next_u64, probability_threshold

_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


def strips_for(L: int) -> int:
    """Number of strips S (bits used per word) for an even L."""
    if L < 2 or L % 2:
        raise ValueError(f"multi-spin checkerboard needs an even L >= 2, got {L}")
    s = 1
    while s < 64 and L % (4 * s) == 0:
        s *= 2
    return s


def pack(spins: np.ndarray) -> np.ndarray:
    """Pack an int8 (L, L) [y, x] configuration of +-1 into words (L, L // S) uint64."""
    L = spins.shape[0]
    s = strips_for(L)
    w = L // s
    up = (spins > 0).astype(np.uint64).reshape(L, s, w)  # [y, b, w]: x = w + b W
    shifts = np.arange(s, dtype=np.uint64)[None, :, None]
    return np.bitwise_or.reduce(up << shifts, axis=1)


def unpack(words: np.ndarray, L: int) -> np.ndarray:
    """Inverse of :func:`pack`: int8 (L, L) [y, x] configuration of +-1."""
    s = strips_for(L)
    shifts = np.arange(s, dtype=np.uint64)[None, :, None]
    bits = (words[:, None, :] >> shifts) & _ONE  # [y, b, w]
    return (bits.reshape(L, L).astype(np.int8) * 2 - 1).astype(np.int8)


@nb.njit(inline="always")
def _bernoulli_mask(state: np.ndarray, p: np.uint64, lanes: np.uint64) -> np.uint64:
    """Mask whose bits in ``lanes`` are independently 1 with probability p / 2^64."""
    result = np.uint64(0)
    undecided = lanes
    bit = np.uint64(63)
    for _ in range(64):
        if undecided == 0:
            break
        r = next_u64(state)
        if (p >> bit) & _ONE:
            result |= undecided & ~r
            undecided &= r
        else:
            undecided &= ~r
        bit -= _ONE
    return result


@nb.njit(inline="always")
def _update_word(
    s: np.uint64,
    up: np.uint64,
    dn: np.uint64,
    rt: np.uint64,
    lf: np.uint64,
    p: np.uint64,
    always: bool,
    lane_mask: np.uint64,
    state: np.ndarray,
) -> np.uint64:
    """New value of one word given its four neighbour words."""
    a1 = s ^ up
    a2 = s ^ dn
    a3 = s ^ rt
    a4 = s ^ lf
    x1 = a1 ^ a2
    c1 = a1 & a2
    x2 = a3 ^ a4
    c2 = a3 & a4
    ge2 = c1 | c2 | (x1 & x2)
    eq1 = (x1 ^ x2) & ~(c1 | c2)
    eq0 = ~(a1 | a2 | a3 | a4) & lane_mask
    if always:
        return s ^ (ge2 | eq1 | eq0)
    need = eq1 | eq0
    r1 = _bernoulli_mask(state, p, need) if need else np.uint64(0)
    need0 = eq0 & r1
    r2 = _bernoulli_mask(state, p, need0) if need0 else np.uint64(0)
    return s ^ (ge2 | (eq1 & r1) | (need0 & r2))


def _multispin_sweeps(
    words: np.ndarray, s_bits: int, p: np.uint64, always: bool, states: np.ndarray, n_sweeps: int
) -> None:
    """``n_sweeps`` checkerboard Metropolis sweeps on packed words (in place).

    Args:
        words: uint64 (L, W), packed with :func:`pack`.
        s_bits: strips S (lanes per word).
        p: uint64 threshold of exp(-4K) (ignored if ``always``).
        always: True when exp(-4K) >= 1 (K = 0): every proposal is accepted.
        states: uint64 (L, 4), one xoshiro state per row.
        n_sweeps: number of sweeps.
    """
    L, W = words.shape
    lane_mask = _ALL if s_bits == 64 else (_ONE << np.uint64(s_bits)) - _ONE
    top = np.uint64(s_bits - 1)
    for _ in range(n_sweeps):
        for color in range(2):
            for y in nb.prange(L):
                yu = y + 1 if y + 1 < L else 0
                yd = y - 1 if y > 0 else L - 1
                st = states[y]
                for w in range((y + color) % 2, W, 2):
                    s = words[y, w]
                    if w + 1 < W:
                        rt = words[y, w + 1]
                    else:
                        v = words[y, 0]
                        rt = (v >> _ONE) | ((v & _ONE) << top)
                    if w > 0:
                        lf = words[y, w - 1]
                    else:
                        v = words[y, W - 1]
                        lf = ((v << _ONE) & lane_mask) | (v >> top)
                    words[y, w] = _update_word(
                        s, words[yu, w], words[yd, w], rt, lf, p, always, lane_mask, st
                    )


def _renamed(func, name: str):
    """A copy of ``func`` under another name: numba's on-disk cache is keyed by the
    function's qualified name, so the serial and the parallel compilation of one body
    must not share it (the parallel dispatcher would load the serial machine code)."""
    copy = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__)
    copy.__qualname__ = name
    return copy


multispin_sweeps_serial = nb.njit(cache=True)(_renamed(_multispin_sweeps, "_sweeps_serial"))
multispin_sweeps_parallel = nb.njit(cache=True, parallel=True)(
    _renamed(_multispin_sweeps, "_sweeps_parallel")
)


def multispin_sweeps(
    words: np.ndarray, s_bits: int, p: np.uint64, always: bool, states: np.ndarray, n_sweeps: int
) -> None:
    """Dispatch to the threaded kernel when it pays (several threads, L >= 64).

    Both variants give bit-identical results (one random stream per row).
    """
    kernel = (
        multispin_sweeps_parallel
        if nb.get_num_threads() > 1 and words.shape[0] >= 64
        else multispin_sweeps_serial
    )
    kernel(words, s_bits, p, always, states, n_sweeps)


@nb.njit(inline="always")
def _popcount(x: np.uint64) -> int:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@nb.njit(cache=True)
def multispin_energy_magnetisation(words: np.ndarray, s_bits: int) -> tuple[int, int]:
    """Total energy -sum_bonds s_i s_j and magnetisation of a packed configuration."""
    L, W = words.shape
    lane_mask = _ALL if s_bits == 64 else (_ONE << np.uint64(s_bits)) - _ONE
    top = np.uint64(s_bits - 1)
    n_up = 0
    n_anti = 0
    for y in range(L):
        yu = y + 1 if y + 1 < L else 0
        for w in range(W):
            s = words[y, w]
            if w + 1 < W:
                rt = words[y, w + 1]
            else:
                v = words[y, 0]
                rt = (v >> _ONE) | ((v & _ONE) << top)
            n_up += _popcount(s)
            n_anti += _popcount((s ^ rt) & lane_mask) + _popcount(s ^ words[yu, w])
    n = L * L
    return -(2 * n - 2 * n_anti), 2 * n_up - n


class MultispinSquare:
    """A square-lattice Ising configuration with the multi-spin Metropolis update.

    Args:
        spins: int8 (L, L) initial configuration of +-1.
        k: coupling K >= 0.
        states: uint64 (L, 4) xoshiro states, one per row.
    """

    def __init__(self, spins: np.ndarray, k: float, states: np.ndarray):
        self.L = spins.shape[0]
        self.s_bits = strips_for(self.L)
        self.words = pack(spins)
        self.states = np.ascontiguousarray(states, dtype=np.uint64)
        p = float(np.exp(-4.0 * k))
        self.always = p >= 1.0
        self.p = probability_threshold(min(p, 1.0))

    def sweep(self, n: int = 1) -> None:
        """Run n sweeps (n L^2 spin updates)."""
        multispin_sweeps(self.words, self.s_bits, self.p, self.always, self.states, n)

    def energy_magnetisation(self) -> tuple[int, int]:
        """Total energy and magnetisation."""
        return multispin_energy_magnetisation(self.words, self.s_bits)

    def spins(self) -> np.ndarray:
        """The configuration as int8 (L, L)."""
        return unpack(self.words, self.L)
