"""Monte Carlo of the 0+1D field (Euclidean path integral of a particle in a potential).

Modules: :mod:`.spec` (the options, the potentials' requirements and the moves of a
sweep), :mod:`.check` (checks between options), :mod:`.fourier` (the O(N) mass-matrix
solve), :mod:`.kernels` (the numba updates) and :mod:`.driver`.  Importing the package
imports none of them.
"""
