"""efficiency-race: an agent-based economic simulation of the AI efficiency race.

AI labs with GPU fleets and R&D budgets buy chips and power over a supply
network and all move along one shared logical-compute scaling law
``L(C) = E + K C^-kappa`` (see ``sim.law``).
"""

__version__ = "0.1.0"
