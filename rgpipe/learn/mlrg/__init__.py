"""MLRG: machine-learning renormalization group of the Lieb-lattice Ising model.

Hou & You, arXiv:2306.11054; J. Shen, "Learning renormalization group flows for lattices"
(seed 002).  A network learns the RG step J -> J' of a Lieb-lattice Ising model with symmetric
multi-component spins by making the visible marginal of a coarse block at J' match that of a
fine block at J; the learned map's critical fixed point gives J_c and nu.

Modules (each holds one part of the method and documents its algorithm):

* :mod:`.spec`: the hyper-parameters (one declaration each); :mod:`.family`: the family's
  registration (hooks of the shared layer, :mod:`rgpipe.learn.family`); :mod:`.params`:
  defaults resolved and the checks between parameters;
* :mod:`.representation`: C4v irreps, symmetry-derived bond couplings (A1: 1, A1+E: 5,
  2A1+E: 10);
* :mod:`.blocks`: fine (square 8-cycle) and coarse (cross) blocks, reference energies and group
  actions;
* :mod:`.exact_kl`: exact KL by enumeration (hidden spins summed analytically);
* :mod:`.clusters`: larger blocks, N x M clusters of black plaquettes (exact KL through
  histograms of sufficient statistics; the 4 x 2 cluster's bias is +0.38 % against +6.5 %);
* :mod:`.vertex`: clusters for every representation (the cluster as a vertex model);
* :mod:`.gauge`: one representative per gauge orbit of couplings, the gauge-fixed map;
* :mod:`.contrastive`: Gibbs samplers and the contrastive-divergence loss;
* :mod:`.networks`: flow f_theta and monotone C_theta, batched over models;
* :mod:`.hmc`: annealed, Metropolis-adjusted HMC for the training couplings;
* :mod:`.critical`: fixed points, classification, nu, Ising-axis J_c;
* :mod:`.exact`: closed forms and the KL-optimal map (the A1 anchor J* = 0.81392);
* :mod:`.train`: the training loop of one vectorised group (the family's trainer);
* :mod:`.ensemble`: vectorised groups, in-process ensembles; :mod:`.output`: the file's
  MLRG groups; :mod:`.cost`: Slurm requests; :mod:`.critical_file`: the critical stage's
  re-analysis; :mod:`.report`: the aggregate stage's curves and figure.

The package imports nothing eagerly: the registry reads :mod:`.family` without loading torch.
"""
