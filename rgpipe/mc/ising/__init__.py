"""Monte Carlo of the Ising model on the square and Lieb lattices.

Modules: :mod:`.spec` (the options), :mod:`.check` (checks between options), the kernels
:mod:`.local` (measurement, checkerboard Metropolis), :mod:`.multispin` (multi-spin-coded
square-lattice Metropolis), :mod:`.cluster` (Wolff, Swendsen-Wang) and
:mod:`.torch_checkerboard`, the sampler interface :mod:`.samplers`, the estimates
:mod:`.observables` and the driver :mod:`.driver`.  Importing the package imports none of
them (the command line's ``--help`` stays cheap).
"""
