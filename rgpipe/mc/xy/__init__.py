"""Monte Carlo of the XY model on the square lattice and the ring.

Modules: :mod:`.spec` (the options and the composition of a sweep), :mod:`.check`
(checks between options), :mod:`.kernels` (geometry and numba kernels), :mod:`.chain`
(one Markov chain and its thermalisation), :mod:`.observables` (series and estimates)
and :mod:`.driver`.  Importing the package imports none of them.
"""
