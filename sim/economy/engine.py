"""Run a batch of runs to the end of their horizon, recording every step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.config.scenario import Scenario
from sim.economy.build import build
from sim.economy.params import Params
from sim.economy.phases import step
from sim.economy.state import State
from sim.economy.trace import Trace, opening


@dataclass(frozen=True)
class BatchRun:
    """A finished batch: its scenarios and seeds, parameters, final state and trace."""

    scenarios: tuple[Scenario, ...]
    seeds: tuple[int, ...]
    params: Params
    state: State
    trace: Trace


def simulate(params: Params, state: State, shocks: np.ndarray) -> tuple[State, Trace]:
    """Step ``state`` to the end of the horizon; the trace holds step 0 and every step after."""
    trace = Trace(params)
    trace.record(state, opening(state, params))
    for k in range(state.step, params.n_steps):
        state, result = step(state, params.in_force(k), shocks[:, k])
        trace.record(state, result)
    return state, trace


def run_batch(scenarios: Sequence[Scenario], seeds: Sequence[int]) -> BatchRun:
    """Build and run a batch of scenarios of one :func:`sim.economy.build.structure`."""
    params, state, shocks = build(scenarios, seeds)
    state, trace = simulate(params, state, shocks)
    return BatchRun(tuple(scenarios), tuple(int(s) for s in seeds), params, state, trace)
