"""Batched, differentiable torch energies and actions of the systems the MC stage samples.

For variational and generative methods that train against the Monte Carlo Hamiltonians.
Every function takes a batch of configurations with exactly one leading batch axis ``B``,
stored in the layout the MC stage writes them in, and returns one value per configuration,
shape ``(B,)``.  Only tensor operations on the input are used, so results stay on the
input's device (CPU or CUDA), are differentiable with autograd, and keep a floating input's
dtype; an integer input (e.g. int8 Ising spins) is converted to
``torch.get_default_dtype()`` first (exact for +-1 spins).  Values are totals over the
lattice, not per site (the MC stage's series are per site: divide by N).

Layouts (all lattices periodic, coordinates x, y in 0..L-1, see
:mod:`rgpipe.physics.lattice`):

* square ``(B, L, L)`` indexed ``[b, y, x]``; bonds to ``x + 1`` and ``y + 1`` of every
  site (2 L^2 bonds; for L = 2 the two bonds between a pair are distinct, as in the MC);
* Lieb ``(B, 3, L, L)`` indexed ``[b, sublattice, y, x]`` with sublattice 0 = corner
  c(x, y), 1 = the spin on the horizontal bond c(x, y) -- c(x+1, y), 2 = the spin on the
  vertical bond c(x, y) -- c(x, y+1); 4 L^2 bonds;
* ring ``(B, L)`` indexed ``[b, x]`` (XY only), bonds to ``x + 1``;
* path ``(B, n_tau)`` indexed ``[b, i]`` (0+1D field), periodic in imaginary time.

Conventions and reference code: Ising :mod:`rgpipe.mc.ising` and
:func:`rgpipe.mc.ising_local.energy_magnetisation`; XY :mod:`rgpipe.physics.xy`; phi^4
:mod:`rgpipe.physics.phi4`; 0+1D field :mod:`rgpipe.physics.oscillator`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from rgpipe.physics.oscillator import Potential

# ------------------------------------------------------------------------------- helpers


def _floating(t: torch.Tensor) -> torch.Tensor:
    """``t`` itself if floating point, else converted to the default float dtype."""
    return t if t.is_floating_point() else t.to(torch.get_default_dtype())


def _check_square(t: torch.Tensor, what: str) -> None:
    """Raise ValueError unless ``t`` has shape (B, L, L) with L >= 2."""
    if t.ndim != 3 or t.shape[1] != t.shape[2] or t.shape[2] < 2:
        raise ValueError(f"{what}: expected shape (B, L, L) with L >= 2, got {tuple(t.shape)}")


def _sum_sites(t: torch.Tensor) -> torch.Tensor:
    """Sum over every axis but the leading batch axis: (B, ...) -> (B,)."""
    return t.reshape(t.shape[0], t.shape[1:].numel()).sum(dim=1)


def _forward_products(t: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
    """sum_x sum_mu t_x t_{x+mu} per configuration, mu over the periodic axes ``dims``; (B,)."""
    return sum(_sum_sites(t * torch.roll(t, -1, dims=d)) for d in dims)


# --------------------------------------------------------------------------------- Ising


def ising_square_energy(spins: torch.Tensor, J: float = 1.0, h: float = 0.0) -> torch.Tensor:
    """Ising energy ``E = -J sum_bonds s_i s_j - h sum_i s_i`` on the L x L square lattice.

    Args:
        spins: (B, L, L) ``[b, y, x]``, values +-1, any real or integer dtype.
        J: coupling (units of energy; the MC stage uses J = 1 and K = J/T).
        h: uniform field, same units as J.

    Returns:
        (B,) total energy (not per spin) in the units of J.
    """
    _check_square(spins, "square Ising spins")
    s = _floating(spins)
    return -J * _forward_products(s, (-1, -2)) - h * _sum_sites(s)


def ising_lieb_energy(spins: torch.Tensor, J: float = 1.0, h: float = 0.0) -> torch.Tensor:
    """Ising energy ``E = -J sum_bonds s_i s_j - h sum_i s_i`` on the Lieb lattice.

    Every bond joins a corner and a decorating spin: c(x, y) -- h(x, y) -- c(x+1, y) and
    c(x, y) -- v(x, y) -- c(x, y+1); the field acts on all 3 L^2 spins.

    Args:
        spins: (B, 3, L, L) ``[b, sublattice (corner, horizontal, vertical), y, x]``,
            values +-1, any real or integer dtype.
        J: coupling; h: uniform field (units of energy).

    Returns:
        (B,) total energy (not per spin) in the units of J.
    """
    if spins.ndim != 4 or spins.shape[1] != 3:
        raise ValueError(f"Lieb Ising spins: expected shape (B, 3, L, L), got {tuple(spins.shape)}")
    _check_square(spins[:, 0], "Lieb Ising spins (per sublattice)")
    s = _floating(spins)
    corner, hor, ver = s[:, 0], s[:, 1], s[:, 2]
    right = torch.roll(corner, -1, dims=-1)
    up = torch.roll(corner, -1, dims=-2)
    bonds = _sum_sites(hor * (corner + right)) + _sum_sites(ver * (corner + up))
    return -J * bonds - h * _sum_sites(s)


def ising_energy(
    spins: torch.Tensor, lattice: str = "square", J: float = 1.0, h: float = 0.0
) -> torch.Tensor:
    """Ising energy on the lattice named as in the MC job (``square`` or ``lieb``); (B,).

    See :func:`ising_square_energy` and :func:`ising_lieb_energy` for layouts and units.
    """
    if lattice == "square":
        return ising_square_energy(spins, J, h)
    if lattice == "lieb":
        return ising_lieb_energy(spins, J, h)
    raise ValueError(f"unknown lattice {lattice!r} (expected 'square' or 'lieb')")


def ising_magnetisation(spins: torch.Tensor) -> torch.Tensor:
    """Magnetisation per spin ``m = (1/N) sum_i s_i`` over every spin of each configuration.

    Args:
        spins: (B, ...) any layout (square (B, L, L), Lieb (B, 3, L, L): all N spins count).

    Returns:
        (B,) dimensionless.
    """
    s = _floating(spins)
    return _sum_sites(s) / s.shape[1:].numel()


# ------------------------------------------------------------------------------------ XY


def _xy_axes(theta: torch.Tensor) -> tuple[int, ...]:
    """Lattice axes of an XY batch, x first: (-1,) for the ring, (-1, -2) for the square."""
    if theta.ndim == 2 and theta.shape[1] >= 2:
        return (-1,)
    if theta.ndim == 3:
        _check_square(theta, "XY angles")
        return (-1, -2)
    raise ValueError(f"XY angles: expected shape (B, L, L) or (B, L), got {tuple(theta.shape)}")


def _xy_differences(theta: torch.Tensor) -> list[torch.Tensor]:
    """``d theta_mu = theta_{i+mu} - theta_i`` per direction (x first), each shaped as theta."""
    t = _floating(theta)
    return [torch.roll(t, -1, dims=d) - t for d in _xy_axes(theta)]


def xy_energy(theta: torch.Tensor, J: float = 1.0) -> torch.Tensor:
    """XY energy ``E = -J sum_bonds cos(theta_i - theta_j)``.

    Args:
        theta: angles in radians (any real values; the MC stores [0, 2 pi)), shape
            (B, L, L) ``[b, y, x]`` (square) or (B, L) ``[b, x]`` (ring).
        J: coupling (units of energy; the MC stage uses J = 1 and K = J/T).

    Returns:
        (B,) total energy in the units of J (the MC's ``energy`` is E / N for J = 1).
    """
    return -J * sum(_sum_sites(torch.cos(d)) for d in _xy_differences(theta))


def xy_twist_sums(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bond sums of the helicity modulus, per direction.

    ``cos_sums[b, mu] = sum_i cos(d theta_mu(i))`` and ``sin_sums[b, mu] = sum_i
    sin(d theta_mu(i))`` with ``d theta_mu(i) = theta_{i+mu} - theta_i``: the raw columns
    ``cos_sum_x``, ``sin_sum_x``, ``cos_sum_y``, ``sin_sum_y`` of :func:`rgpipe.mc.xy.measure`.

    Args:
        theta: (B, L, L) ``[b, y, x]`` or (B, L) ``[b, x]`` angles in radians.

    Returns:
        (cos_sums, sin_sums), each (B, D) with D = 2 (x, y) on the square lattice and
        D = 1 (x) on the ring; dimensionless.
    """
    diffs = _xy_differences(theta)
    cos_sums = torch.stack([_sum_sites(torch.cos(d)) for d in diffs], dim=1)
    sin_sums = torch.stack([_sum_sites(torch.sin(d)) for d in diffs], dim=1)
    return cos_sums, sin_sums


def xy_helicity_pieces(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``cos_mu`` and ``sin2_mu`` of one configuration each, as the MC's META defines them.

    ``cos_mu = (1/N) sum_i cos(d theta_mu(i))``, ``sin2_mu = (1/N) (sum_i sin(d theta_mu(i)))^2``
    (N sites); the helicity estimator is ``J (cos_mu - K sin2_mu)``, K = J/T
    (:mod:`rgpipe.physics.xy`).

    Args:
        theta: (B, L, L) ``[b, y, x]`` or (B, L) ``[b, x]`` angles in radians.

    Returns:
        (cos_mu, sin2_mu), each (B, D), D = 2 (x, y) on the square lattice, 1 on the ring;
        dimensionless (META lists them in units of J, which is 1 there).
    """
    cos_sums, sin_sums = xy_twist_sums(theta)
    n = theta.shape[1:].numel()
    return cos_sums / n, sin_sums * sin_sums / n


# ---------------------------------------------------------------------------------- phi^4


def phi4_action(phi: torch.Tensor, beta: float, lam: float) -> torch.Tensor:
    """Lattice phi^4 action in the MC stage's parameterisation (weight exp(-S)).

    ``S = sum_x [-beta sum_mu phi_x phi_{x+mu} + phi_x^2 + lam (phi_x^2 - 1)^2]``, mu over
    the two forward directions (for L = 2 the two bonds of a pair are distinct).

    Args:
        phi: (B, L, L) real field ``[b, y, x]``.
        beta: hopping coupling; lam: quartic coupling (both dimensionless).

    Returns:
        (B,) dimensionless action (the MC's ``action`` series is S / N).
    """
    _check_square(phi, "phi^4 field")
    p = _floating(phi)
    p2 = p * p
    local = _sum_sites(p2 + lam * (p2 - 1.0) ** 2)
    return -beta * _forward_products(p, (-1, -2)) + local


# ------------------------------------------------------------------------ 0+1D field


def _check_path(x: torch.Tensor) -> torch.Tensor:
    """Validate a batch of periodic paths (B, n_tau) and return it as floating point."""
    if x.ndim != 2:
        raise ValueError(f"paths: expected shape (B, n_tau), got {tuple(x.shape)}")
    return _floating(x)


def potential_values(
    x: torch.Tensor, potential: Potential | Sequence[float] | torch.Tensor
) -> torch.Tensor:
    """``V(x) = sum_k c_k x^k`` elementwise (Horner's rule), shape and dtype of x.

    Args:
        x: positions, any shape.
        potential: a :class:`~rgpipe.physics.oscillator.Potential`, or its coefficients
            in increasing powers as floats or as a 1-D tensor (on x's device or the CPU;
            it may require grad, e.g. to fit a potential).
    """
    coeffs = potential.coeffs.tolist() if isinstance(potential, Potential) else potential
    xf = _floating(x)
    v = torch.zeros_like(xf)
    for k in range(len(coeffs) - 1, -1, -1):
        v = v * xf + coeffs[k]
    return v


def oscillator_kinetic(x: torch.Tensor, mass: float, a: float) -> torch.Tensor:
    """Kinetic part of the lattice action, ``sum_i m (x_{i+1} - x_i)^2 / (2 a)``, x_N = x_0.

    With ``a = beta / n_tau`` this is ``K / beta``, ``K = (m n_tau / 2) sum_i (x_{i+1} -
    x_i)^2`` independent of beta.

    Args:
        x: (B, n_tau) periodic paths (length units; hbar = 1).
        mass: particle mass m; a: lattice spacing in imaginary time (1/energy).

    Returns:
        (B,) dimensionless.
    """
    xf = _check_path(x)
    dx = torch.roll(xf, -1, dims=-1) - xf
    return (mass / (2.0 * a)) * (dx * dx).sum(dim=-1)


def oscillator_potential(
    x: torch.Tensor, potential: Potential | Sequence[float] | torch.Tensor, a: float
) -> torch.Tensor:
    """Potential part of the lattice action, ``a sum_i V(x_i)``.

    With ``a = beta / n_tau`` this is ``beta Vbar``, ``Vbar = (1/n_tau) sum_i V(x_i)``.

    Args:
        x: (B, n_tau) periodic paths.
        potential: a Potential or its coefficients (see :func:`potential_values`).
        a: lattice spacing (1/energy).

    Returns:
        (B,) dimensionless.
    """
    return a * potential_values(_check_path(x), potential).sum(dim=-1)


def oscillator_action(
    x: torch.Tensor,
    potential: Potential | Sequence[float] | torch.Tensor,
    mass: float,
    a: float,
) -> torch.Tensor:
    """Euclidean lattice action ``S = sum_i [m (x_{i+1} - x_i)^2 / (2 a) + a V(x_i)]``.

    The sum of :func:`oscillator_kinetic` and :func:`oscillator_potential`; ``a = beta /
    n_tau`` (:func:`rgpipe.physics.oscillator.lattice_spacing`).

    Args:
        x: (B, n_tau) periodic paths.
        potential: a Potential or its coefficients (see :func:`potential_values`).
        mass: particle mass; a: lattice spacing.

    Returns:
        (B,) dimensionless action (weight exp(-S)).
    """
    return oscillator_kinetic(x, mass, a) + oscillator_potential(x, potential, a)
