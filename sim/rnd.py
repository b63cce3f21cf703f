"""R&D: how money buys software-efficiency doublings, and one-off efficiency projects.

Functional forms (documented in docs/model.md):

- R&D production, concave in spend (diminishing returns)::

      gamma_rd(x) = base_gamma + gamma_max * x / (x + half_saturation)

  with ``x`` the effective R&D spend rate in USD/yr (own spend times
  ``1 + subsidy``). Calibration: frontier algorithmic progress halves the
  compute for fixed performance every ~8 months (Ho et al. 2024), about 1.5
  doublings/yr. With the defaults (gamma_max = 2, half_saturation = 4e9
  USD/yr) a lab spending 4e9 USD/yr gets 1 doubling/yr and one spending
  1.2e10 USD/yr gets 1.5.
- Spillovers (knowledge diffusion) close a share ``strength`` per year of the
  gap in log2 software efficiency to the frontier lab::

      gamma_spill = strength * max(0, log2 S_frontier - log2 S_own)

- Projects (docs/calibration.md "R&D and efficiency projects"): a share ``w``
  of paid compute is waste; project i addresses ``share_i`` of it and
  recovers ``recoverable`` of that. With the
  recovered shares summing to ``r``, useful compute is ``1 - w (1 - r)`` of paid
  compute, so the software multiplier gains ``(1 - w (1 - r)) / (1 - w)``
  relative to the wasteful start.
"""

from __future__ import annotations

import math


def rd_gamma(spend_per_year: float, gamma_max: float, half_saturation: float, base: float) -> float:
    """Software doublings per year bought by an R&D spend rate (USD/yr)."""
    if spend_per_year < 0:
        raise ValueError(f"spend_per_year must be in [0, inf), got {spend_per_year}")
    return base + gamma_max * spend_per_year / (spend_per_year + half_saturation)


def rd_gamma_slope(spend_per_year: float, gamma_max: float, half_saturation: float) -> float:
    """Marginal doublings per year of one more USD/yr of R&D: d gamma_rd / dx."""
    return gamma_max * half_saturation / (spend_per_year + half_saturation) ** 2


def spillover_gamma(
    own_log2_multiplier: float, frontier_log2_multiplier: float, strength: float
) -> float:
    """Doublings per year gained by closing part of the gap to the frontier."""
    gap = frontier_log2_multiplier - own_log2_multiplier
    return strength * (gap if gap > 0.0 else 0.0)  # max(0.0, gap) without a call


def waste_multiplier(waste_fraction: float, recovered_share: float) -> float:
    """Software multiplier from recovered waste: ``(1 - w (1 - r)) / (1 - w)``."""
    if not 0 <= recovered_share <= 1:
        raise ValueError(f"recovered_share must be in [0, 1], got {recovered_share}")
    return (1.0 - waste_fraction * (1.0 - recovered_share)) / (1.0 - waste_fraction)


def project_log2_gain(
    waste_fraction: float, recovered_before: float, recovered_by_project: float
) -> float:
    """Doublings of software efficiency that one more project adds."""
    after = waste_multiplier(waste_fraction, min(1.0, recovered_before + recovered_by_project))
    before = waste_multiplier(waste_fraction, recovered_before)
    return math.log2(after / before)
