"""Per-lab and per-run outputs of a batch, declared once and computed on its arrays.

Each :class:`Output` names a column, its unit and meaning, and how it is
computed from a batch's trace (:class:`Series`) for every run at once:
``(B, N)`` for a lab output, ``(B,)`` for a run output. ``race run`` writes
them as ``lab_summary`` and ``summary``; a sweep stores the run outputs in
``runs.parquet``; ``race export``'s data dictionary and ``docs/model.md``
describe them from here. Adding an output is one entry and its test.

Every lab quantity (a lab output or a ``years_to_R<target>`` column) also
exists per lab and per region at the run level, named
``QUANTITY[lab=LAB]`` (``final_loss[lab=cn_hare]``) and
``AGG_QUANTITY[region=REGION]`` (``min_final_loss[region=cn]``; ``min``,
``max``, ``mean``, and ``sum`` for an :attr:`Output.extensive` quantity):
:func:`breakdown_outputs` computes them for a batch, :func:`breakdown_names`
lists a scenario's, :func:`resolve_output_names` checks names asked for. Lab
and region names cannot hold ``[``, ``]`` or ``=``, so a name reads one way.
"""

from __future__ import annotations

import re
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

SPEND = ("spend_capex", "spend_tariffs", "spend_facilities", "spend_energy", "spend_carbon_tax",
         "spend_own_generation", "spend_rnd", "spend_projects", "spend_compliance")  # fmt: skip
"""The lab series that count as spending."""

TO_GOVERNMENT = ("tariffs", "carbon_tax", "own_carbon_tax", "compliance")
FROM_GOVERNMENT = ("rd_subsidy",)


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


def rolling_slopes(t: np.ndarray, efficiency: np.ndarray, window: int) -> np.ndarray:
    """OLS slope of log2(efficiency) on t over each trailing window of ``window`` points.

    The per-step view of :func:`realized_gamma`, for every window at once from
    running sums. ``efficiency`` is (T,) or (T, N) (one column per lab, each
    centred on its own usable times); unusable points (non-finite or
    non-positive) are left out of their windows, and a window with fewer than
    two usable points gives NaN.
    """
    t = np.asarray(t, dtype=float)
    values = np.asarray(efficiency, dtype=float)
    columns = values.reshape(len(t), -1)
    usable = np.isfinite(columns) & (columns > 0) & np.isfinite(t)[:, None]
    count = usable.sum(axis=0)
    centre = np.where(usable, t[:, None], 0.0).sum(axis=0) / np.maximum(count, 1)
    x = np.where(usable, t[:, None] - centre, 0.0)
    y = np.where(usable, np.log2(np.where(usable, columns, 1.0)), 0.0)
    n, sx, sy = (_window_sums(a, window) for a in (usable.astype(float), x, y))
    sxx, sxy = _window_sums(x * x, window), _window_sums(x * y, window)
    denominator = n * sxx - sx * sx
    with np.errstate(all="ignore"):
        slope = (n * sxy - sx * sy) / denominator
    fitted = (n >= 2) & (denominator > 1e-12 * np.maximum(n * sxx, 1e-300))
    return np.where(fitted, slope, np.nan).reshape(values.shape)


def _window_sums(values: np.ndarray, window: int) -> np.ndarray:
    """Sum over rows of each trailing window ``values[max(0, i - window + 1) : i + 1]``."""
    running = np.concatenate((np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)))
    ends = np.arange(1, len(values) + 1)
    return running[ends] - running[np.maximum(ends - window, 0)]


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
        """Training compute added per MW-year, (B, T, N), steps 1..T; NaN without power."""
        power_years = self.labs["power_mw"][:, 1:] * self.dt[..., None]
        added = self.labs["training_compute_added"][:, 1:]
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
    def finished_runs(self) -> tuple[np.ndarray, np.ndarray]:
        """(B, T + 1, N) where a training run ended, and its logical compute (0 elsewhere)."""
        ended = self.labs["run_finished"] > 0
        return ended, np.where(ended, self.labs["run_compute"], 0.0)

    @cached_property
    def last_run_years(self) -> np.ndarray:
        """(B, N) length of each lab's last finished run; NaN if none finished."""
        ended, _ = self.finished_runs
        last = ended.shape[1] - 1 - ended[:, ::-1].argmax(axis=1)  # (B, N)
        b, n = np.ogrid[: ended.shape[0], : ended.shape[2]]
        years = self.t[b, last] - self.labs["run_start"][b, last, n]
        return np.where(ended.any(axis=1), years, np.nan)

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
    extensive: bool = False
    """Whether the quantity adds up over labs (compute, spend): it has a region ``sum``."""


def _final(name: str) -> Callable[[Series], np.ndarray]:
    return lambda s: s.labs[name][:, -1]


LAB_OUTPUTS: tuple[Output, ...] = (
    Output("initial_loss", "nats/token", "loss at step 0", lambda s: s.labs["loss"][:, 0]),
    Output("final_loss", "nats/token", "loss at the last step", lambda s: s.final_loss),
    Output(
        "final_relative_excess_loss", "1", "relative_excess_loss at the last step",
        lambda s: s.relative_excess_loss[:, -1],
    ),  # fmt: skip
    Output(
        "final_compute", "FLOP", "logical compute of the model served at the end",
        _final("compute"), extensive=True,
    ),  # fmt: skip
    Output(
        "runs_finished", "1", "training runs finished over the horizon",
        lambda s: s.finished_runs[0].sum(axis=1).astype(float), extensive=True,
    ),  # fmt: skip
    Output(
        "largest_run_flop", "FLOP", "logical compute of the lab's largest finished run "
        "(0 if none finished)", lambda s: s.finished_runs[1].max(axis=1),
    ),  # fmt: skip
    Output(
        "last_run_years", "yr", "length of the lab's last finished run (NaN if none)",
        lambda s: s.last_run_years,
    ),  # fmt: skip
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
    Output("final_fleet_units", "GPU", "fleet at the end", _final("fleet_units"), extensive=True),
    Output(
        "final_market_share", "1", "market share at the end", _final("market_share"),
        extensive=True,
    ),  # fmt: skip
    Output(
        "total_spend", "USD", "sum of every spend_* column over the run",
        lambda s: s.total_spend, extensive=True,
    ),  # fmt: skip
    Output(
        "total_energy_mwh", "MWh", "energy used over the run",
        lambda s: s.total_energy_mwh, extensive=True,
    ),  # fmt: skip
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
    Output("final_cash", "USD", "cash at the end", _final("cash"), extensive=True),
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


def _own_mwh(s: Series) -> np.ndarray:
    """(B, T + 1, N) MWh the labs' own generation delivered."""
    return s.labs["own_power_mw"] * HOURS_PER_YEAR * s.dt[..., None]


def _total_mwh(s: Series) -> np.ndarray:
    """(B,) MWh delivered over the run, from the grid and own generation."""
    return s.energy["energy_mwh"].sum(axis=(1, 2)) + _own_mwh(s).sum(axis=(1, 2))


def _total_emissions(s: Series) -> np.ndarray:
    """(B,) tCO2 over the run, from the grid and own generation."""
    grid = s.energy["energy_mwh"] * s.params.energy.carbon_intensity[:, None, :]
    own = _own_mwh(s) * s.params.labs.own_carbon_intensity[:, None, :]
    return grid.sum(axis=(1, 2)) + own.sum(axis=(1, 2))


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
        "run_length_years", "yr",
        "mean over labs of the length of each lab's last finished training run (with a "
        "release deadline: the run that ends at it)", lambda s: _nanmean(s.last_run_years),
    ),  # fmt: skip
    Output(
        "largest_run_flop", "FLOP", "logical compute of the largest training run finished",
        lambda s: s.finished_runs[1].max(axis=(1, 2)),
    ),  # fmt: skip
    Output(
        "hhi_compute", "1",
        "Herfindahl index (0..1 scale) of the compute of the models served at the end",
        lambda s: clearing.hhi(s.labs["compute"][:, -1]),
    ),  # fmt: skip
    Output(
        "hhi_market_share", "1", "Herfindahl index of final market shares",
        lambda s: clearing.hhi(s.labs["market_share"][:, -1]),
    ),  # fmt: skip
    Output(
        "total_compute", "FLOP", "sum of the compute of the models served at the end",
        lambda s: s.labs["compute"][:, -1].sum(axis=1),
    ),  # fmt: skip
    Output(
        "total_energy_mwh", "MWh", "energy delivered over the run",
        _total_mwh,
    ),  # fmt: skip
    Output(
        "total_emissions_t", "tCO2", "emissions over the run",
        _total_emissions,
    ),  # fmt: skip
    Output(
        "mean_energy_price", "USD/MWh",
        "energy-weighted mean clearing price labs paid (carbon tax included)",
        _energy_weighted_price,
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


# ------------------------------------------------------------------ per lab and per region

REGION_AGGREGATES = ("min", "max", "mean", "sum")
"""How a lab quantity is aggregated over a region's labs; ``sum`` only for extensive ones."""

BREAKDOWN_PATTERN = re.compile(
    r"^(?:(?P<aggregate>min|max|mean|sum)_)?(?P<quantity>[A-Za-z0-9_.]+)"
    r"\[(?P<key>lab|region)=(?P<value>[A-Za-z0-9][A-Za-z0-9_.-]*)\]$"
)
"""``QUANTITY[lab=LAB]`` (one lab) or ``AGG_QUANTITY[region=REGION]`` (a region's labs)."""

BREAKDOWN_FORMS = (
    "QUANTITY[lab=LAB] (one lab) or AGG_QUANTITY[region=REGION] (AGG min, max, mean over "
    "the region's labs, or sum for extensive quantities), QUANTITY a lab_summary column"
)


def lab_column(quantity: str, lab: str) -> str:
    """Run-level column of one lab's ``quantity``, e.g. ``final_loss[lab=cn_hare]``."""
    return f"{quantity}[lab={lab}]"


def region_column(aggregate: str, quantity: str, region: str) -> str:
    """Run-level column of a region aggregate, e.g. ``min_final_loss[region=cn]``."""
    return f"{aggregate}_{quantity}[region={region}]"


LAB_OUTPUT_BY_NAME = {output.name: output for output in LAB_OUTPUTS}
TARGET_PATTERN = re.compile(r"^years_to_R(?P<target>[0-9.eE+-]+)$")


def _is_target(quantity: str) -> bool:
    return TARGET_PATTERN.match(quantity) is not None


def aggregates_of(quantity: str) -> tuple[str, ...]:
    """The region aggregates a lab quantity has: ``sum`` only if it adds up over labs."""
    output = LAB_OUTPUT_BY_NAME.get(quantity)
    extensive = output is not None and output.extensive
    return REGION_AGGREGATES if extensive else REGION_AGGREGATES[:-1]


def lab_quantities(scenario) -> list[str]:
    """The lab_summary quantities of a scenario: every lab output, then its target columns."""
    return [o.name for o in LAB_OUTPUTS] + [target_column(x) for x in scenario.law.relative_targets]


def breakdown_names(scenario) -> list[str]:
    """Every per-lab and per-region output name of a scenario, per-lab ones first."""
    quantities = lab_quantities(scenario)
    names = [lab_column(q, lab.name) for lab in scenario.labs for q in quantities]
    for region in dict.fromkeys(lab.region for lab in scenario.labs):
        names += [region_column(a, q, region) for q in quantities for a in aggregates_of(q)]
    return names


def describe_breakdown(name: str) -> tuple[str, str] | None:
    """``(unit, description)`` of a per-lab or per-region output name, None if not one."""
    match = BREAKDOWN_PATTERN.match(name)
    if match is None:
        return None
    aggregate, quantity, key, value = match.group("aggregate", "quantity", "key", "value")
    if (key == "lab") != (aggregate is None):
        return None
    if quantity in LAB_OUTPUT_BY_NAME:
        unit, text = LAB_OUTPUT_BY_NAME[quantity].unit, LAB_OUTPUT_BY_NAME[quantity].description
    elif _is_target(quantity):
        target = TARGET_PATTERN.match(quantity).group("target")
        unit, text = "yr", TARGET_DESCRIPTION.format(target=target)
    else:
        return None
    if aggregate not in aggregates_of(quantity) and key == "region":
        return None
    if key == "lab":
        return unit, f"{quantity} of lab {value}: {text}"
    return unit, f"{_AGGREGATE_WORDS[aggregate]} {quantity} over the labs of region {value}" + (
        _TARGET_NOTE if _is_target(quantity) and aggregate != "min" else _NAN_NOTE
    ) + f" ({quantity}: {text})"


_AGGREGATE_WORDS = {"min": "lowest", "max": "highest", "mean": "mean", "sum": "sum of"}
_NAN_NOTE = ", labs where it is NaN left out (NaN if all are)"
_TARGET_NOTE = ", NaN if a lab of the region did not reach the target"


def breakdown_outputs(batch: BatchRun, values: dict[str, np.ndarray] | None = None) -> list[dict]:
    """Each run's per-lab and per-region outputs (:func:`breakdown_names`), as floats.

    Computed on the batch's ``(B, N)`` lab outputs at once: a region's
    aggregate is a masked reduction over its labs (:func:`region_reduce`).

    Args:
        batch: the finished batch.
        values: its :func:`lab_outputs`, if already computed.
    """
    values = lab_outputs(batch) if values is None else values
    regions = np.array([[lab.region for lab in s.labs] for s in batch.scenarios])
    columns: dict[str, np.ndarray] = {}
    for region in dict.fromkeys(regions.flat):
        mask = regions == region
        for quantity, array in values.items():
            for aggregate in aggregates_of(quantity):
                strict = _is_target(quantity) and aggregate != "min"
                reduced = region_reduce(aggregate, array, mask, strict)
                columns[region_column(aggregate, quantity, region)] = reduced
    rows = []
    for b, scenario in enumerate(batch.scenarios):
        row = {
            lab_column(q, lab.name): float(values[q][b, n])
            for n, lab in enumerate(scenario.labs)
            for q in lab_quantities(scenario)
        }
        row.update({name: float(columns[name][b]) for name in breakdown_names(scenario)
                    if name not in row})  # fmt: skip
        rows.append(row)
    return rows


def region_reduce(aggregate: str, values: np.ndarray, mask: np.ndarray, strict: bool) -> np.ndarray:
    """Reduce ``values`` (B, N) over the labs where ``mask`` (B, N) holds: (B,).

    Non-finite values are left out (NaN where none is left); with ``strict``
    any non-finite value of a masked lab makes the result NaN.
    """
    usable = mask & np.isfinite(values)
    count = usable.sum(axis=1)
    if aggregate == "min":
        result = np.where(usable, values, np.inf).min(axis=1)
    elif aggregate == "max":
        result = np.where(usable, values, -np.inf).max(axis=1)
    else:
        total = np.where(usable, values, 0.0).sum(axis=1)
        with np.errstate(all="ignore"):
            result = total if aggregate == "sum" else total / count
    result = np.where(count > 0, result, np.nan)
    if strict:
        result = np.where((mask & ~usable).any(axis=1), np.nan, result)
    return result


def output_names(scenario) -> list[str]:
    """Every run-level output name of a scenario: the run outputs, then per lab and region."""
    return [o.name for o in RUN_OUTPUTS] + breakdown_names(scenario)


def resolve_output_names(names: list[str], scenarios: list, field: str) -> list[str]:
    """Check output names against the scenarios' outputs; the names once each, in order.

    Args:
        names: the names asked for.
        scenarios: validated scenarios that must all have each name.
        field: the option or field named in errors (``--outputs``, ``outputs``).

    Raises:
        ValueError: naming each unknown output, why it is unknown, and the names that exist.
    """
    problems = [
        f"{name!r} ({why})" for name in names for why in [_unknown_reason(name, scenarios)] if why
    ]
    if problems:
        raise ValueError(
            f"{field}: unknown outputs {'; '.join(problems)}; allowed: "
            f"{', '.join(o.name for o in RUN_OUTPUTS)}; or {BREAKDOWN_FORMS}: "
            f"{_choices(scenarios[0])}"
        )
    return list(dict.fromkeys(names))


def _unknown_reason(name: str, scenarios: list) -> str:
    """Why ``name`` is not an output of every scenario ("" if it is)."""
    if name in {o.name for o in RUN_OUTPUTS}:
        return ""
    match = BREAKDOWN_PATTERN.match(name)
    if match is None:
        return "not a run output, nor of the form QUANTITY[lab=LAB] or AGG_QUANTITY[region=REGION]"
    aggregate, quantity, key, value = match.group("aggregate", "quantity", "key", "value")
    for scenario in scenarios:
        if name in breakdown_names(scenario):
            continue
        if quantity not in lab_quantities(scenario):
            return f"no lab quantity {quantity!r} in scenario {scenario.name}"
        if key == "lab":
            if aggregate is not None:
                return f"a single lab takes no aggregate: write {quantity}[lab={value}]"
            return f"no lab {value!r} in scenario {scenario.name}"
        if aggregate is None or aggregate not in aggregates_of(quantity):
            return f"{quantity} over a region takes {', '.join(aggregates_of(quantity))}"
        return f"no lab of scenario {scenario.name} is in region {value!r}"
    return ""


def _choices(scenario) -> str:
    labs = ", ".join(lab.name for lab in scenario.labs)
    regions = ", ".join(dict.fromkeys(lab.region for lab in scenario.labs))
    return (
        f"QUANTITY one of {', '.join(lab_quantities(scenario))}; LAB one of {labs}; "
        f"REGION one of {regions}"
    )


def check_experiment_outputs(names: list[str], base) -> list[str]:
    """Check an experiment's ``outputs`` against its base scenario mapping.

    If the base does not validate (its problems are reported on their own),
    only the form of each name is checked.

    Raises:
        ValueError: naming the unknown outputs and the names that exist.
    """
    from sim.config.scenario import parse_scenario

    try:
        scenario = parse_scenario(base) if isinstance(base, dict) else None
    except ValueError:  # ConfigError included
        scenario = None
    if scenario is not None:
        return resolve_output_names(names, [scenario], "outputs")
    run = {o.name for o in RUN_OUTPUTS}
    unknown = [n for n in names if n not in run and describe_breakdown(n) is None]
    if unknown:
        raise ValueError(
            f"outputs: unknown {unknown}; allowed: {', '.join(sorted(run))}; or {BREAKDOWN_FORMS}"
        )
    return list(dict.fromkeys(names))
