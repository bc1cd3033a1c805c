"""Model-collapse simulation: recursive n-gram training under three data policies.

Pure Python (no Beam): :func:`simulate` runs the generations, with the curate job
passed in by ``pipelines.simulate_collapse``; :mod:`~curation.simulation.metrics`
measures each generation against held-out real text; :mod:`~curation.simulation.report`
writes the plots and the summary.
"""

from curation.simulation.loop import SimulationConfig, simulate, split_real
from curation.simulation.policies import Document, Policy

__all__ = ["Document", "Policy", "SimulationConfig", "simulate", "split_real"]
