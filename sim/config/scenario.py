"""Scenarios as data: the pydantic schema every run is built from.

Every parameter is declared once, here, with its unit, default, bounds and
description (:func:`param`). The JSON Schema, the CLI's error messages and the
data dictionary are derived from these declarations. Defaults trace to
``docs/calibration.md`` (see also ``docs/model.md``); every policy lever's
default switches it off.
"""

from __future__ import annotations

import copy
import math
import os
import stat
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from sim.config import schedule

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
STRATEGIES = ("hare", "turtle", "baseline", "adaptive", "static")
PACKAGED_BASELINE = Path(__file__).resolve().parents[1] / "data" / "baseline.yaml"
"""The calibrated baseline shipped inside the package (the dashboard's default scenario)."""
RESERVED_ACCOUNTS = ("investors", "customers", "workforce", "government", "construction")
"""The outside-world and government accounts of the economy's payments; no lab or supplier
may take these names (:mod:`sim.economy.payments`)."""


def param(default: Any, unit: str, description: str, *, ge=None, gt=None, le=None, lt=None):
    """Declare a parameter once: default, unit, bounds and description."""
    return Field(
        default,
        ge=ge,
        gt=gt,
        le=le,
        lt=lt,
        description=description,
        json_schema_extra={"unit": unit},
    )


class Strict(BaseModel):
    """Base of every schema: unknown keys are errors, NaN and infinities are rejected."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)


class LawConfig(Strict):
    """Which scaling law the labs share and which targets the run reports."""

    params: Literal["kaplan", "hoffmann2022", "besiroglu2024", "tokens20"] = Field(
        "kaplan", description="named parameter set of L(C) = E + K C^-kappa (sim.law)"
    )
    kappa: float | None = param(
        None, "1", "override of the set's compute exponent (null keeps the set's)", gt=0, le=2
    )
    relative_targets: list[float] = Field(
        [0.9, 0.8, 0.7],
        min_length=1,
        max_length=20,
        description="relative (excess) loss targets R* in (0, 1] for time-to-target outputs",
        json_schema_extra={"unit": "1"},
    )

    @field_validator("relative_targets")
    @classmethod
    def _targets_in_range(cls, targets: list[float]) -> list[float]:
        for target in targets:
            if not 0 < target <= 1:
                raise ValueError(f"every target must be in (0, 1], got {target}")
        return targets


class ChipSpec(Strict):
    """A chip model of the roadmap (dense BF16 peak; docs/calibration.md "Hardware and chips")."""

    name: str = Field(pattern=NAME_PATTERN, description="chip model name")
    year: float = param(2025.0, "year", "release year", ge=1990, le=2100)
    flops: float = param(1e15, "FLOP/s", "dense BF16 peak throughput", gt=0, le=1e20)
    watts: float = param(700.0, "W", "board power (TDP)", gt=0, le=1e5)
    price: float = param(30_000.0, "USD", "list price per GPU", gt=0, le=1e8)


def _calibrated_chips() -> list[ChipSpec]:
    from sim.config.chips import CALIBRATED_CHIPS

    return [
        ChipSpec(name=c.name, year=c.year, flops=c.flops, watts=c.watts, price=c.price)
        for c in CALIBRATED_CHIPS
    ]


class HardwareConfig(Strict):
    """Fleet-wide hardware facts and the roadmap extrapolation."""

    mfu: float = param(0.40, "1", "model FLOP utilization (Llama 3 405B: 38-43%)", gt=0, le=1)
    pue: float = param(1.2, "1", "power usage effectiveness (hyperscale 1.1-1.2)", ge=1, le=3)
    server_overhead: float = param(
        1.8, "1", "all-in server power per GPU as a multiple of TDP (DGX ~1.8)", ge=1, le=3
    )
    lifetime_years: float = param(
        5.0, "yr", "GPU lifetime in a fleet before retirement", gt=0, le=30
    )
    facility_capex_per_mw: float = param(
        11.7e6,
        "USD/MW",
        "data-centre construction cost per MW of critical load (Cushman & Wakefield 2025)",
        ge=0,
        le=1e9,
    )
    cadence_years: float = param(2.0, "yr", "years between extrapolated generations", gt=0, le=10)
    flops_per_watt_growth: float = param(
        0.40, "1/yr", "annual FLOP/W improvement of new generations", ge=0, le=3
    )
    flops_per_dollar_growth: float = param(
        0.30, "1/yr", "annual FLOP/$ improvement of new generations", ge=0, le=3
    )
    watts_growth: float = param(0.10, "1/yr", "annual growth of board power", ge=0, le=1)
    server_cost_multiple: float = param(
        1.5,
        "1",
        "price of a GPU installed in its server (CPUs, memory, networking) over the chip's list "
        "price (DGX H100 ~ 1.3-1.9x)",
        ge=1,
        le=5,
    )
    chips: list[ChipSpec] = Field(
        default_factory=_calibrated_chips,
        min_length=1,
        max_length=100,
        description="calibrated chip models; later generations are extrapolated",
    )


class ChipSupplierSpec(Strict):
    """A chip supplier: its products, production capacity and pricing."""

    name: str = Field(pattern=NAME_PATTERN, description="supplier name")
    region: str = Field(pattern=NAME_PATTERN, description="region the supplier exports from")
    capacity_per_year: float = param(
        3.0e6, "GPU/yr", "production capacity (2023 shipments: 3.85M)", gt=0, le=1e9
    )
    capacity_growth: float = param(0.3, "1/yr", "annual capacity growth", ge=0, le=5)
    price_response: float = param(0.5, "1/yr", "price-index response to excess demand", ge=0, le=20)
    price_floor: float = param(0.5, "1", "lowest price index (multiple of list price)", gt=0, le=1)
    price_ceiling: float = param(5.0, "1", "highest price index", ge=1, le=100)
    allocation: Literal["pro_rata", "by_bid"] = Field(
        "pro_rata", description="rationing rule when orders exceed capacity"
    )
    chips: list[str] | None = Field(
        None, max_length=100, description="calibrated chip models sold (null: all of them)"
    )
    extrapolate: bool = Field(
        True, description="whether the supplier also sells the extrapolated future generations"
    )
    roadmap_lag_years: float = param(
        0.0,
        "yr",
        "years after their release that the supplier can sell the extrapolated generations",
        ge=0,
        le=30,
    )
    lead_time_years: float = param(
        0.25, "yr", "production lead time of a GPU once started (H100 mid-2024: 8-12 weeks)",
        ge=0, le=5,
    )
    packaging_wafers_per_month: float | None = param(
        None, "wafer/month", "advanced-packaging capacity at t = 0 (null: never binding)",
        gt=0, le=1e7,
    )
    gpus_per_wafer: float = param(
        20.0, "GPU/wafer", "GPUs packaged per interposer wafer", gt=0, le=1e4
    )
    packaging_capex_per_wafer_month: float = param(
        1.5e5, "USD/(wafer/month)", "investment that adds one wafer a month of packaging",
        gt=0, le=1e9,
    )
    packaging_reinvestment: float = param(
        0.02, "1", "share of chip revenue invested in packaging capacity", ge=0, le=1
    )
    normal_backlog_years: float = param(
        0.25, "yr", "order queue, in years of production, at which the price index holds",
        gt=0, le=10,
    )


class EnergySupplierSpec(Strict):
    """A regional power supplier (docs/calibration.md "Energy")."""

    name: str = Field(pattern=NAME_PATTERN, description="supplier name")
    region: str = Field(pattern=NAME_PATTERN, description="region served")
    capacity_mw: float = param(2000.0, "MW", "capacity available to AI data centers", gt=0, le=1e7)
    base_price: float = param(81.0, "USD/MWh", "price below the scarcity knee", gt=0, le=1e5)
    build_rate_mw_per_year: float = param(
        500.0, "MW/yr", "new capacity ordered per year when prices are at cost", ge=0, le=1e7
    )
    lead_time_years: float = param(5.0, "yr", "interconnection lead time", ge=0, le=30)
    build_price_response: float = param(
        1.0,
        "1",
        "elasticity of capacity orders to the expected price's margin over base_price",
        ge=0,
        le=20,
    )
    build_max_multiple: float = param(
        3.0, "1", "most capacity orders per year as a multiple of the build rate", ge=0, le=100
    )
    carbon_intensity: float = param(0.4, "tCO2/MWh", "emissions per MWh delivered", ge=0, le=2)
    scarcity_knee: float = param(0.8, "1", "utilization where scarcity pricing starts", gt=0, lt=1)
    scarcity_slope: float = param(
        4.0, "1", "price multiple added at full utilization", ge=0, le=100
    )


class FleetItem(Strict):
    """Initial GPUs of one chip model held by a lab."""

    chip: str = Field(pattern=NAME_PATTERN, description="chip model name")
    units: float = param(10_000.0, "GPU", "number of GPUs", ge=0, le=1e9)
    age_years: float = param(0.0, "yr", "age at the start", ge=0, le=30)


class TrainingConfig(Strict):
    """How a lab times and runs its frontier training runs (docs/model.md 3.22)."""

    usable_share: float = param(
        0.0,
        "1",
        "share of the efficiency gains made while a run is in progress that it can use "
        "(0: hardware and algorithms fixed at its start; 1: the paper's continuous case)",
        ge=0,
        le=1,
    )
    run_years: float | None = param(
        None,
        "yr",
        "length of every run (null: the optimum for the efficiency growth the lab expects)",
        gt=0,
        le=200,
    )
    expected_hardware_gamma: float = param(
        0.47,
        "doublings/yr",
        "growth of FLOP/s per dollar the lab expects, on top of its software gamma "
        "(GPU price-performance 1.39x/yr, Epoch AI)",
        ge=0,
        le=10,
    )
    deadline_years: float | None = param(
        None,
        "yr",
        "release deadline, years after the start: the lab waits and starts its final run "
        "when waiting no longer adds compute by then (null: runs back to back)",
        gt=0,
        le=200,
    )
    warm_start: bool = Field(
        False,
        description="the first run continues training the starting model (its compute "
        "carries over), as in the paper's continuous case",
    )
    deploy_checkpoints: bool = Field(
        False,
        description="the lab serves its run's latest checkpoint every step (the paper's "
        "case) instead of only finished runs",
    )


class LabSpec(Strict):
    """An AI lab agent's initial state and behaviour."""

    name: str = Field(pattern=NAME_PATTERN, description="lab name")
    region: str = Field(pattern=NAME_PATTERN, description="region the lab operates in")
    strategy: Literal["hare", "turtle", "baseline", "adaptive", "static"] = Field(
        "baseline", description="budget-split strategy (sim.economy.strategies)"
    )
    cash: float = param(5e9, "USD", "cash at the start", ge=0, le=1e14)
    funding_per_year: float = param(5e9, "USD/yr", "outside funding inflow", ge=0, le=1e14)
    funding_growth: float = param(0.3, "1/yr", "annual growth of outside funding", ge=-0.9, le=5)
    spend_rate: float = param(
        0.5, "1/yr", "share of cash reserve spendable per year on top of inflows", ge=0, le=12
    )
    cash_buffer_years: float | None = param(
        1.0,
        "yr",
        "cash the lab keeps, in years of its trailing spending: it raises funding only up to "
        "it and returns what is above it to investors (null: keeps everything)",
        gt=0,
        le=100,
    )
    investor_elasticity: float = param(
        0.5,
        "1",
        "elasticity of the funding offered to the lab's market share over its share at the "
        "start (investors back leaders; 0: the scheduled funding)",
        ge=0,
        le=5,
    )
    idle_tolerance: float = param(
        0.05,
        "1",
        "idle share of the fleet (for lack of power) above which the lab buys no GPUs",
        ge=0,
        le=1,
    )
    fleet: list[FleetItem] = Field(
        default_factory=list, max_length=50, description="GPUs held at the start"
    )
    initial_compute: float | None = param(
        None,
        "FLOP",
        "logical compute of the model the lab serves at the start (null: one year of its "
        "starting fleet's training FLOP/s)",
        gt=0,
        le=1e40,
    )
    software_gamma: float | None = param(
        None,
        "doublings/yr",
        "exogenous software-efficiency rate (null: bought by R&D)",
        ge=0,
        le=10,
    )
    buys_projects: bool = Field(
        True, description="whether the lab buys one-off efficiency projects"
    )
    training: TrainingConfig = Field(
        default_factory=TrainingConfig, description="how the lab runs its training runs"
    )


class RnDConfig(Strict):
    """R&D production of software efficiency from a knowledge stock (docs/model.md 3.8-3.9).

    Semi-endogenous (Jones 1995): ``gamma = productivity x (R / R_ref)^returns x
    2^(-ideas_harder x k)`` with ``R`` a Cobb-Douglas index of R&D dollars and
    research FLOP/s and ``k`` the lab's knowledge stock in doublings since ``origin_year``.
    """

    productivity: float = param(
        7.07, "doublings/yr",
        "software gamma at the reference inputs and the origin year's knowledge stock",
        ge=0, le=10,
    )  # fmt: skip
    reference_spend: float = param(
        1.5e9, "USD/yr", "R&D spend rate of the reference inputs (a normalisation)", gt=0, le=1e13
    )
    reference_research_flops: float = param(
        1.0e18, "FLOP/s", "research-experiment compute (peak) of the reference inputs",
        gt=0, le=1e25,
    )  # fmt: skip
    dollar_share: float = param(
        0.5, "1", "Cobb-Douglas weight of R&D dollars (1 - it: research compute)", ge=0, le=1
    )
    returns: float = param(
        0.6, "1", "elasticity of gamma to the R&D input (< 1: stepping on toes)", gt=0, le=2
    )
    ideas_harder: float = param(
        0.55, "1", "exponent beta on the knowledge stock S (ideas getting harder to find)",
        ge=0, le=5,
    )  # fmt: skip
    origin_year: float = param(
        2020.0, "year", "calendar year at which the knowledge stock is 0 doublings",
        ge=1950, le=2200,
    )  # fmt: skip
    historical_gamma: float = param(
        1.6, "doublings/yr",
        "software progress before the start: the stock at t = 0 is this x (start - origin)",
        ge=0, le=10,
    )  # fmt: skip
    spillover_lag_years: float = param(
        1.0, "yr", "age of the frontier whose knowledge spills over to laggards", ge=0, le=20
    )
    base_gamma: float = param(0.0, "doublings/yr", "gamma with no R&D (free diffusion)", ge=0, le=5)
    noise: float = param(
        0.0, "1", "sd of the lognormal multiplicative shock on R&D output per step", ge=0, le=2
    )


class ProjectSpec(Strict):
    """A one-off efficiency project (docs/calibration.md "R&D and efficiency projects")."""

    name: str = Field(pattern=NAME_PATTERN, description="project name")
    waste_share: float = param(0.2, "1", "share of total waste this project addresses", gt=0, le=1)
    cost_per_gpu: float = param(500.0, "USD/GPU", "one-off cost per GPU of the fleet", ge=0, le=1e6)


def _default_projects() -> list[ProjectSpec]:
    shares = {
        "data_dedupe": (0.30, 800.0),
        "kernels": (0.25, 600.0),
        "communication": (0.20, 500.0),
        "checkpoint_io": (0.15, 300.0),
        "hyper_configuration": (0.10, 200.0),
    }
    return [ProjectSpec(name=n, waste_share=s, cost_per_gpu=c) for n, (s, c) in shares.items()]


class ProjectsConfig(Strict):
    """The catalogue of one-off efficiency projects."""

    waste_fraction: float = param(
        0.3, "1", "share of paid compute wasted before any project", ge=0, lt=1
    )
    recoverable: float = param(0.5, "1", "share of a project's waste it recovers", ge=0, le=1)
    catalogue: list[ProjectSpec] = Field(default_factory=_default_projects, max_length=50)


class MarketConfig(Strict):
    """The AI-services market that pays the labs."""

    initial_size: float = param(
        6e10, "USD/yr", "AI-services revenue in the start year", ge=0, le=1e15
    )
    growth: float = param(0.5, "1/yr", "annual market growth", ge=-0.9, le=5)
    temperature: float = param(
        0.05, "nats", "logit share temperature in -L/T (smaller: winner takes more)", gt=0, le=10
    )
    training_share: float = param(
        0.3, "1", "share of revenue left for the training budget after serving costs", ge=0, le=1
    )


class OwnGenerationConfig(Strict):
    """Power plants a lab may build or contract for itself, behind the meter (model.md 3.21)."""

    max_share: float = param(
        0.0,
        "1",
        "share of a lab's facility MW its own generation may cover (0: labs buy all power)",
        ge=0,
        le=1,
    )
    capex_per_mw: float = param(
        1.5e6, "USD/MW", "cost of building one MW of own generation", ge=0, le=1e9
    )
    running_cost: float = param(
        45.0, "USD/MWh", "fuel and operation of own generation, paid per MWh used", ge=0, le=1e5
    )
    carbon_intensity: float = param(
        0.4, "tCO2/MWh", "emissions per MWh of own generation", ge=0, le=2
    )
    lead_time_years: float = param(2.0, "yr", "build time of own generation", ge=0, le=30)
    payback_years: float = param(
        10.0, "yr", "years of full output over which a lab recovers the capex", gt=0, le=100
    )


class ExportControls(Strict):
    """Chip export controls (ECCN 3A090: TPP >= 4800)."""

    restricted_regions: list[str] = Field(
        default_factory=list, max_length=50, description="importing regions under control"
    )
    exporter_regions: list[str] | None = Field(
        None, max_length=50, description="controlling exporters (null: every chip supplier)"
    )
    max_tpp: float = param(
        4800.0,
        "TPP",
        "performance threshold; above it chips are derated (0 bans sales)",
        ge=0,
        le=1e7,
    )


class SupplyShock(Strict):
    """A chip-capacity outage."""

    supplier: str | None = Field(None, description="chip supplier hit (null: no shock)")
    start_year: float = param(2027.0, "year", "calendar year the outage starts", ge=1990, le=2200)
    duration_years: float = param(1.0, "yr", "outage length", ge=0, le=100)
    fraction_lost: float = param(0.5, "1", "share of capacity lost", ge=0, le=1)


class ComputeThreshold(Strict):
    """Training-compute threshold triggering compliance (EO 14110: 1e26; EU AI Act: 1e25)."""

    flop: float | None = param(None, "FLOP", "threshold (null: off)", gt=0, le=1e40)
    compliance_cost: float = param(0.0, "USD", "one-off cost when a lab crosses it", ge=0, le=1e13)
    cap: bool = Field(False, description="if true, labs cannot train beyond the threshold")


class PolicyConfig(Strict):
    """The policy levers (docs/model.md section 4); every default switches the lever off."""

    carbon_tax: float = param(0.0, "USD/tCO2", "tax on energy emissions", ge=0, le=1e4)
    power_caps: dict[str, float] = Field(
        default_factory=dict,
        max_length=50,
        description="regional cap on MW delivered to labs (region: MW)",
        json_schema_extra={"unit": "MW"},
    )
    grid_buildout_multiplier: float = param(
        1.0, "1", "multiplier on every energy supplier's build rate", ge=0, le=20
    )
    export_controls: ExportControls = Field(default_factory=ExportControls)
    tariffs: dict[str, float] = Field(
        default_factory=dict,
        max_length=50,
        description="ad-valorem tariff on imported chips (region: rate)",
        json_schema_extra={"unit": "1"},
    )
    supply_shock: SupplyShock = Field(default_factory=SupplyShock)
    rd_subsidy_rate: float = param(0.0, "1", "government match per R&D dollar spent", ge=0, le=5)
    spillover_strength: float = param(
        0.3,
        "1/yr",
        "share of the gap to the lagged frontier's log2 software efficiency closed per year",
        ge=0,
        le=5,
    )
    compute_threshold: ComputeThreshold = Field(default_factory=ComputeThreshold)
    capital_availability: float = param(1.0, "1", "multiplier on outside funding", ge=0, le=20)

    @field_validator("power_caps")
    @classmethod
    def _caps_non_negative(cls, caps: dict[str, float]) -> dict[str, float]:
        return _check_mapping(caps, 0.0, 1e7)

    @field_validator("tariffs")
    @classmethod
    def _tariffs_in_range(cls, tariffs: dict[str, float]) -> dict[str, float]:
        return _check_mapping(tariffs, 0.0, 10.0)


def _check_mapping(values: dict[str, float], low: float, high: float) -> dict[str, float]:
    for key, value in values.items():
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"{key}: must be in [{low:g}, {high:g}], got {value}")
    return values


class Scenario(Strict):
    """One run of the economy: who is in it, how it is calibrated, which levers are on."""

    name: str = Field(
        pattern=NAME_PATTERN, description="scenario name (used for the output folder)"
    )
    description: str = Field("", max_length=2000, description="what the scenario is for")
    seed: int = param(0, "1", "random seed", ge=0, le=2**63 - 1)
    start_year: float = param(2025.0, "year", "calendar year of t = 0", ge=1990, le=2200)
    years: float = param(10.0, "yr", "simulated horizon", gt=0, le=200)
    steps_per_year: int = param(12, "1/yr", "steps per year (dt = 1/steps_per_year)", ge=1, le=365)
    law: LawConfig = Field(default_factory=LawConfig)
    hardware: HardwareConfig = Field(default_factory=HardwareConfig)
    chip_suppliers: list[ChipSupplierSpec] = Field(min_length=1, max_length=50)
    energy_suppliers: list[EnergySupplierSpec] = Field(min_length=1, max_length=200)
    labs: list[LabSpec] = Field(min_length=1, max_length=1024)
    rnd: RnDConfig = Field(default_factory=RnDConfig)
    projects: ProjectsConfig = Field(default_factory=ProjectsConfig)
    market: MarketConfig = Field(default_factory=MarketConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    own_generation: OwnGenerationConfig = Field(default_factory=OwnGenerationConfig)
    policy_schedule: dict[str, dict[float, Any]] = Field(
        default_factory=dict,
        exclude=True,
        description="levers that change later: policy path -> {year: value from then on}; "
        "written in place in the YAML (sim.config.schedule)",
    )

    @model_validator(mode="before")
    @classmethod
    def _split_schedules(cls, data: Any) -> Any:
        """Keep the policy in force at the start as ``policy``, its schedules beside it."""
        if not isinstance(data, dict) or not isinstance(data.get("policy"), dict):
            return data
        start = data.get("start_year", 2025.0)
        if not isinstance(start, int | float) or isinstance(start, bool):
            return data  # the field's own validation reports it
        policy, found = schedule.split(data["policy"], float(start))
        if not found:
            return data
        given = data.get("policy_schedule") or {}
        return {**data, "policy": policy, "policy_schedule": {**given, **found}}

    @model_serializer(mode="wrap")
    def _embed_schedules(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Dumps write each schedule in place of its lever, as a YAML file would."""
        data = handler(self)
        if self.policy_schedule and isinstance(data.get("policy"), dict):
            data["policy"] = schedule.embed(data["policy"], self.policy_schedule)
        return data

    def change_years(self) -> list[float]:
        """Calendar years inside the horizon at which some policy lever changes."""
        end = self.start_year + self.years
        return schedule.change_years(self.policy_schedule, self.start_year, end)

    def policy_at(self, year: float) -> PolicyConfig:
        """The policy in force at calendar ``year`` (its schedules' values then)."""
        if not self.policy_schedule:
            return self.policy
        defaults = schedule.without(self.policy.model_dump(), self.policy_schedule)
        return PolicyConfig.model_validate(schedule.apply(defaults, self.policy_schedule, year))

    @property
    def dt(self) -> float:
        """Step length in years."""
        return 1.0 / self.steps_per_year

    @property
    def n_steps(self) -> int:
        """Number of steps in the horizon."""
        return round(self.years * self.steps_per_year)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        problems = [
            *self._horizon_problems(),
            *_duplicates("labs", [lab.name for lab in self.labs]),
            *_duplicates("chip_suppliers", [s.name for s in self.chip_suppliers]),
            *_duplicates("energy_suppliers", [s.name for s in self.energy_suppliers]),
            *_duplicates("hardware.chips", [c.name for c in self.hardware.chips]),
            *self._account_name_problems(),
            *self._lab_problems(),
            *self._supplier_problems(),
            *self._policy_name_problems(self.policy),
            *self._schedule_problems(),
        ]
        if problems:
            raise CrossReferenceProblems(problems)
        return self

    def _horizon_problems(self) -> list[str]:
        """A horizon of at most half a step rounds to zero steps (n_steps): nothing would run."""
        if self.n_steps >= 1:
            return []
        return [
            f"years: {self.years:g} years at {self.steps_per_year} steps per year is "
            f"{self.years * self.steps_per_year:.3g} steps, which rounds to 0; a run needs "
            f"at least one step (years >= {1 / self.steps_per_year:.4g} is one step at this "
            "steps_per_year)"
        ]

    def _account_name_problems(self) -> list[str]:
        """Names that collide as ledger accounts: across labs and suppliers, or reserved.

        Labs, chip suppliers and energy suppliers share one namespace of ledger
        accounts with the reserved outside-world accounts (:data:`RESERVED_ACCOUNTS`).
        """

        groups = {"labs": self.labs, "chip_suppliers": self.chip_suppliers,
                  "energy_suppliers": self.energy_suppliers}  # fmt: skip
        first: dict[str, str] = {}
        problems = []
        for group, members in groups.items():
            for i, member in enumerate(members):
                path, owner = f"{group}.{i}.name", first.get(member.name, "")
                if member.name in RESERVED_ACCOUNTS:
                    problems.append(
                        f"{path}: {member.name!r} is a reserved ledger account "
                        f"(reserved: {', '.join(RESERVED_ACCOUNTS)})"
                    )
                elif owner and not owner.startswith(f"{group}."):
                    problems.append(
                        f"{path}: {member.name!r} is already the name of {owner}; labs, "
                        "chip suppliers and energy suppliers need distinct names"
                    )
                first.setdefault(member.name, path)
        return problems

    def _lab_problems(self) -> list[str]:
        chip_names = {c.name for c in self.hardware.chips}
        energy_regions = {s.region for s in self.energy_suppliers}
        problems = []
        for i, lab in enumerate(self.labs):
            for j, item in enumerate(lab.fleet):
                path = f"labs.{i}.fleet.{j}.chip"
                problems += _unknown_names([(path, item.chip)], "chip", chip_names, "chips")
            if lab.region not in energy_regions:
                problems.append(
                    f"labs.{i}.region: no energy supplier serves region {lab.region!r} "
                    f"(regions with power: {', '.join(sorted(energy_regions))})"
                )
            if lab.initial_compute is None and sum(item.units for item in lab.fleet) <= 0:
                problems.append(
                    f"labs.{i}: needs fleet units > 0 or an initial_compute > 0 to have a loss"
                )
        return problems

    def _supplier_problems(self) -> list[str]:
        chip_names = {c.name for c in self.hardware.chips}
        suppliers = {s.name for s in self.chip_suppliers}
        problems = []
        for i, supplier in enumerate(self.chip_suppliers):
            chips = supplier.chips or []
            sold = [(f"chip_suppliers.{i}.chips.{k}", name) for k, name in enumerate(chips)]
            problems += _unknown_names(sold, "chip", chip_names, "chips")
            if supplier.chips == [] and not supplier.extrapolate:
                problems.append(
                    f"chip_suppliers.{i}.chips: sells no chip (empty list and extrapolate false)"
                )
        shock = self.policy.supply_shock.supplier
        hit = [] if shock is None else [("policy.supply_shock.supplier", shock)]
        problems += _unknown_names(hit, "chip supplier", suppliers, "chip suppliers")
        return problems

    def _schedule_problems(self) -> list[str]:
        """Every scheduled value checked as the policy of its date, the date in each line.

        A problem is reported once, at the first date it appears (a wrong region
        name of the start's policy is reported by the start's check, undated).
        """
        problems = []
        for path, dates in self.policy_schedule.items():
            problems += [f"policy.{path}: {year!r} is not a finite calendar year"
                         for year in dates if not math.isfinite(year)]  # fmt: skip
        seen = set(self._policy_name_problems(self.policy))
        for year in sorted({d for dates in self.policy_schedule.values() for d in dates}):
            if not math.isfinite(year):
                continue
            try:
                policy = self.policy_at(year)
            except ValidationError as error:
                lines = [f"policy.{line}" for line in describe_errors(error)]
            else:
                lines = self._policy_name_problems(policy)
            problems += [f"{line} (from {year:g})" for line in lines if line not in seen]
            seen.update(lines)
        return problems

    def _policy_name_problems(self, policy: PolicyConfig) -> list[str]:
        """Regions named by policy levers that are not where the lever acts.

        A lever keyed by a region nobody is in (a typo, ``US`` for ``us``) would
        silently do nothing, so each must name a region where it has an effect:
        power caps act on energy suppliers, tariffs and export controls on the
        labs importing chips, exporter regions on chip suppliers. Names are
        case-sensitive, as everywhere in a scenario.
        """
        regions = {
            "energy suppliers": {s.region for s in self.energy_suppliers},
            "labs": {lab.region for lab in self.labs},
            "chip suppliers": {s.region for s in self.chip_suppliers},
        }
        every = set().union(*regions.values())
        controls = policy.export_controls
        restricted = "policy.export_controls.restricted_regions"
        exporters = "policy.export_controls.exporter_regions"
        checks = {
            "energy suppliers": [(f"policy.power_caps.{r}", r) for r in policy.power_caps],
            "labs": [(f"policy.tariffs.{r}", r) for r in policy.tariffs]
            + [(f"{restricted}.{i}", r) for i, r in enumerate(controls.restricted_regions)],
            "chip suppliers": [
                (f"{exporters}.{i}", r) for i, r in enumerate(controls.exporter_regions or [])
            ],
        }
        problems = []
        for group, items in checks.items():
            problems += _unknown_names(items, "region", regions[group],
                                       f"regions with {group}", every)  # fmt: skip
        return problems


def _unknown_names(
    items: list[tuple[str, str]],
    kind: str,
    known: set[str],
    label: str,
    elsewhere: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """One problem per referred name that is not in ``known``, listing the known names.

    Args:
        items: (field path, name referred to) pairs.
        kind: what a name is (``region``, ``chip``, ``chip supplier``).
        known: the names the fields may refer to.
        label: what ``known`` is, for the message (``regions with labs``).
        elsewhere: names that exist in the scenario but not in ``known`` (a region
            with chip suppliers but no labs): reported as having no effect there.

    Returns:
        Lines like ``policy.power_caps.US: unknown region 'US'; regions with energy
        suppliers are: cn, us (names are case-sensitive: did you mean 'us'?)``.
    """
    problems = []
    for path, name in items:
        if name in known:
            continue
        what = (f"{kind} {name!r} is not one of the {label}, so it would have no effect"
                if name in elsewhere else f"unknown {kind} {name!r}")  # fmt: skip
        problems.append(f"{path}: {what}; {label} are: {', '.join(sorted(known))}"
                        f"{_case_note(name, known)}")  # fmt: skip
    return problems


def _case_note(name: str, known: set[str]) -> str:
    """`` (names are case-sensitive: did you mean 'us'?)``; the hint only if the case differs."""
    matches = sorted(k for k in known if k.casefold() == name.casefold())
    hint = f": did you mean {matches[0]!r}?" if matches else ""
    return f" (names are case-sensitive{hint})"


class CrossReferenceProblems(ValueError):
    """Every inconsistency between parts of a scenario, each line starting with its path."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _duplicates(field: str, names: list[str]) -> list[str]:
    seen: set[str] = set()
    problems = []
    for name in names:
        if name in seen:
            problems.append(f"{field}: duplicate name {name!r}")
        seen.add(name)
    return problems


class ConfigError(ValueError):
    """An invalid config; ``problems`` holds one line per error, each with its field path.

    Args:
        source: the file (or option) at fault, first in the message.
        problems: one line per error.
        kind: what ``source`` is, for the heading: ``scenario``, ``experiment``, ...
    """

    def __init__(self, source: str, problems: list[str], kind: str = "scenario"):
        self.problems = problems
        heading = f"{source}: invalid {kind}\n"
        super().__init__(heading + "\n".join(f"  {p}" for p in problems))


class WrongKindOfFile(ConfigError):
    """A scenario given where an experiment is expected, or the other way round.

    Its message is one line naming the file, what it is and the command for it.
    """

    def __init__(self, source: str, found: str, wanted: str, command: str):
        self.problems = [f"{source} is {_article(found)}, not {_article(wanted)}: use {command}"]
        ValueError.__init__(self, self.problems[0])


def _article(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


EXPERIMENT_KEYS = frozenset({"base", "levers", "design", "points", "replications", "master_seed"})
"""Top-level keys only an experiment has: a file with one of them is not a scenario."""

SCENARIO_KEYS = frozenset({"labs", "chip_suppliers", "energy_suppliers", "extends"})
"""Top-level keys only a scenario has: a file with one and no ``base`` is not an experiment."""


def refuse_an_experiment(data: Any, source: str, instead: str = "race sweep") -> None:
    """Refuse an experiment file where a scenario is expected (``race run``, ``compare``).

    Raises:
        WrongKindOfFile: naming the file and what to use instead (``race sweep``).
    """
    if isinstance(data, dict) and EXPERIMENT_KEYS & data.keys():
        raise WrongKindOfFile(source, "experiment", "scenario", instead)


def describe_errors(error: ValidationError) -> list[str]:
    """One line per pydantic error: the field path, what is wrong, the allowed range."""
    lines = []
    for item in error.errors(include_url=False):
        ctx = item.get("ctx") or {}
        if isinstance(ctx.get("error"), CrossReferenceProblems):
            lines.extend(ctx["error"].problems)
            continue
        path = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        bounds = _bounds_text(ctx)
        got = item.get("input")
        got_text = "" if isinstance(got, dict | list) else f", got {got!r}"
        lines.append(f"{path}: {message}{bounds}{got_text}")
    return lines


def _bounds_text(ctx: dict[str, Any]) -> str:
    parts = [f"{op} {ctx[key]}" for key, op in _BOUND_OPS.items() if key in ctx]
    return f" (allowed: {' and '.join(parts)})" if parts else ""


_BOUND_OPS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Validate a mapping into a :class:`Scenario`.

    Raises:
        ConfigError: listing every problem with its field path.
    """
    if not isinstance(data, dict):
        raise ConfigError(source, [f"(top level): expected a mapping, got {type(data).__name__}"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ConfigError(source, describe_errors(error)) from None


def read_yaml(path: str | Path) -> Any:
    """Safe-load a YAML file (no object construction), every failure a :class:`ConfigError`.

    Unreadable files, devices, FIFOs and folders, files over
    :data:`MAX_CONFIG_BYTES`, bad encodings, invalid YAML, pathological nesting
    and integers too long to parse all end as one message naming the file.
    """
    path = Path(path)
    try:
        text = _read_config_bytes(path).decode("utf-8")
    except OSError as error:
        raise ConfigError(str(path), [f"cannot read file: {error.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), ["not a UTF-8 text file"]) from None
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: no object construction
    except yaml.YAMLError as error:
        raise ConfigError(str(path), [describe_yaml_error(error)]) from None
    except RecursionError:
        raise ConfigError(str(path), ["YAML nested too deeply"]) from None
    except ValueError as error:
        raise ConfigError(str(path), [f"unreadable value: {str(error).splitlines()[0]}"]) from None


class UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping.

    PyYAML keeps the last of two equal keys, so a second ``policy:`` block
    would silently replace the first. Keys merged in with ``<<`` may still be
    overridden, as YAML intends.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping after checking that its own keys are distinct."""
        _refuse_duplicate_keys(self, node)
        return super().construct_mapping(node, deep=deep)


def _refuse_duplicate_keys(loader: yaml.SafeLoader, node: yaml.MappingNode) -> None:
    """Raise a located YAML error at the second occurrence of a key of ``node``.

    Raises:
        yaml.constructor.ConstructorError: naming the key and both lines.
    """
    first: dict[Any, yaml.Mark] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            earlier = first.setdefault(key, key_node.start_mark)
        except TypeError:  # an unhashable key: construct_mapping reports it
            continue
        if earlier is not key_node.start_mark:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first given at line {earlier.line + 1})",
                key_node.start_mark,
            )  # fmt: skip


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """One line for a YAML error: line and column (1-based), what is wrong, its context.

    E.g. ``line 3, column 8: not valid YAML: mapping values are not allowed here``.
    """
    if not isinstance(error, yaml.MarkedYAMLError):
        return f"not valid YAML: {str(error).splitlines()[0]}"
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = error.problem or error.context or "invalid YAML"
    text = f"{where}not valid YAML: {what}"
    if error.context and error.problem and error.context_mark:
        text += f" ({error.context} at line {error.context_mark.line + 1})"
    return text


MAX_CONFIG_BYTES = 10 * 1024 * 1024
"""Largest config file read (10 MB): the shipped configs are a few kB."""


def _read_config_bytes(path: Path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_CONFIG_BYTES`.

    Raises:
        ConfigError: for a device, FIFO, socket or folder (checked before opening,
            so a FIFO cannot block), or a file over the limit.
        OSError: if the file cannot be read.
    """
    if not stat.S_ISREG(path.stat().st_mode):
        raise ConfigError(str(path), ["not a regular file (a folder, device or pipe?)"])
    with path.open("rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # replaced since the check
            raise ConfigError(str(path), ["not a regular file (a folder, device or pipe?)"])
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        limit = MAX_CONFIG_BYTES // (1024 * 1024)
        raise ConfigError(str(path), [f"file too large: a config file may be at most {limit} MB"])
    return data


EXTENDS = "extends"
"""The top-level key of a scenario file naming the scenario file it extends."""


def read_scenario_file(path: str | Path) -> Any:
    """Read a scenario YAML file, with the file it ``extends`` (if any) merged under it.

    ``extends: baseline.yaml`` (a path relative to the extending file) names a
    scenario that the file's own keys override, deep-merged by
    :func:`resolve_extends`. A file that extends another must set its own
    ``name``, else its results would replace those of the file it extends.

    Raises:
        ConfigError: unreadable or invalid YAML in any file of the chain, a cycle,
            an ``extends`` that is not a path, a missing ``name``.
    """
    path = Path(path)
    data = read_yaml(path)
    if isinstance(data, dict) and EXTENDS in data and "name" not in data:
        raise ConfigError(str(path), [
            f"name: a scenario that extends another needs its own name (else it would write "
            f"into the results folder of {data[EXTENDS]!r})"])  # fmt: skip
    return resolve_extends(data, path)


def resolve_extends(data: Any, source: str | Path, chain: tuple[Path, ...] = ()) -> Any:
    """``data`` (read from ``source``) merged over the scenario it ``extends``, recursively.

    Mappings merge key by key, ``data``'s value winning; a list, a scalar or
    ``null`` replaces the extended value whole (``labs: [...]`` replaces every
    lab). The extended file may itself extend another; a cycle is refused.

    Args:
        data: a mapping read from a file (or an experiment's inline base).
        source: the file ``data`` comes from; relative ``extends`` paths start in
            its folder (for an inline base, the experiment file).
        chain: the files extended so far, outermost first (cycle detection).

    Raises:
        ConfigError: naming the file at fault.
    """
    if not isinstance(data, dict) or EXTENDS not in data:
        return data
    data = dict(data)
    source = Path(source)
    target = data.pop(EXTENDS)
    if not isinstance(target, str) or not target.strip():
        raise ConfigError(str(source), [f"extends: expected a scenario file path, got {target!r}"])
    here = (*chain, source.resolve())
    parent_path = (source.parent / target).resolve()
    if parent_path in here:
        cycle = " -> ".join(p.name for p in (*here, parent_path))
        raise ConfigError(str(source), [f"extends: a cycle of files: {cycle}"])
    parent = read_yaml(parent_path)
    refuse_an_experiment(parent, str(parent_path), f"a scenario in extends of {source}")
    if not isinstance(parent, dict):
        raise ConfigError(str(parent_path), ["(top level): expected a mapping"])
    return deep_merge(resolve_extends(parent, parent_path, here), data)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A new mapping: ``base`` with ``override``'s keys, mappings merged recursively.

    Anything but a mapping on both sides (lists included) is replaced whole.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Load and validate a scenario YAML file (safe loader: no object construction).

    Args:
        path: the YAML file.
        overrides: ``path.to.field=value`` assignments applied before validation.

    Raises:
        ConfigError: unreadable file, bad YAML or invalid scenario.
    """
    data = read_scenario_file(path)
    refuse_an_experiment(data, str(path))
    if isinstance(data, dict) and overrides:
        from sim.config.overrides import apply_overrides

        apply_overrides(data, overrides, str(path))
    return parse_scenario(data, str(path))


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Scenario`, units included."""
    return Scenario.model_json_schema()
