"""The ``race dashboard`` app: Mesa's SolaraViz over the race economy.

The levers are sliders generated from the declared parameters of
:class:`sim.config.Scenario` (bounds, unit and description come from the
schema; the starting value is CONFIG's, which is the schema default wherever
CONFIG leaves a lever unset). SolaraViz provides play, step and reset; a lever
takes effect at the next Reset, which builds a fresh :class:`DashboardModel`
from CONFIG with the slider values applied.

CONFIG is read from the environment variable ``RACE_DASHBOARD_CONFIG`` (set by
``race dashboard``); run by hand with::

    RACE_DASHBOARD_CONFIG=experiments/baseline.yaml solara run sim.app
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import annotated_types
import networkx as nx
import solara
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from mesa.visualization import SolaraViz
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.config import Scenario, parse_scenario, read_yaml
from sim.experiment import set_path
from sim.model import RaceModel
from sim.plots import (
    NODE_KINDS,
    NODE_TITLES,
    column_label,
    line_handles,
    palette,
    styled,
    with_unit,
)

CONFIG_ENV = "RACE_DASHBOARD_CONFIG"
"""Environment variable naming the scenario YAML the dashboard runs."""

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "experiments" / "baseline.yaml"
"""CONFIG when the environment variable is unset (a source checkout's baseline)."""

POLICY_LEVERS = (
    "carbon_tax",
    "grid_buildout_multiplier",
    "rd_subsidy_rate",
    "spillover_strength",
    "capital_availability",
)
"""Scalar policy levers shown as sliders (fields of ``policy``)."""

POWER_CAP = "power_cap_mw"
"""Keyword of the power-cap lever (``policy.power_caps.<region>``)."""

SLIDER_POSITIONS = 500
"""About how many positions a slider has between its ends (sets the step)."""

UNBOUNDED_SPAN = 10.0
"""An open upper bound is clamped to ``lower + 10 x max(default - lower, 1)`` in the UI."""

_FIGURE_DPI = 80


# ----------------------------------------------------------------- config


def config_path() -> Path:
    """CONFIG: ``$RACE_DASHBOARD_CONFIG`` or the checkout's ``experiments/baseline.yaml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> tuple[dict[str, Any], Scenario]:
    data = read_yaml(path)
    return data, parse_scenario(data, path)


def load_config(path: str | Path) -> tuple[dict[str, Any], Scenario]:
    """The scenario mapping and its validated Scenario (cached until the file changes).

    Raises:
        ConfigError: unreadable file, bad YAML or invalid scenario.
    """
    path = Path(path).resolve()
    mtime = path.stat().st_mtime if path.exists() else 0.0
    data, scenario = _load(str(path), mtime)
    return copy.deepcopy(data), scenario


# ----------------------------------------------------------------- levers


@dataclass(frozen=True)
class Lever:
    """One slider: which scenario field it sets and its UI range.

    Attributes:
        name: keyword argument of :class:`DashboardModel`.
        path: dotted scenario path the value is written to.
        label: slider label (name and unit).
        unit: unit from the schema.
        description: description from the schema.
        value: starting value (CONFIG's, else the schema default).
        min, max: UI range (schema bounds, open bounds clamped).
        step: slider step.
        schema_bounds: the bounds as declared, e.g. ``[0, 1e+04]``.
        top_means_unset: the slider's maximum means "lever not set" (power cap: no cap).
    """

    name: str
    path: str
    label: str
    unit: str
    description: str
    value: float
    min: float
    max: float
    step: float
    schema_bounds: str
    top_means_unset: bool = False


def field_at(path: str, model: type[BaseModel] = Scenario) -> FieldInfo:
    """The pydantic field declared at a dotted path of nested models (``policy.carbon_tax``)."""
    head, _, rest = path.partition(".")
    field = model.model_fields[head]
    if not rest:
        return field
    return field_at(rest, field.annotation)


def schema_bounds(field: FieldInfo) -> tuple[float, float]:
    """Declared ``(lower, upper)`` bounds of a numeric field; ``-inf``/``inf`` when open."""
    lower, upper = -math.inf, math.inf
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge | annotated_types.Gt):
            lower = float(getattr(item, "ge", getattr(item, "gt", lower)))
        if isinstance(item, annotated_types.Le | annotated_types.Lt):
            upper = float(getattr(item, "le", getattr(item, "lt", upper)))
    return lower, upper


def ui_range(lower: float, upper: float, default: float) -> tuple[float, float]:
    """Slider ends from schema bounds: finite bounds kept, infinite ones clamped.

    An open lower bound becomes ``min(0, default)``; an open upper bound becomes
    ``lower + UNBOUNDED_SPAN * max(default - lower, 1)``.
    """
    low = lower if math.isfinite(lower) else min(0.0, default)
    high = upper if math.isfinite(upper) else low + UNBOUNDED_SPAN * max(default - low, 1.0)
    return low, high


def nice_step(span: float, positions: int = SLIDER_POSITIONS) -> float:
    """A round step (1, 2 or 5 x 10^k) giving about ``positions`` slider positions."""
    raw = span / positions
    exponent = math.floor(math.log10(raw))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        step = mantissa * 10.0**exponent
        if step >= raw:
            return step
    return 10.0 ** (exponent + 1)


def _bounds_text(lower: float, upper: float) -> str:
    return f"[{lower:g}, {upper:g}]"


def policy_lever(name: str, scenario: Scenario) -> Lever:
    """A slider for ``policy.<name>`` from its declaration and CONFIG's value."""
    path = f"policy.{name}"
    field = field_at(path)
    lower, upper = schema_bounds(field)
    value = float(getattr(scenario.policy, name))
    low, high = ui_range(lower, upper, float(field.default))
    unit = (field.json_schema_extra or {}).get("unit", "1")
    label = name.replace("_", " ") + ("" if unit == "1" else f" ({unit})")
    return Lever(
        name=name,
        path=path,
        label=label,
        unit=unit,
        description=field.description or "",
        value=value,
        min=low,
        max=high,
        step=nice_step(high - low),
        schema_bounds=_bounds_text(lower, upper),
    )


def cap_region(scenario: Scenario) -> str:
    """The region whose power cap the dashboard exposes: the first lab's region."""
    return scenario.labs[0].region


def region_capacity_mw(scenario: Scenario, region: str) -> float:
    """MW the region's suppliers could have by the horizon at the scenario's build rates."""
    return sum(
        s.capacity_mw + s.build_rate_mw_per_year * scenario.years
        for s in scenario.energy_suppliers
        if s.region == region
    )


def power_cap_lever(scenario: Scenario) -> Lever:
    """The power cap of :func:`cap_region` in MW; the slider's top means no cap.

    The schema bounds a cap to ``[0, 1e7]`` MW, far beyond any grid, so the UI
    range is clamped to ``[0, the region's capacity at the horizon]`` rounded up:
    a cap at or above it could never bind, so the top position means "no cap".
    """
    field = field_at("policy.power_caps")
    region = cap_region(scenario)
    capacity = region_capacity_mw(scenario, region)
    step = nice_step(capacity)
    high = math.ceil(capacity / step) * step
    value = scenario.policy.power_caps.get(region, high)
    return Lever(
        name=POWER_CAP,
        path=f"policy.power_caps.{region}",
        label=f"power cap {region} (MW, top = no cap)",
        unit="MW",
        description=f"{field.description}; region {region}",
        value=float(min(value, high)),
        min=0.0,
        max=float(high),
        step=step,
        schema_bounds="[0, 1e+07]",
        top_means_unset=True,
    )


def levers(scenario: Scenario) -> list[Lever]:
    """Every lever the dashboard shows, generated from the schema and CONFIG."""
    return [*(policy_lever(name, scenario) for name in POLICY_LEVERS), power_cap_lever(scenario)]


def model_params(path: str | Path) -> dict[str, Any]:
    """SolaraViz ``model_params``: a SliderFloat per lever, the seed, and CONFIG (fixed)."""
    _, scenario = load_config(path)
    params: dict[str, Any] = {
        lever.name: {
            "type": "SliderFloat",
            "label": lever.label,
            "value": lever.value,
            "min": lever.min,
            "max": lever.max,
            "step": lever.step,
        }
        for lever in levers(scenario)
    }
    params["seed"] = {"type": "InputText", "label": "seed", "value": str(scenario.seed)}
    params["config"] = str(Path(path).resolve())
    return params


# ------------------------------------------------------------------ model


def build_scenario(path: str | Path, values: dict[str, float | None]) -> Scenario:
    """CONFIG with the lever values applied (``None`` keeps CONFIG's value).

    Raises:
        ConfigError: when the result is not a valid scenario.
    """
    data, scenario = load_config(path)
    for lever in levers(scenario):
        value = values.get(lever.name)
        if value is None:
            continue
        if lever.top_means_unset and value >= lever.max:
            data.get("policy", {}).get("power_caps", {}).pop(lever.path.rsplit(".", 1)[1], None)
            continue
        set_path(data, lever.path, float(value))
    return parse_scenario(data, str(path))


def _seed(seed: int | str | None, default: int) -> int:
    """The seed typed in the UI (a string), or CONFIG's when blank or not an integer >= 0."""
    text = str(seed).strip() if seed is not None else ""
    return int(text) if text.isdigit() else default


@dataclass
class History:
    """What the plots show, one entry per recorded step (step 0 is the start)."""

    years: list[float]
    loss: dict[str, list[float]]
    share: dict[str, list[float]]
    chip_index: dict[str, list[float]]
    energy_price: dict[str, list[float]]


class DashboardModel(RaceModel):
    """RaceModel built from CONFIG with the levers given as keyword arguments.

    Args:
        carbon_tax, grid_buildout_multiplier, rd_subsidy_rate, spillover_strength,
        capital_availability: ``policy.*`` values; ``None`` keeps CONFIG's.
        power_cap_mw: cap of the first lab's region in MW; ``None`` keeps CONFIG's,
            the slider's maximum (or more) removes the cap.
        seed: random seed (the UI passes a string); blank keeps CONFIG's.
        config: scenario YAML; ``None`` reads ``$RACE_DASHBOARD_CONFIG``.
    """

    def __init__(
        self,
        carbon_tax: float | None = None,
        grid_buildout_multiplier: float | None = None,
        rd_subsidy_rate: float | None = None,
        spillover_strength: float | None = None,
        capital_availability: float | None = None,
        power_cap_mw: float | None = None,
        seed: int | str | None = None,
        config: str | None = None,
    ):
        self.config_path = Path(config).resolve() if config else config_path()
        values = {
            "carbon_tax": carbon_tax,
            "grid_buildout_multiplier": grid_buildout_multiplier,
            "rd_subsidy_rate": rd_subsidy_rate,
            "spillover_strength": spillover_strength,
            "capital_availability": capital_availability,
            POWER_CAP: power_cap_mw,
        }
        scenario = build_scenario(self.config_path, values)
        super().__init__(scenario, seed=_seed(seed, scenario.seed))
        names = [lab.name for lab in self.labs]
        self.history = History([], {n: [] for n in names}, {n: [] for n in names}, {}, {})
        self._record()

    def step(self) -> None:
        """One step of the economy; stops running at the scenario's horizon."""
        super().step()
        self._record()
        if self.steps >= self.scenario.n_steps:
            self.running = False

    def _record(self) -> None:
        history, tax = self.history, self.scenario.policy.carbon_tax
        history.years.append(self.year)
        shares = self.last_shares if self.steps else self.shares()
        for lab, share in zip(self.labs, shares, strict=True):
            history.loss[lab.name].append(self.loss_of(lab.compute))
            history.share[lab.name].append(float(share))
        for s in self.chip_suppliers:
            history.chip_index.setdefault(s.name, []).append(s.quoted_index)
        for s in self.energy_suppliers:
            price = s.last_price + tax * s.carbon_intensity
            history.energy_price.setdefault(s.name, []).append(price)


# ------------------------------------------------------------- components


def leader(model: RaceModel) -> str:
    """Name of the lab with the lowest loss."""
    return min(model.labs, key=lambda lab: model.loss_of(lab.compute)).name


def readout_text(model: RaceModel) -> str:
    """One line of numbers the browser test reads: step, year, leader, mean loss, levers."""
    losses = [model.loss_of(lab.compute) for lab in model.labs]
    policy = model.scenario.policy
    caps = ", ".join(f"{r} {mw:g} MW" for r, mw in policy.power_caps.items()) or "none"
    return (
        f"step {model.steps} · year {model.year:.2f} · leader {leader(model)} · "
        f"mean loss {sum(losses) / len(losses):.6f} · carbon tax {policy.carbon_tax:g} USD/tCO2 · "
        f"grid x{policy.grid_buildout_multiplier:g} · R&D subsidy {policy.rd_subsidy_rate:g} · "
        f"spillover {policy.spillover_strength:g} · capital x{policy.capital_availability:g} · "
        f"power caps {caps} · seed {model.seed_used}"
    )


FIGURE_SIZE = (5.2, 3.2)
"""Inches of one dashboard plot (drawn at :data:`_FIGURE_DPI`)."""

_TITLE_FONT, _LABEL_FONT, _TICK_FONT, _LEGEND_FONT = 10, 8, 7, 6

LOSS_LABEL = column_label("labs", "loss", "loss L(C)")
"""``loss L(C) (nats/token)``: the unit from the output registry, as in ``race run``'s figure."""
YEAR_LABEL = column_label("labs", "year")
SHARE_LABEL = with_unit("market share", "fraction of revenue")
CHIP_INDEX_LABEL = "chip price index (1 = list price)"
ENERGY_PRICE_LABEL = with_unit("energy price incl. carbon tax", "USD/MWh")


def _figure(
    width: float = FIGURE_SIZE[0], height: float = FIGURE_SIZE[1], columns: int = 1
) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure with ``columns`` axes side by side (call inside the style)."""
    figure = Figure(figsize=(width, height), layout="constrained", dpi=_FIGURE_DPI)
    return figure, list(figure.subplots(1, columns, squeeze=False)[0])


def _show(figure: Figure, model: RaceModel) -> None:
    """Render a figure as a PNG, re-encoded only when the model or its step changes."""
    solara.FigureMatplotlib(figure, dependencies=[id(model), model.steps], format="png")


def _horizon(axis: Axes, model: RaceModel) -> None:
    """The x axis spans the scenario's horizon, so the curves grow from left to right."""
    start = model.scenario.start_year
    axis.set_xlim(start, start + model.scenario.years)
    axis.xaxis.set_major_locator(MaxNLocator(nbins=4))
    axis.tick_params(labelsize=_TICK_FONT)
    axis.set_xlabel(YEAR_LABEL, fontsize=_LABEL_FONT)


def _decorate(axis: Axes, model: RaceModel, ylabel: str, title: str) -> None:
    _horizon(axis, model)
    axis.set_ylabel(ylabel, fontsize=_LABEL_FONT)
    axis.set_title(title, fontsize=_TITLE_FONT)


def _lines(
    axis: Axes, model: RaceModel, series: dict[str, list[float]], title: str, below: bool = False
) -> None:
    """One line per series in the shared palette, with a legend of its names (inside or below)."""
    colours = palette(list(series))
    for name, values in series.items():
        axis.plot(model.history.years, values, color=colours[name], linewidth=1.4)
    place = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.22)} if below else {}
    axis.legend(
        handles=line_handles(colours), title=title, fontsize=_LEGEND_FONT,
        title_fontsize=_LEGEND_FONT, ncol=2, **place,
    )  # fmt: skip


@styled
def loss_figure(model: DashboardModel) -> Figure:
    """Loss per lab (nats/token) against calendar year."""
    figure, (axis,) = _figure()
    _lines(axis, model, model.history.loss, "lab")
    _decorate(axis, model, LOSS_LABEL, "Loss per lab")
    return figure


@styled
def prices_figure(model: DashboardModel) -> Figure:
    """Chip price index per chip supplier and energy price per energy supplier.

    The legends sit below the two narrow panels, where four suppliers' names fit.
    """
    figure, (chips, energy) = _figure(6.4, 3.6, columns=2)
    _lines(chips, model, model.history.chip_index, "supplier", below=True)
    _decorate(chips, model, CHIP_INDEX_LABEL, "Chip price index")
    _lines(energy, model, model.history.energy_price, "supplier", below=True)
    _decorate(energy, model, ENERGY_PRICE_LABEL, "Energy price")
    return figure


@styled
def shares_figure(model: DashboardModel) -> Figure:
    """Market shares of the labs, stacked, in the same lab colours as the loss plot."""
    figure, (axis,) = _figure()
    history = model.history
    colours = palette(list(history.share))
    axis.stackplot(
        history.years, *history.share.values(), labels=list(history.share),
        colors=list(colours.values()),
    )  # fmt: skip
    axis.set_ylim(0, 1)
    _decorate(axis, model, SHARE_LABEL, "Market shares")
    axis.legend(fontsize=_LEGEND_FONT, ncol=2, loc="upper left")
    return figure


_COLUMN = {"chip_supplier": 0.0, "lab": 1.0, "energy_supplier": 2.0}


def network_positions(graph: nx.DiGraph) -> dict[int, tuple[float, float]]:
    """Three columns: chip suppliers, labs, energy suppliers, each spread top to bottom."""
    positions = {}
    for kind, x in _COLUMN.items():
        nodes = [n for n, data in graph.nodes(data=True) if data["kind"] == kind]
        for i, node in enumerate(nodes):
            positions[node] = (x, 1.0 - (i + 0.5) / len(nodes))
    return positions


def _restricted(edge: dict[str, Any]) -> bool:
    """A banned edge or one under an export-control threshold (dashed, as in ``race run``)."""
    return not edge["allowed"] or math.isfinite(edge.get("max_tpp", math.inf))


def network_handles(colours: dict[str, Any], top: float) -> list[Line2D]:
    """Legend of the network plot: node kinds, trade kinds, restriction, width scale."""
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colours[kind], label=NODE_TITLES[kind])
        for kind in NODE_KINDS
    ]
    return [
        *handles,
        Line2D([], [], color=colours["chip_supplier"], linewidth=3, label="chip trade"),
        Line2D([], [], color=colours["energy_supplier"], linewidth=3, label="energy trade"),
        Line2D([], [], color="0.4", linestyle="--", label="restricted (export control)"),
        Line2D([], [], color="0.4", linewidth=4.3, label=f"width: {top:.3g} USD/step (max)"),
    ]


@styled
def network_figure(model: RaceModel) -> Figure:
    """The supply network; edge width is the last step's trade value, restricted edges dashed."""
    graph = model.network
    figure, (axis,) = _figure(6.2, 3.6)
    positions, colours = network_positions(graph), palette(list(NODE_KINDS))
    values = [data["value"] for _, _, data in graph.edges(data=True)]
    top = max(values, default=0.0) or 1.0
    trade = {"chips": colours["chip_supplier"], "energy": colours["energy_supplier"]}
    for supplier, lab, data in graph.edges(data=True):
        (x0, y0), (x1, y1) = positions[supplier], positions[lab]
        style = "--" if _restricted(data) else "-"
        width = 0.3 + 4.0 * data["value"] / top
        axis.plot([x0, x1], [y0, y1], style, color=trade[data["kind"]], linewidth=width, alpha=0.6)
    for node, data in graph.nodes(data=True):
        x, y = positions[node]
        axis.scatter([x], [y], s=60, color=colours[data["kind"]], zorder=3)
        axis.annotate(data["name"], (x, y), fontsize=_LEGEND_FONT, ha="center", va="bottom")
    axis.set_xticks(range(3), [NODE_TITLES[kind] for kind in NODE_KINDS], fontsize=_TICK_FONT)
    axis.set_yticks([])
    axis.set_xlim(-0.4, 2.4)
    axis.grid(False)
    axis.set_title(f"Supply network (width: trade value, step {model.steps})", fontsize=10)
    axis.legend(
        handles=network_handles(colours, max(values, default=0.0)), fontsize=_LEGEND_FONT,
        loc="upper left", bbox_to_anchor=(1.0, 1.0),
    )  # fmt: skip
    return figure


def _plot(make: Callable[[DashboardModel], Figure]) -> Callable[[DashboardModel], None]:
    def component(model: DashboardModel) -> None:
        _show(make(model), model)

    component.__name__ = make.__name__.replace("_figure", "_plot")
    return component


def overview(model: DashboardModel) -> None:
    """The numeric readout above the loss plot."""
    with solara.Column(gap="4px"):
        solara.Text(readout_text(model), classes=["race-readout"])
        _show(loss_figure(model), model)


def lever_table(model: DashboardModel) -> None:
    """Page 1: each lever's path, unit, schema bounds, UI range and description."""
    rows = [
        "| lever | path | unit | schema bounds | slider range | description |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for lever in levers(load_config(model.config_path)[1]):
        rows.append(
            f"| {lever.label} | `{lever.path}` | {lever.unit} | {lever.schema_bounds} | "
            f"[{lever.min:g}, {lever.max:g}] step {lever.step:g} | {lever.description} |"
        )
    note = (
        "Sliders take effect at **Reset**. Infinite schema bounds would be clamped "
        f"(open upper bound: lower + {UNBOUNDED_SPAN:g} x max(default - lower, 1)); the power "
        "cap's schema range [0, 1e7] MW is clamped to the region's capacity at the horizon, "
        "and its top position means no cap."
    )
    solara.Markdown("\n".join([f"CONFIG: `{model.config_path}`", "", note, "", *rows]))


COMPONENTS = [
    (overview, 0),
    (_plot(prices_figure), 0),
    (_plot(shares_figure), 0),
    (_plot(network_figure), 0),
    (lever_table, 1),
]
"""(component, page) pairs for SolaraViz."""


@solara.component
def Page() -> None:
    """The dashboard: one model per browser session, built from CONFIG."""
    path = config_path()
    params = solara.use_memo(lambda: model_params(path), [str(path)])
    model = solara.use_memo(lambda: DashboardModel(config=str(path)), [str(path)])
    scenario = model.scenario
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params=params,
        name=f"race dashboard: {scenario.name}",
    )
