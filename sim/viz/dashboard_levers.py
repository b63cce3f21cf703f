"""The dashboard's levers: a sidebar control for every leaf field of ``policy``.

Walks the pydantic schema of :class:`sim.config.scenario.PolicyConfig` and its nested
models and makes, per field, a :class:`Lever`: its SolaraViz inputs
(:class:`Control`) and how their values encode the field's new value. Numbers
are sliders (bounds, unit and description from the schema), booleans
checkboxes, names selects, an optional threshold an on switch plus a log10
slider, region lists a checkbox per region and region mappings a slider per
region of the scenario. Each starts at the scenario's value.

It lives apart from :mod:`sim.viz.app` because turning a schema into controls is
one idea, independent of Solara and of the plots; it imports neither, so the
levers can be tested (and reused) without a browser or a running app.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.config.chips import BF16_BITS, TERA
from sim.config.scenario import PolicyConfig, Scenario

SLIDER_POSITIONS = 500
"""About how many positions a slider has between its ends (sets the step)."""

UNBOUNDED_SPAN = 10.0
"""An open upper bound is clamped to ``lower + 10 x max(default - lower, 1)`` in the UI."""

NONE_CHOICE = "(none)"
"""Select entry meaning null (no configured name can start with a parenthesis)."""

LOG_UNITS = frozenset({"FLOP"})
"""Units spanning many decades: their sliders move in log10 of the value."""

LOG_RANGE = (20.0, 30.0)
"""Log slider ends in decades: 1e20 to 1e30 FLOP (EU AI Act 1e25, EO 14110 1e26)."""

LOG_POSITIONS = 100
"""Positions of a log slider (0.1 decade per step over ten decades)."""

LOG_START = 26.0
"""Log slider position while its optional field is off (null) in CONFIG: EO 14110's 1e26."""

GROUP_ORDER = (
    "carbon_tax",
    "grid_buildout_multiplier",
    "power_caps",
    "export_controls",
    "tariffs",
    "supply_shock",
    "rd_subsidy_rate",
    "spillover_strength",
    "capital_availability",
    "compute_threshold",
)
"""Sidebar order of the ``policy`` fields: energy, chips and trade, R&D and money, compute
governance. A field missing here still gets its controls, after these, in schema order."""


@dataclass(frozen=True)
class Control:
    """One sidebar input (slider, checkbox or select) and where its value goes.

    Attributes:
        name: keyword argument of :class:`sim.viz.app.DashboardModel`
            (``export_controls__max_tpp``).
        kind: SolaraViz input type: ``SliderFloat``, ``SliderInt``, ``Checkbox`` or ``Select``.
        label: the input's label (name, region and unit).
        value: starting value, CONFIG's (a select's value is its text).
        target: the scenario path it sets, shown on the levers page.
        unit: unit from the schema (``log10 FLOP`` for a log slider).
        description: description from the schema.
        schema_bounds: the bounds as declared, e.g. ``[0, 1e+04]``.
        min, max, step: a slider's range and step.
        choices: a select's entries.
    """

    name: str
    kind: str
    label: str
    value: Any
    target: str
    unit: str = "-"
    description: str = ""
    schema_bounds: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()

    def param(self) -> dict[str, Any]:
        """The SolaraViz ``model_params`` entry of this input."""
        entry: dict[str, Any] = {"type": self.kind, "label": self.label, "value": self.value}
        if self.kind.startswith("Slider"):
            entry.update(min=self.min, max=self.max, step=self.step)
        if self.kind == "Select":
            entry["values"] = list(self.choices)
        return entry

    def range_text(self) -> str:
        """What the input offers: a slider's range and step, a select's entries, on/off."""
        if self.kind.startswith("Slider"):
            return f"[{self.min:g}, {self.max:g}] step {self.step:g}"
        return " / ".join(self.choices) if self.kind == "Select" else "on / off"


KEEP = object()
"""Returned by :meth:`Lever.assignment` when no control moved: CONFIG's value stays."""


@dataclass(frozen=True)
class Lever:
    """A declared ``policy`` field and the controls that set it.

    Attributes:
        path: dotted scenario path of the field (``policy.export_controls.max_tpp``).
        controls: its inputs; mapping and list fields have one per region.
        encode: the field's value from its controls' values (in ``controls`` order).
    """

    path: str
    controls: tuple[Control, ...]
    encode: Callable[[list[Any]], Any]

    def assignment(self, values: dict[str, Any]) -> Any:
        """The field's new value from the UI values, or :data:`KEEP` if no control moved.

        A control missing from ``values`` (or ``None``) keeps its starting value.
        Untouched fields keep CONFIG's value exactly (no round trip through a slider).
        """
        start = [control.value for control in self.controls]
        chosen = [
            control.value if values.get(control.name) is None else values[control.name]
            for control in self.controls
        ]
        return KEEP if chosen == start else self.encode(chosen)


def policy_fields(
    model: type[BaseModel] = PolicyConfig, prefix: str = "policy"
) -> list[tuple[str, FieldInfo]]:
    """Every leaf field of the policy schema with its dotted path (nested models walked)."""
    leaves: list[tuple[str, FieldInfo]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}"
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            leaves.extend(policy_fields(field.annotation, path))
        else:
            leaves.append((path, field))
    return leaves


def value_at(root: Any, path: str) -> Any:
    """The attribute at a dotted path (``value_at(scenario, "policy.supply_shock.supplier")``)."""
    for part in path.split("."):
        root = getattr(root, part)
    return root


def schema_bounds(field: FieldInfo) -> tuple[float, float]:
    """Declared ``(lower, upper)`` bounds of a numeric field; ``-inf``/``inf`` when open."""
    lower, upper = -math.inf, math.inf
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge | annotated_types.Gt):
            lower = float(getattr(item, "ge", getattr(item, "gt", lower)))
        if isinstance(item, annotated_types.Le | annotated_types.Lt):
            upper = float(getattr(item, "le", getattr(item, "lt", upper)))
    return lower, upper


def bounds_text(field: FieldInfo) -> str:
    """The declared bounds as an interval, open ends in parentheses: ``(0, 1e+40]``."""
    lower, upper = schema_bounds(field)
    strict_low = any(isinstance(item, annotated_types.Gt) for item in field.metadata)
    strict_high = any(isinstance(item, annotated_types.Lt) for item in field.metadata)
    return f"{'(' if strict_low else '['}{lower:g}, {upper:g}{')' if strict_high else ']'}"


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


def round_up(value: float) -> float:
    """``value`` rounded up to a multiple of its :func:`nice_step` (a slider's clean top)."""
    step = nice_step(value)
    return math.ceil(value / step) * step


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --------------------------------------------- what the config offers a lever


def lab_regions(scenario: Scenario) -> list[str]:
    """Regions with labs, in order of appearance (importers of chips)."""
    return _unique(lab.region for lab in scenario.labs)


def chip_regions(scenario: Scenario) -> list[str]:
    """Regions with chip suppliers (exporters)."""
    return _unique(s.region for s in scenario.chip_suppliers)


def energy_regions(scenario: Scenario) -> list[str]:
    """Regions with energy suppliers (where a power cap acts)."""
    return _unique(s.region for s in scenario.energy_suppliers)


def all_regions(scenario: Scenario) -> list[str]:
    """Every region named by a lab or supplier."""
    return _unique([*lab_regions(scenario), *chip_regions(scenario), *energy_regions(scenario)])


def chip_supplier_names(scenario: Scenario) -> list[str]:
    """Names of the chip suppliers (who a supply shock can hit)."""
    return [s.name for s in scenario.chip_suppliers]


def region_capacity_mw(scenario: Scenario, region: str) -> float:
    """MW the region's suppliers could have by the horizon at the scenario's build rates."""
    return sum(
        s.capacity_mw + s.build_rate_mw_per_year * scenario.years
        for s in scenario.energy_suppliers
        if s.region == region
    )


def cap_top(scenario: Scenario, region: str) -> float:
    """Top of a region's power-cap slider: its capacity at the horizon, rounded up (no cap).

    The schema bounds a cap to ``[0, 1e7]`` MW, far beyond any grid; a cap at or
    above the region's capacity at the horizon could never bind.
    """
    return round_up(max(region_capacity_mw(scenario, region), 1.0))


def tpp_range(scenario: Scenario) -> tuple[float, float]:
    """Export-control threshold: 0 (ban) to the highest TPP among CONFIG's chips, rounded up."""
    return 0.0, round_up(max(chip.flops / TERA * BF16_BITS for chip in scenario.hardware.chips))


def horizon_years(scenario: Scenario) -> tuple[float, float]:
    """Calendar years of the run: an event outside them has no effect."""
    return scenario.start_year, scenario.start_year + scenario.years


def horizon_length(scenario: Scenario) -> tuple[float, float]:
    """Durations up to the run's length."""
    return 0.0, scenario.years


def cash_range(scenario: Scenario) -> tuple[float, float]:
    """One-off costs up to the richest lab's starting cash, rounded up."""
    return 0.0, round_up(max(lab.cash for lab in scenario.labs))


def fixed(low: float, high: float) -> Callable[[Scenario], tuple[float, float]]:
    """A slider range that does not depend on CONFIG."""
    return lambda scenario: (low, high)


UI_RANGES: dict[str, Callable[[Scenario], tuple[float, float]]] = {
    "policy.carbon_tax": fixed(0.0, 500.0),  # USD/tCO2, beyond most social-cost estimates
    "policy.grid_buildout_multiplier": fixed(0.0, 5.0),
    "policy.rd_subsidy_rate": fixed(0.0, 1.0),  # up to the whole R&D spend
    "policy.spillover_strength": fixed(0.0, 1.0),
    "policy.capital_availability": fixed(0.0, 5.0),
    "policy.export_controls.max_tpp": tpp_range,
    "policy.supply_shock.start_year": horizon_years,
    "policy.supply_shock.duration_years": horizon_length,
    "policy.compute_threshold.compliance_cost": cash_range,
}
"""Slider ranges a user would use where the schema's bounds are far wider (carbon tax up to
10,000 USD/tCO2, multipliers up to 20, TPP up to 1e7, years 1990-2200, costs up to 1e13
USD), fixed or from CONFIG; always within the schema's, and widened to CONFIG's value
(:func:`_slider`), so any valid config can still be shown. The levers page lists both."""

CHOICES: dict[str, Callable[[Scenario], list[str]]] = {
    "policy.supply_shock.supplier": chip_supplier_names,
}
"""Where a name field's choices come from (a ``Literal`` field lists its own)."""

REGIONS: dict[str, Callable[[Scenario], list[str]]] = {
    "policy.power_caps": energy_regions,
    "policy.tariffs": lab_regions,
    "policy.export_controls.restricted_regions": lab_regions,
    "policy.export_controls.exporter_regions": chip_regions,
}
"""Which regions a per-region field gets controls for (else every region); CONFIG's own
entries are added."""


@dataclass(frozen=True)
class EntryRule:
    """How one region's value of a mapping field is shown.

    Attributes:
        bounds: allowed values, as checked by config.py's validator (the JSON Schema
            of a mapping does not carry them).
        top: the slider's top for a region, meaning "no entry" (no cap); without
            it the top is the upper bound and the lower bound means no entry (no tariff).
        note: added to the label (e.g. ``top = no cap``).
        shown_top: the slider's top where ``bounds`` is far wider than useful values
            (widened to CONFIG's value).
    """

    bounds: tuple[float, float]
    top: Callable[[Scenario, str], float] | None = None
    note: str = ""
    shown_top: float | None = None

    def absent(self, scenario: Scenario, region: str) -> float:
        """The slider value meaning "no entry for this region"."""
        return self.top(scenario, region) if self.top else self.bounds[0]

    def keeps(self, scenario: Scenario, region: str, value: float) -> bool:
        """Whether a slider value is an entry of the mapping (not "no entry")."""
        if self.top:
            return value < self.top(scenario, region)
        return value > self.bounds[0]


MAPPINGS: dict[str, EntryRule] = {
    "policy.power_caps": EntryRule((0.0, 1e7), cap_top, "top = no cap"),
    "policy.tariffs": EntryRule((0.0, 10.0), note="ad valorem rate", shown_top=2.0),  # 200%
}
"""Per-region mapping fields of ``policy`` and their value rules."""


# --------------------------------------------------------- one lever per field


def _name(path: str, *suffix: str) -> str:
    """Keyword argument of a control: the path below ``policy`` joined by ``__``."""
    return "__".join([*path.split(".")[1:], *suffix])


def _label(path: str, unit: str = "1", key: str = "", note: str = "") -> str:
    """``export controls: max tpp (TPP)``: nested names, region, unit and note."""
    text = ": ".join(part.replace("_", " ") for part in path.split(".")[1:])
    extras = [item for item in (unit if unit != "1" else "", note) if item]
    return f"{text}{f' {key}' if key else ''}" + (f" ({', '.join(extras)})" if extras else "")


def _unit(field: FieldInfo) -> str:
    return str((field.json_schema_extra or {}).get("unit", "1"))


def _slider(
    path: str,
    field: FieldInfo,
    value: float,
    low: float,
    high: float,
    *,
    key: str = "",
    note: str = "",
    unit: str | None = None,
    positions: int = SLIDER_POSITIONS,
) -> Control:
    """A slider over ``[low, high]`` widened to CONFIG's value; ints step by whole numbers.

    ``key`` names the region of a per-region field (in the name, label and target).
    """
    low, high = min(low, value), max(high, value)
    whole = field.annotation is int
    step = nice_step(high - low, positions)
    unit = _unit(field) if unit is None else unit
    description = field.description or ""
    return Control(
        name=_name(path, key) if key else _name(path),
        kind="SliderInt" if whole else "SliderFloat",
        label=_label(path, unit, key, note),
        value=int(value) if whole else float(value),
        target=f"{path}.{key}" if key else path,
        unit=unit,
        description=f"{description}; region {key}" if key else description,
        schema_bounds=bounds_text(field),
        min=low,
        max=high,
        step=max(1.0, round(step)) if whole else step,
    )


def _number_range(path: str, field: FieldInfo, scenario: Scenario) -> tuple[float, float]:
    """Slider ends: :data:`UI_RANGES` within the schema bounds, else the clamped bounds."""
    lower, upper = schema_bounds(field)
    if path in UI_RANGES:
        low, high = UI_RANGES[path](scenario)
        return max(low, lower), min(high, upper)
    default = field.default if isinstance(field.default, int | float) else max(lower, 0.0)
    return ui_range(lower, upper, float(default))


def _number_lever(path: str, field: FieldInfo, scenario: Scenario) -> Lever:
    low, high = _number_range(path, field, scenario)
    control = _slider(path, field, float(value_at(scenario, path)), low, high)
    cast = int if control.kind == "SliderInt" else float
    return Lever(path, (control,), lambda values: cast(values[0]))


def _log_range(field: FieldInfo) -> tuple[float, float]:
    lower, upper = schema_bounds(field)
    low = max(LOG_RANGE[0], math.log10(lower)) if lower > 0 else LOG_RANGE[0]
    return low, min(LOG_RANGE[1], math.log10(upper)) if upper > 0 else LOG_RANGE[1]


def _from_log(decades: float) -> float:
    """10^decades to four significant digits (a slider at 25.5 gives 3.162e25, not 3.16227...)."""
    return float(f"{10.0 ** float(decades):.4g}")


def _optional_number_lever(path: str, field: FieldInfo, scenario: Scenario) -> Lever:
    """An on/off checkbox (off: null) and a slider, in log10 for units like FLOP."""
    current = value_at(scenario, path)
    switch = Control(
        name=_name(path, "on"),
        kind="Checkbox",
        label=_label(path, key="on"),
        value=current is not None,
        target=f"{path} (off: null)",
        description=f"{field.description}; off sets null",
        schema_bounds=bounds_text(field),
    )
    if _unit(field) in LOG_UNITS:
        low, high = _log_range(field)
        start = LOG_START if current is None else math.log10(current)
        unit = f"log10 {_unit(field)}"
        slider = _slider(path, field, start, low, high, unit=unit, positions=LOG_POSITIONS)
        slider = replace(slider, target=f"{path} = 10^value")
        return Lever(path, (switch, slider), lambda v: _from_log(v[1]) if v[0] else None)
    low, high = _number_range(path, field, scenario)
    slider = _slider(path, field, low if current is None else float(current), low, high)
    return Lever(path, (switch, slider), lambda v: float(v[1]) if v[0] else None)


def _bool_lever(path: str, field: FieldInfo, scenario: Scenario) -> Lever:
    control = Control(
        name=_name(path),
        kind="Checkbox",
        label=_label(path),
        value=bool(value_at(scenario, path)),
        target=path,
        description=field.description or "",
        schema_bounds="true / false",
    )
    return Lever(path, (control,), lambda values: bool(values[0]))


def _choice_lever(path: str, field: FieldInfo, scenario: Scenario, optional: bool) -> Lever:
    """A select of CONFIG's names (:data:`CHOICES`) or a ``Literal``'s values; null first."""
    literal = [a for a in get_args(field.annotation) if get_origin(a) is Literal]
    if path in CHOICES:
        names = CHOICES[path](scenario)
    elif literal:
        names = [str(value) for value in get_args(literal[0])]
    else:
        raise TypeError(f"{path}: a name field needs its choices in dashboard_levers.CHOICES")
    choices = (NONE_CHOICE, *names) if optional else tuple(names)
    current = value_at(scenario, path)
    control = Control(
        name=_name(path),
        kind="Select",
        label=_label(path),
        value=NONE_CHOICE if current is None else str(current),
        target=path,
        description=field.description or "",
        schema_bounds="a name" + (" or null" if optional else ""),
        choices=choices,
    )
    return Lever(path, (control,), lambda v: None if v[0] == NONE_CHOICE else str(v[0]))


def _region_keys(path: str, scenario: Scenario, current: Iterable[str]) -> list[str]:
    return _unique([*REGIONS.get(path, all_regions)(scenario), *current])


def _mapping_lever(path: str, field: FieldInfo, scenario: Scenario) -> Lever:
    """One slider per region (:data:`REGIONS`); a slider at its ``absent`` value drops the entry."""
    rule, current = MAPPINGS[path], value_at(scenario, path)
    keys = _region_keys(path, scenario, current)
    controls = [_entry_slider(path, field, scenario, rule, key, current) for key in keys]

    def encode(values: list[Any]) -> dict[str, float]:
        pairs = zip(keys, values, strict=True)
        return {key: float(v) for key, v in pairs if rule.keeps(scenario, key, float(v))}

    return Lever(path, tuple(controls), encode)


def _entry_slider(
    path: str, field: FieldInfo, scenario: Scenario, rule: EntryRule, key: str, current: dict
) -> Control:
    """The slider of one region's entry; CONFIG's value, else the "no entry" value."""
    lower, upper = rule.bounds
    value = current.get(key, rule.absent(scenario, key))
    if rule.top:  # a value above the top (no cap) is shown at the top
        high = rule.top(scenario, key)
        value = min(value, high)
    else:  # the slider widens to CONFIG's value
        high = min(rule.shown_top or upper, upper)
    slider = _slider(path, field, value, lower, high, key=key, note=rule.note)
    return replace(slider, schema_bounds=f"[{lower:g}, {upper:g}]")


def _members_lever(path: str, field: FieldInfo, scenario: Scenario, optional: bool) -> Lever:
    """One checkbox per region: checked regions form the list (all checked: null if allowed)."""
    current = value_at(scenario, path)
    keys = _region_keys(path, scenario, current or [])
    checked = set(keys if current is None else current)
    note = "; all checked: null" if optional else ""
    controls = tuple(
        Control(
            name=_name(path, key),
            kind="Checkbox",
            label=_label(path, key=key),
            value=key in checked,
            target=f"{path} contains {key}",
            description=f"{field.description}; checked: {key} is listed{note}",
            schema_bounds="list of regions" + (" or null" if optional else ""),
        )
        for key in keys
    )

    def encode(values: list[Any]) -> list[str] | None:
        chosen = [key for key, on in zip(keys, values, strict=True) if on]
        return None if optional and len(chosen) == len(keys) else chosen

    return Lever(path, controls, encode)


def _shape(annotation: Any) -> tuple[str, bool]:
    """``(shape, optional)`` of a field's type: number, int, bool, name, mapping or members."""
    args = get_args(annotation)
    optional = get_origin(annotation) in (Union, UnionType) and type(None) in args
    if optional:
        (annotation,) = [a for a in args if a is not type(None)]
    origin = get_origin(annotation)
    if annotation is bool:
        return "bool", optional
    if annotation in (int, float):
        return "number", optional
    if annotation is str or origin is Literal:
        return "name", optional
    if origin is dict:
        return "mapping", optional
    if origin is list:
        return "members", optional
    return "unknown", optional


def lever_for(path: str, field: FieldInfo, scenario: Scenario) -> Lever:
    """The controls of one declared field, chosen by its type.

    Raises:
        TypeError: for a type the dashboard has no control for (a new kind of lever).
    """
    shape, optional = _shape(field.annotation)
    if shape == "number":
        build = _optional_number_lever if optional else _number_lever
        return build(path, field, scenario)
    if shape == "bool" and not optional:
        return _bool_lever(path, field, scenario)
    if shape == "name":
        return _choice_lever(path, field, scenario, optional)
    if shape == "mapping" and not optional:
        return _mapping_lever(path, field, scenario)
    if shape == "members":
        return _members_lever(path, field, scenario, optional)
    raise TypeError(f"{path}: no dashboard control for a field of type {field.annotation}")


def _group_rank(item: tuple[str, FieldInfo]) -> int:
    top = item[0].split(".")[1]
    return GROUP_ORDER.index(top) if top in GROUP_ORDER else len(GROUP_ORDER)


def levers(scenario: Scenario) -> list[Lever]:
    """A lever for every leaf field of ``policy``, in :data:`GROUP_ORDER`, from CONFIG."""
    fields = sorted(policy_fields(), key=_group_rank)
    return [lever_for(path, field, scenario) for path, field in fields]


def controls(scenario: Scenario) -> list[Control]:
    """Every input of every lever, in sidebar order."""
    return [control for lever in levers(scenario) for control in lever.controls]
