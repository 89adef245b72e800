"""A ProjectX Gateway simulator (REST + SignalR JSON hubs) for offline demos and tests.

This package never imports ``simple_risk_manager``: it owns its own wire constants and payload
shapes, so a mistake in the product's client cannot be hidden by the same mistake here.
"""

from projectx_sim.config import AccountSeed, SimConfig
from projectx_sim.server import Simulator

__version__ = "0.1.0"

__all__ = ["AccountSeed", "SimConfig", "Simulator", "__version__"]
