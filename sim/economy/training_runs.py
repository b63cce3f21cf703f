"""Frontier training runs: when a lab starts one, how long it lasts, what it adds, what it deploys.

docs/model.md 3.22. Each lab trains one frontier run at a time on the
training share of its powered fleet. A run starts at the beginning of a step
and ends at the end of one; its logical compute is integrated exactly over
every step it lasts. A run can use a share ``u`` of the efficiency gains made
while it is in progress: of the GPUs added since it started, and of the
software doublings since (``u = 0``: hardware and algorithms fixed at its
start; ``u = 1``: the paper's continuous case). The lab serves the model of
its latest finished run, or each step its run's latest checkpoint if it
deploys checkpoints.

Run length: by default the optimum for the efficiency growth the lab expects
(:func:`sim.law.optimal_run_length`), runs back to back; a run of unbounded
optimal length (``u = 1``) spans the rest of the horizon. With a release
deadline the lab starts its final run when waiting one more step no longer
adds compute by the deadline, and the run ends at the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim import law
from sim.economy.params import Params
from sim.economy.state import Fleet, LabState
from sim.law import LN2, SECONDS_PER_YEAR, exponential_integral

STEP_TOLERANCE = 1e-9
"""Steps: a planned end within this of a step's end falls in that step."""


@dataclass(frozen=True)
class RunStep:
    """What the labs' runs did in one step, (B, N) each."""

    added: np.ndarray  # FLOP of logical compute added to the runs
    flop_added: np.ndarray  # training FLOP added: GPU FLOP at MFU, no software multiplier
    finished: np.ndarray  # bool: a run ended at the step's end


def expected_gamma(labs: LabState, params: Params) -> np.ndarray:
    """(B, N) doublings/yr of effective FLOP/s a lab expects: its software gamma + hardware's."""
    return labs.gamma_software + params.labs.expected_hardware_gamma


def planned_steps(labs: LabState, params: Params, t: np.ndarray) -> np.ndarray:
    """(B, N) steps of a run started at ``t``: its length rounded to whole steps, at least one.

    A run with no deadline lasts ``run_years`` or the optimum for the
    expected gamma; one with a deadline ahead ends at the deadline. A run of
    unbounded length (nothing is gained by waiting) ends with the horizon; a
    finite one may outlast it and is then still in progress at the end.
    """
    p, dt = params.labs, params.clock.dt[:, None]
    optimum = law.optimal_run_length(expected_gamma(labs, params), p.usable_share)
    years = np.where(np.isnan(p.run_years), optimum, p.run_years)
    deadline_ahead = np.isfinite(p.deadline) & (t[:, None] < p.deadline)
    years = np.where(deadline_ahead, p.deadline - t[:, None], years)
    years = np.where(np.isinf(years), params.n_steps * dt - t[:, None], years)
    steps = np.minimum(years / dt, params.n_steps + 1.0)
    return np.maximum(np.round(steps - STEP_TOLERANCE), 1.0)


def waiting_pays(labs: LabState, params: Params, t: np.ndarray) -> np.ndarray:
    """(B, N) bool: starting the final run a step later ends with more compute at the deadline.

    With effective FLOP/s growing as ``2^(gamma s)`` and a share ``u`` of the
    gains usable mid-run, a run from ``s`` to the deadline ``D`` trains
    ``~ 2^(gamma s) integral_0^(D - s) 2^(u gamma tau) d tau``; the lab waits
    while that is larger for ``s = t + dt`` than for ``s = t``.
    """
    p, dt, start = params.labs, params.clock.dt[:, None], t[:, None]
    gamma = expected_gamma(labs, params)
    rate = p.usable_share * gamma * LN2
    now = exponential_integral(np.maximum(p.deadline - start, 0.0), rate)
    later = exponential_integral(np.maximum(p.deadline - start - dt, 0.0), rate)
    finite = np.isfinite(p.deadline) & (start + dt < p.deadline - STEP_TOLERANCE * dt)
    with np.errstate(all="ignore"):
        gain = gamma * LN2 * dt + np.log(later) - np.log(now)
    return finite & (gain > 0.0)


def start(
    labs: LabState, params: Params, fleet: Fleet, t: np.ndarray, flops: np.ndarray,
    units: np.ndarray,
) -> LabState:
    """Idle labs start a run unless waiting for their deadline pays.

    A run records at its start the training FLOP/s and software level it can
    count on, the GPUs training and the fleet's main chip (by FLOP/s). The
    first run of a lab that warm-starts continues its starting model.
    """
    p, dt = params.labs, params.clock.dt[:, None]
    starts = ~labs.run_active & ~waiting_pays(labs, params, t)
    end = t[:, None] + planned_steps(labs, params, t) * dt
    warm = p.warm_start & (labs.runs_started == 0)
    main_chip = (fleet.units * params.hardware.variant_flops).argmax(axis=2)
    labs = replace(
        labs,
        run_active=labs.run_active | starts,
        run_start=np.where(starts, t[:, None], labs.run_start),
        run_end=np.where(starts, end, labs.run_end),
        run_compute=np.where(starts, np.where(warm, labs.compute, 0.0), labs.run_compute),
        run_flop=np.where(starts, np.where(warm, labs.compute, 0.0), labs.run_flop),
        run_flops=np.where(starts, flops, labs.run_flops),
        run_log2_software=np.where(starts, labs.log2_software, labs.run_log2_software),
        run_units=np.where(starts, units, labs.run_units),
        run_chip=np.where(starts, main_chip, labs.run_chip),
        runs_started=labs.runs_started + starts,
    )  # fmt: skip
    return labs


def usable_flops(labs: LabState, params: Params, flops: np.ndarray) -> np.ndarray:
    """(B, N) training FLOP/s a run in progress can use now.

    GPUs lost since its start are lost to it; of those added, the share ``u``.
    """
    u = params.labs.usable_share
    return (1.0 - u) * np.minimum(flops, labs.run_flops) + u * flops


def added_compute(
    labs: LabState, params: Params, flops: np.ndarray, ceiling: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(B, N) logical FLOP and training FLOP the step adds to each active run.

    Logical: ``usable FLOP/s x MFU x s/yr x S_usable x integral_0^dt 2^(u gamma s) ds``
    with ``log2 S_usable = log2 S_start + u (log2 S_t - log2 S_start)``, up to
    ``ceiling`` for the run. Training FLOP: the same GPU work without the
    software multiplier, ``usable FLOP/s x MFU x s/yr x dt``, cut in the same
    proportion when the ceiling binds. Published estimates of a run's compute
    count the latter; the model's logical compute counts software efficiency
    since the start of the simulation too.
    """
    u, dt = params.labs.usable_share, params.clock.dt[:, None]
    log2_usable = labs.run_log2_software + u * (labs.log2_software - labs.run_log2_software)
    integral = exponential_integral(dt, u * labs.gamma_software * LN2)
    gpu_work = usable_flops(labs, params, flops) * (params.hardware.mfu * SECONDS_PER_YEAR)[:, None]
    uncapped = gpu_work * 2.0**log2_usable * integral
    headroom = np.maximum(ceiling - labs.run_compute, 0.0)
    added = np.where(labs.run_active, np.minimum(headroom, uncapped), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = np.where(uncapped > 0, added / uncapped, 0.0)
    return added, gpu_work * dt * kept


def advance(
    labs: LabState, params: Params, fleet: Fleet, t: np.ndarray, flops: np.ndarray,
    units: np.ndarray, ceiling: np.ndarray,
) -> tuple[LabState, RunStep]:
    """Start runs, train the active ones over the step, finish and deploy those that end.

    Args:
        labs: the labs before training, their software gamma of the step set.
        params: the batch's parameters.
        fleet: the fleet installed in the step.
        t: (B,) the step's start, yr.
        flops: (B, N) training FLOP/s of the powered fleet.
        units: (B, N) GPUs training.
        ceiling: (B, N) logical compute a run may not exceed (the compute cap), inf: none.
    """
    labs = start(labs, params, fleet, t, flops, units)
    added, flop_added = added_compute(labs, params, flops, ceiling)
    run_compute = labs.run_compute + added
    step_end = (t + params.clock.dt)[:, None]
    finished = labs.run_active & (
        step_end >= labs.run_end - STEP_TOLERANCE * params.clock.dt[:, None]
    )
    deploys = finished | (labs.run_active & params.labs.deploy_checkpoints)
    labs = replace(
        labs,
        run_compute=run_compute,
        run_flop=labs.run_flop + flop_added,
        run_active=labs.run_active & ~finished,
        compute=np.where(deploys, np.maximum(labs.compute, run_compute), labs.compute),
    )
    return labs, RunStep(added, flop_added, finished)
