"""The R&D knowledge stock: semi-endogenous production of software gamma, lagged spillovers.

docs/model.md 3.8-3.9. A lab's knowledge stock is ``k = initial_stock + log2 S``
doublings (its software multiplier ``S``, counted from the origin year). Its
R&D buys ``gamma = productivity x (R / R_ref)^returns x 2^(-ideas_harder x k)``
doublings per year (Jones 1995; Bloom, Jones, Van Reenen and Webb 2020),
with ``R`` a Cobb-Douglas index of R&D dollars and research-experiment
FLOP/s: ``returns < 1`` is stepping on toes, ``ideas_harder > 0`` ideas
getting harder to find. Laggards also close a share of the gap to the
frontier of ``spillover_lag_steps`` steps ago, kept in a short history.
"""

from __future__ import annotations

import numpy as np

from sim.economy.params import RnD


def research_input(rnd: RnD, spend_rate: np.ndarray, research_flops: np.ndarray) -> np.ndarray:
    """(B, N) R&D input relative to the reference: ``(x / x_ref)^a (F / F_ref)^(1 - a)``.

    Args:
        rnd: the batch's R&D parameters (B,).
        spend_rate: effective R&D spend (own + subsidy), USD/yr (B, N).
        research_flops: peak FLOP/s on research experiments (B, N).
    """
    share = rnd.dollar_share[:, None]
    dollars = (spend_rate / rnd.reference_spend[:, None]) ** share
    compute = (research_flops / rnd.reference_research_flops[:, None]) ** (1.0 - share)
    return dollars * compute


def produced_gamma(
    rnd: RnD, spend_rate: np.ndarray, research_flops: np.ndarray, log2_software: np.ndarray
) -> np.ndarray:
    """(B, N) doublings/yr R&D buys before noise and spillovers (``base_gamma`` included).

    ``base + productivity x R^returns x 2^(-ideas_harder x (initial_stock + log2 S))``.
    """
    stock = rnd.initial_stock[:, None] + log2_software
    harder = np.exp2(-rnd.ideas_harder[:, None] * stock)
    scale = research_input(rnd, spend_rate, research_flops) ** rnd.returns[:, None]
    return rnd.base_gamma[:, None] + rnd.productivity[:, None] * scale * harder


def marginal_gamma(
    rnd: RnD, spend_rate: np.ndarray, research_flops: np.ndarray, log2_software: np.ndarray
) -> np.ndarray:
    """(B, N) d gamma / d spend rate (doublings/yr per USD/yr) at ``spend_rate``.

    ``a x returns x (gamma - base) / x``; infinite at no spend (the first dollar
    is worth most), zero where no research compute makes the index zero.
    """
    gamma = produced_gamma(rnd, spend_rate, research_flops, log2_software)
    bought = gamma - rnd.base_gamma[:, None]
    elasticity = (rnd.dollar_share * rnd.returns)[:, None]
    return np.where(spend_rate > 0.0, elasticity * bought / spend_rate, np.inf)


def record_frontier(history: np.ndarray, frontier: np.ndarray) -> np.ndarray:
    """(B, H) the frontier history with this step's frontier (B,) in slot 0, the oldest dropped."""
    return np.concatenate([frontier[:, None], history[:, :-1]], axis=1)


def lagged_frontier(rnd: RnD, history: np.ndarray) -> np.ndarray:
    """(B, 1) the frontier's log2 S of ``spillover_lag_steps`` steps ago (slot 0: this step).

    Before the run has lasted the lag, the oldest recorded frontier (the start's) stands in.
    """
    slot = np.minimum(rnd.spillover_lag_steps, history.shape[1] - 1)
    return np.take_along_axis(history, slot[:, None], axis=1)
