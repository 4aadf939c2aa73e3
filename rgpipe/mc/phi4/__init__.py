"""Monte Carlo of 2D lattice phi^4.

Modules: :mod:`.spec` (the options and the two parameter forms), :mod:`.check` (checks
between options), :mod:`.kernels` (the numba updates and the chain) and :mod:`.driver`.
Importing the package imports none of them.
"""
