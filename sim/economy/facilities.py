"""Data-centre facilities: the MW of critical load a lab has built, and what adding it costs.

docs/model.md 3.20. A GPU runs only inside a facility: its facility watts
(board watts x PUE x server overhead) count against the lab's built MW. A
lab builds the MW its installed fleet needs beyond its facility when the
GPUs are installed, paying ``facility_cost_per_mw`` per MW (at most its
cash) to the construction account; the MW stay built when GPUs retire.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim.economy.params import Hardware
from sim.economy.payments import pay, up_to_cash
from sim.economy.state import Fleet, LabState


def needed_mw(fleet: Fleet, hw: Hardware) -> np.ndarray:
    """(B, N) MW of facility the installed fleet needs: its facility watts / 1e6."""
    return fleet.total_watts * hw.watts_factor[:, None] / 1e6


def cost_per_gpu(hw: Hardware) -> np.ndarray:
    """(B, R) USD of facility one GPU of each roadmap chip needs."""
    return hw.chip_watts * (hw.watts_factor * hw.facility_cost_per_mw)[:, None] / 1e6


def build(labs: LabState, fleet: Fleet, hw: Hardware) -> tuple[LabState, np.ndarray]:
    """Each lab builds the facility MW its installed fleet lacks, as far as its cash goes.

    Returns the labs with their new cash and facility and the USD paid (B, N).
    """
    need = needed_mw(fleet, hw)
    missing = np.maximum(need - labs.facility_mw, 0.0)
    price = hw.facility_cost_per_mw[:, None]
    paid = up_to_cash(missing * price, labs.cash)
    in_full = paid >= missing * price
    partly = labs.facility_mw + paid / price
    facility = np.where(in_full, np.maximum(need, labs.facility_mw), partly)
    labs = replace(labs, cash=pay(labs.cash, {"facilities": paid}), facility_mw=facility)
    return labs, paid
