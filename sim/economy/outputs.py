"""Per-lab and per-run outputs of a batch, declared once and computed on its arrays.

Each :class:`Output` names a column, its unit and meaning, and how it is
computed from a batch's trace (:class:`Series`) for every run at once:
``(B, N)`` for a lab output, ``(B,)`` for a run output. ``race run`` writes
them as ``lab_summary`` and ``summary``; a sweep stores the run outputs in
``runs.parquet``; ``race export``'s data dictionary and ``docs/model.md``
describe them from here. Adding an output is one entry and its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.economy import clearing
from sim.economy.engine import BatchRun
from sim.economy.phases import HOURS_PER_YEAR
from sim.law import SECONDS_PER_YEAR

LOSS_POINT = 0.01
"""nats: "cost per loss point" is USD per 0.01 nats of loss reduction."""

SPEND = ("spend_capex", "spend_tariffs", "spend_energy", "spend_carbon_tax", "spend_rnd",
         "spend_projects", "spend_compliance")  # fmt: skip
"""The lab series that count as spending."""

TO_GOVERNMENT, FROM_GOVERNMENT = ("tariffs", "carbon_tax", "compliance"), ("rd_subsidy",)


def realized_gamma(t: np.ndarray, efficiency: np.ndarray) -> np.ndarray:
    """Doublings per year: OLS slope of log2(efficiency) on t, over finite positive points.

    Args:
        t: times (B, T), years.
        efficiency: (B, T, N) values; unusable points (non-finite, <= 0) are left out.

    Returns:
        (B, N) slopes; NaN with fewer than two usable points or no spread in t.
    """
    usable = np.isfinite(efficiency) & (efficiency > 0) & np.isfinite(t)[..., None]
    weight = usable.astype(float)
    count = weight.sum(axis=1)
    with np.errstate(all="ignore"):
        y = np.where(usable, np.log2(np.where(usable, efficiency, 1.0)), 0.0)
        x = np.where(usable, t[..., None], 0.0)
        x_mean, y_mean = x.sum(axis=1) / count, y.sum(axis=1) / count
        dx = np.where(usable, x - x_mean[:, None], 0.0)
        spread = (dx * dx).sum(axis=1)
        slope = (dx * (y - y_mean[:, None])).sum(axis=1) / spread
    return np.where((count >= 2) & (spread > 0), slope, np.nan)


def time_to_target(t: np.ndarray, relative: np.ndarray, target: float) -> np.ndarray:
    """First time the relative (excess) loss reaches ``target``: (B, N) years, NaN if never.

    Between the two steps around the crossing, log(relative loss) is
    interpolated linearly in time.

    Args:
        t: times (B, T), years.
        relative: (B, T, N) relative (excess) losses.
        target: R* in (0, 1].
    """
    hit = relative <= target
    first = hit.argmax(axis=1)  # (B, N)
    before = np.maximum(first - 1, 0)
    b = np.arange(t.shape[0])[:, None]
    n = np.arange(relative.shape[2])[None, :]
    with np.errstate(all="ignore"):
        r0, r1 = np.log(relative[b, before, n]), np.log(relative[b, first, n])
        fraction = np.where(r0 != r1, (r0 - np.log(target)) / (r0 - r1), 1.0)
    t0, t1 = t[b, before], t[b, first]
    years = np.where(first == 0, t1, t0 + fraction * (t1 - t0))
    return np.where(hit.any(axis=1), years, np.nan)


class Series:
    """The trace of a batch as the outputs read it: (B, T + 1, ...) arrays, step 0 first."""

    def __init__(self, batch: BatchRun):
        self.batch = batch
        self.params = batch.params
        self.labs = batch.trace.series["labs"]
        self.chips = batch.trace.series["chips"]
        self.energy = batch.trace.series["energy"]
        self.payments = batch.trace.payments
        self.dt = self.params.clock.dt[:, None]
        self.t = np.arange(self.params.n_steps + 1)[None, :] * self.dt  # (B, T + 1)

    def lab(self, name: str) -> np.ndarray:
        """A lab series (B, T + 1, N)."""
        return self.labs[name]

    @cached_property
    def relative_excess_loss(self) -> np.ndarray:
        """(L - E) / (L0 - E), (B, T + 1, N)."""
        loss, floor = self.labs["loss"], self.params.law.E[:, None, None]
        return (loss - floor) / (loss[:, :1] - floor)

    @cached_property
    def efficiency(self) -> np.ndarray:
        """Compute added per MW-year delivered, (B, T, N) over steps 1..T; NaN without power."""
        power_years = self.labs["power_mw"][:, 1:] * self.dt[..., None]
        added = np.diff(self.labs["compute"], axis=1)
        with np.errstate(all="ignore"):
            return np.where(power_years > 0, added / power_years, np.nan)

    @cached_property
    def hardware_efficiency(self) -> np.ndarray:
        """Running FLOP/s x MFU x s/yr per MW, (B, T, N) over steps 1..T; NaN without power."""
        power = self.labs["power_mw"][:, 1:]
        mfu = self.params.hardware.mfu[:, None, None]
        with np.errstate(all="ignore"):
            value = self.labs["running_flops"][:, 1:] * mfu * SECONDS_PER_YEAR / power
        return np.where(power > 0, value, np.nan)

    @cached_property
    def total_spend(self) -> np.ndarray:
        """(B, N) USD spent over steps 1..T."""
        return sum(self.labs[name][:, 1:].sum(axis=1) for name in SPEND)

    @cached_property
    def total_energy_mwh(self) -> np.ndarray:
        """(B, N) MWh used over the run."""
        return self.labs["power_mw"][:, 1:].sum(axis=1) * HOURS_PER_YEAR * self.dt

    @cached_property
    def loss_points(self) -> np.ndarray:
        """(B, N) loss reduction over the run in loss points (0.01 nats)."""
        loss = self.labs["loss"]
        return (loss[:, 0] - loss[:, -1]) / LOSS_POINT

    def per_point(self, total: np.ndarray) -> np.ndarray:
        """``total`` per loss point, NaN where the loss did not fall."""
        points = self.loss_points
        with np.errstate(all="ignore"):
            return np.where(points > 0, total / points, np.nan)

    @cached_property
    def final_loss(self) -> np.ndarray:
        """(B, N) loss at the last step."""
        return self.labs["loss"][:, -1]


@dataclass(frozen=True)
class Output:
    """One output column: its unit, meaning and computation on a batch."""

    name: str
    unit: str
    description: str
    compute: Callable[[Series], np.ndarray]


def _final(name: str) -> Callable[[Series], np.ndarray]:
    return lambda s: s.labs[name][:, -1]


LAB_OUTPUTS: tuple[Output, ...] = (
    Output("initial_loss", "nats/token", "loss at step 0", lambda s: s.labs["loss"][:, 0]),
    Output("final_loss", "nats/token", "loss at the last step", lambda s: s.final_loss),
    Output(
        "final_relative_excess_loss", "1", "relative_excess_loss at the last step",
        lambda s: s.relative_excess_loss[:, -1],
    ),  # fmt: skip
    Output("final_compute", "FLOP", "cumulative compute at the end", _final("compute")),
    Output(
        "realized_gamma", "doublings/yr",
        "realized gamma: OLS slope of log2(efficiency) on t over steps 1..n "
        "(finite, positive points; NaN with fewer than two)",
        lambda s: realized_gamma(s.t[:, 1:], s.efficiency),
    ),  # fmt: skip
    Output(
        "realized_gamma_hardware", "doublings/yr", "same slope of log2(hardware_efficiency)",
        lambda s: realized_gamma(s.t[:, 1:], s.hardware_efficiency),
    ),  # fmt: skip
    Output(
        "realized_gamma_software", "doublings/yr",
        "same slope of log2(software_multiplier), step 0 included",
        lambda s: realized_gamma(s.t, s.labs["software_multiplier"]),
    ),  # fmt: skip
    Output("final_fleet_units", "GPU", "fleet at the end", _final("fleet_units")),
    Output("final_market_share", "1", "market share at the end", _final("market_share")),
    Output(
        "total_spend", "USD", "sum of every spend_* column over the run", lambda s: s.total_spend
    ),
    Output(
        "total_energy_mwh", "MWh", "energy used over the run", lambda s: s.total_energy_mwh
    ),
    Output(
        "cost_per_loss_point", "USD per loss point",
        "total_spend / ((initial_loss - final_loss) / 0.01); a loss point is 0.01 nats; "
        "NaN if the loss did not fall",
        lambda s: s.per_point(s.total_spend),
    ),  # fmt: skip
    Output(
        "energy_per_loss_point", "MWh per loss point",
        "total_energy_mwh per 0.01 nats of loss reduction",
        lambda s: s.per_point(s.total_energy_mwh),
    ),  # fmt: skip
    Output("final_cash", "USD", "cash at the end", _final("cash")),
)
"""Per run and lab, (B, N)."""


def _nanmean(values: np.ndarray) -> np.ndarray:
    count = np.isfinite(values).sum(axis=1)
    with np.errstate(all="ignore"):
        return np.where(count > 0, np.nansum(values, axis=1) / count, np.nan)


def _leader(s: Series) -> np.ndarray:
    return s.final_loss.argmin(axis=1)


def _energy_weighted_price(s: Series) -> np.ndarray:
    energy = s.energy["energy_mwh"]
    weight = energy.sum(axis=(1, 2))
    with np.errstate(all="ignore"):
        mean = (s.energy["price"] * energy).sum(axis=(1, 2)) / weight
    return np.where(weight > 0, mean, np.nan)


def _government_net(s: Series) -> np.ndarray:
    def total(names):
        return sum(s.payments[name].reshape(s.params.runs, -1).sum(axis=1) for name in names)

    return total(TO_GOVERNMENT) - total(FROM_GOVERNMENT)


def _carbon(s: Series) -> np.ndarray:
    return s.energy["energy_mwh"] * s.params.energy.carbon_intensity[:, None, :]


RUN_OUTPUTS: tuple[Output, ...] = (
    Output(
        "leader_final_loss", "nats/token", "the leader's final loss",
        lambda s: s.final_loss.min(axis=1),
    ),  # fmt: skip
    Output(
        "mean_final_loss", "nats/token", "mean final loss over labs",
        lambda s: _nanmean(s.final_loss),
    ),  # fmt: skip
    Output(
        "mean_realized_gamma", "doublings/yr", "mean realized_gamma over labs",
        lambda s: _nanmean(realized_gamma(s.t[:, 1:], s.efficiency)),
    ),  # fmt: skip
    Output(
        "hhi_compute", "1", "Herfindahl index (0..1 scale) of final cumulative compute",
        lambda s: clearing.hhi(s.labs["compute"][:, -1]),
    ),  # fmt: skip
    Output(
        "hhi_market_share", "1", "Herfindahl index of final market shares",
        lambda s: clearing.hhi(s.labs["market_share"][:, -1]),
    ),  # fmt: skip
    Output(
        "total_compute", "FLOP", "sum of final cumulative compute",
        lambda s: s.labs["compute"][:, -1].sum(axis=1),
    ),  # fmt: skip
    Output(
        "total_energy_mwh", "MWh", "energy delivered over the run",
        lambda s: s.energy["energy_mwh"].sum(axis=(1, 2)),
    ),  # fmt: skip
    Output(
        "total_emissions_t", "tCO2", "emissions over the run",
        lambda s: _carbon(s).sum(axis=(1, 2)),
    ),  # fmt: skip
    Output(
        "mean_energy_price", "USD/MWh",
        "energy-weighted mean energy price (carbon tax excluded)", _energy_weighted_price,
    ),  # fmt: skip
    Output(
        "max_chip_price_index", "1", "highest chip price index reached",
        lambda s: s.chips["price_index"].max(axis=(1, 2)),
    ),  # fmt: skip
    Output(
        "total_chip_shortage", "GPU", "unfilled chip units over the run",
        lambda s: (s.chips["demand"] - s.chips["sold"]).sum(axis=(1, 2)),
    ),  # fmt: skip
    Output(
        "total_chips_sold", "GPU", "chips delivered over the run",
        lambda s: s.chips["sold"].sum(axis=(1, 2)),
    ),  # fmt: skip
    Output(
        "government_net_revenue", "USD",
        "tariffs + carbon tax + compliance received minus subsidies paid", _government_net,
    ),  # fmt: skip
    Output(
        "total_lab_spend", "USD", "sum of total_spend over labs",
        lambda s: s.total_spend.sum(axis=1),
    ),  # fmt: skip
)
"""Per run, (B,)."""

TARGET_DESCRIPTION = (
    "first time relative_excess_loss <= {target} (a law.relative_targets entry), "
    "log(relative_excess_loss) interpolated linearly in t; NaN if not reached"
)


def target_column(target: float) -> str:
    """Column name for the years to reach a relative-loss target."""
    return f"years_to_R{target:g}"


def lab_outputs(batch: BatchRun) -> dict[str, np.ndarray]:
    """Every lab output of the batch, (B, N) each, and the years to each run's targets."""
    series = Series(batch)
    values = {output.name: output.compute(series) for output in LAB_OUTPUTS}
    targets = sorted({x for s in batch.scenarios for x in s.law.relative_targets}, reverse=True)
    for target in targets:
        years = time_to_target(series.t, series.relative_excess_loss, target)
        wanted = np.array([target in s.law.relative_targets for s in batch.scenarios])
        values[target_column(target)] = np.where(wanted[:, None], years, np.nan)
    return values


def run_outputs(batch: BatchRun) -> dict[str, np.ndarray]:
    """Every run output of the batch, (B,) each, and the index of each run's leader."""
    series = Series(batch)
    values = {output.name: output.compute(series) for output in RUN_OUTPUTS}
    values["leader"] = _leader(series)
    return values
