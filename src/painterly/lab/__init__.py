"""The experiment lab: sweeps over settings, contact sheets, loss plots, layer
reconstructions (Gatys Fig. 1), colour histograms and progression videos.

Every experiment is a function that returns or writes a figure; the CLI commands
``sweep``, ``reconstruct``, ``histogram`` and ``progression`` are thin wrappers.
Nothing here prints: progress leaves through callbacks.
"""

from painterly.lab.specs import Axis, SweepRun, SweepSpec, load_spec, parse_grid_option, plan_runs

__all__ = ["Axis", "SweepRun", "SweepSpec", "load_spec", "parse_grid_option", "plan_runs"]
