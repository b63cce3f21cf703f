"""The ``race dashboard`` app: Mesa's SolaraViz over the race economy.

Every leaf field of the scenario's ``policy`` schema gets controls, generated
by :mod:`sim.viz.dashboard_levers` from the pydantic fields, each starting at
CONFIG's value. SolaraViz provides play, step and reset; a lever takes effect
at the next Reset, which builds a fresh :class:`DashboardModel` from CONFIG
with the moved fields written through :func:`sim.config.overrides.set_path`. The
plots are drawn by :mod:`sim.viz.dashboard_plots`. This module keeps what ties
them together: CONFIG loading, the model, the readout and the Solara
components and :func:`Page`.

CONFIG is read from the environment variable ``RACE_DASHBOARD_CONFIG`` (set by
``race dashboard``); run by hand with::

    RACE_DASHBOARD_CONFIG=experiments/baseline.yaml solara run sim.viz.app

(unset, it runs the baseline shipped with the package).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz

from sim.config.overrides import set_path
from sim.config.scenario import (
    PACKAGED_BASELINE,
    PolicyConfig,
    Scenario,
    parse_scenario,
    read_scenario_file,
)
from sim.economy.model import RaceModel
from sim.viz.dashboard_levers import (
    KEEP,
    UNBOUNDED_SPAN,
    _unit,
    controls,
    levers,
    policy_fields,
    value_at,
)
from sim.viz.dashboard_plots import loss_figure, network_figure, prices_figure, shares_figure

CONFIG_ENV = "RACE_DASHBOARD_CONFIG"
"""Environment variable naming the scenario YAML the dashboard runs."""

DEFAULT_CONFIG = PACKAGED_BASELINE
"""CONFIG when the environment variable is unset: the baseline shipped with the package."""

# ----------------------------------------------------------------- config


def config_path() -> Path:
    """CONFIG: ``$RACE_DASHBOARD_CONFIG`` or the packaged baseline (:data:`DEFAULT_CONFIG`)."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> tuple[dict[str, Any], Scenario]:
    data = read_scenario_file(path)  # with the file it extends merged in
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


def model_params(path: str | Path) -> dict[str, Any]:
    """SolaraViz ``model_params``: an input per control, the seed, and CONFIG (fixed)."""
    _, scenario = load_config(path)
    params: dict[str, Any] = {control.name: control.param() for control in controls(scenario)}
    params["seed"] = {"type": "InputText", "label": "seed", "value": str(scenario.seed)}
    params["config"] = str(Path(path).resolve())
    return params


# ------------------------------------------------------------------ model


def build_scenario(path: str | Path, values: dict[str, Any]) -> Scenario:
    """CONFIG with the controls' values applied through ``set_path``.

    A field whose controls all sit at their starting values keeps CONFIG's
    value; ``None`` for a control means its starting value.

    Raises:
        TypeError: a value names no control.
        ConfigError: when the result is not a valid scenario.
    """
    data, scenario = load_config(path)
    all_levers = levers(scenario)
    unknown = set(values) - {c.name for lever in all_levers for c in lever.controls}
    if unknown:
        raise TypeError(f"no dashboard lever named {', '.join(sorted(unknown))}")
    for lever in all_levers:
        value = lever.assignment(values)
        if value is not KEEP:
            set_path(data, lever.path, value)
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
    """RaceModel built from CONFIG with the levers' controls given as keyword arguments.

    Args:
        seed: random seed (the UI passes a string); blank keeps CONFIG's.
        config: scenario YAML; ``None`` reads ``$RACE_DASHBOARD_CONFIG``.
        **kwargs: one per control of :func:`controls` (``carbon_tax=50``,
            ``export_controls__max_tpp=16000``, ``power_caps__us=300``,
            ``export_controls__restricted_regions__cn=True``); a missing or ``None``
            value keeps CONFIG's. A power-cap slider at its top removes the cap. (Mesa's
            SolaraViz accepts undeclared parameters only through a ``**kwargs`` so named.)

    Raises:
        TypeError: a keyword names no control.
    """

    def __init__(
        self, seed: int | str | None = None, config: str | None = None, **kwargs: Any
    ) -> None:
        self.config_path = Path(config).resolve() if config else config_path()
        scenario = build_scenario(self.config_path, kwargs)
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
        shares = self.shares()
        for lab, share in zip(self.labs, shares, strict=True):
            history.loss[lab.name].append(self.loss_of(lab.compute))
            history.share[lab.name].append(float(share))
        for s in self.chip_suppliers:
            history.chip_index.setdefault(s.name, []).append(s.quoted_index)
        for s in self.energy_suppliers:
            price = s.last_price + tax * s.carbon_intensity
            history.energy_price.setdefault(s.name, []).append(price)


def _pass_every_parameter_to_the_model() -> None:
    """Mesa >= 3.4 workaround: SolaraViz treats ``model.scenario`` as a Mesa Scenario.

    Mesa 3.4 added ``mesa.experimental.scenarios``: SolaraViz's (private)
    ``_check_model_params`` and ``_build_model_init_kwargs`` read
    ``model.scenario``, refuse anything but a Mesa ``Scenario`` and split the
    parameters between it and the model. ``RaceModel.scenario`` is the race's
    validated config, so for a :class:`DashboardModel` both get Mesa 3.3's
    behaviour: every parameter goes to ``__init__``. Other models and Mesa 3.3
    (which has neither function) are untouched.
    """
    from mesa.visualization import solara_viz

    check = getattr(solara_viz, "_check_model_params", None)
    build = getattr(solara_viz, "_build_model_init_kwargs", None)
    if build is None or getattr(build, "race_workaround", False):
        return

    def check_params(model_or_func: Any, params: dict[str, Any]) -> None:
        if isinstance(model_or_func, DashboardModel):
            model_or_func = type(model_or_func).__init__  # checked against the signature only
        check(model_or_func, params)

    def build_kwargs(model: Any, params: dict[str, Any], **options: Any) -> dict[str, Any]:
        if isinstance(model, DashboardModel):
            return dict(params)
        return build(model, params, **options)

    build_kwargs.race_workaround = True  # type: ignore[attr-defined]
    if check is not None:
        solara_viz._check_model_params = check_params
    solara_viz._build_model_init_kwargs = build_kwargs


_pass_every_parameter_to_the_model()


# ------------------------------------------------------------- components


def leader(model: RaceModel) -> str:
    """Name of the lab with the lowest loss."""
    return min(model.labs, key=lambda lab: model.loss_of(lab.compute)).name


def _shown(value: Any) -> str:
    """A lever's value in the readout: numbers ``%g``, lists and mappings without brackets."""
    if value is None:
        return "off"
    if isinstance(value, dict):
        return ", ".join(f"{key} {v:g}" for key, v in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def policy_changes(policy: PolicyConfig) -> list[str]:
    """Each ``policy`` leaf that differs from its schema default: ``path value unit``.

    Walks the schema like the controls, so a lever moved in the UI always shows.
    """
    default, changes = PolicyConfig(), []
    for path, field in policy_fields():
        relative = path.removeprefix("policy.")
        value = value_at(policy, relative)
        if relative == "carbon_tax" or value == value_at(default, relative):
            continue
        unit = _unit(field)
        changes.append(f"{relative} {_shown(value)}{'' if unit == '1' else f' {unit}'}")
    return changes


def readout_text(model: RaceModel) -> str:
    """One line of numbers the browser test reads: step, year, leader, mean loss, levers."""
    losses = [model.loss_of(lab.compute) for lab in model.labs]
    policy = model.scenario.policy
    return (
        f"step {model.steps} · year {model.year:.2f} · leader {leader(model)} · "
        f"mean loss {sum(losses) / len(losses):.6f} · carbon tax {policy.carbon_tax:g} USD/tCO2 · "
        f"other levers: {'; '.join(policy_changes(policy)) or 'at defaults'} · "
        f"seed {model.seed_used}"
    )


def _show(figure: Figure, model: RaceModel) -> None:
    """Render a figure as a PNG, re-encoded only when the model or its step changes."""
    solara.FigureMatplotlib(figure, dependencies=[id(model), model.steps], format="png")


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


LEVER_NOTE = (
    "Controls take effect at **Reset**; a field whose controls were not moved keeps CONFIG's "
    "value. Every field of `policy` has controls: numbers are sliders over the range a user "
    "would use, within the schema bounds and widened to CONFIG's value (carbon tax 0-500 "
    "USD/tCO2, multipliers 0-5, R&D subsidy and spillover 0-1, tariffs 0-2; TPP, years and "
    "one-off costs from CONFIG's chips, horizon and richest lab; other open bounds clamped to "
    f"lower + {UNBOUNDED_SPAN:g} x max(default - lower, 1)), FLOP thresholds a log10 slider "
    "with an on switch (off: null), names a select, region lists a checkbox per region, "
    "region mappings a slider per region (a power cap's top, the region's capacity at the "
    "horizon, means no cap; a zero tariff means none)."
)


def lever_rows(scenario: Scenario) -> list[str]:
    """The levers page's Markdown table: one row per control, in sidebar order."""
    rows = [
        "| control | sets `policy.` | unit | schema bounds | control range | description |",
        "| :--- | :--- | :--- | :--- | :--- | :--- |",
    ]
    for control in controls(scenario):
        target = control.target.removeprefix("policy.")
        rows.append(
            f"| {control.label} | `{target}` | {control.unit} | {control.schema_bounds} "
            f"| {control.range_text()} | {control.description} |"
        )
    return rows


def lever_table(model: DashboardModel) -> None:
    """Page 1: each control's label, target path, unit, schema bounds, range and description."""
    scenario = load_config(model.config_path)[1]
    lines = [f"CONFIG: `{model.config_path}`", "", LEVER_NOTE, "", *lever_rows(scenario)]
    solara.Markdown("\n".join(lines))


COMPONENTS = [
    (overview, 0),
    (_plot(prices_figure), 0),
    (_plot(shares_figure), 0),
    (_plot(network_figure), 0),
    (lever_table, 1),
]
"""(component, page) pairs for SolaraViz."""

PAGE_NAMES = ("Economy", "Levers and ranges")
"""Tab names of pages 0 and 1 (SolaraViz labels its tabs "Page 0", "Page 1": see
:func:`tab_css`)."""


SIDEBAR_CSS = """
.v-input__slider .v-input__slot > .v-label { max-width: 55%; white-space: normal;
  line-height: 1.2; }
.v-input--checkbox.v-input--selection-controls { margin-top: 0; padding-top: 0; }
.v-input--checkbox .v-input__slot { margin-bottom: 0; }
.v-input--checkbox .v-messages { display: none; }
.v-slider__thumb-container[role="slider"]::after { content: attr(aria-valuenow);
  position: absolute; top: 9px; left: 0; transform: translateX(-50%); font-size: 11px;
  line-height: 1; color: rgba(0, 0, 0, .7); white-space: nowrap; pointer-events: none; }
.v-input__slider { margin-bottom: 6px; }
"""
"""About 25 generated controls share the sidebar: a long slider label wraps at 55% of the
width instead of squeezing the track to nothing, checkboxes drop their empty hint rows, and
every slider shows its value under the thumb at all times (Vuetify's ``aria-valuenow``;
its own thumb label shows only while dragging, and Mesa does not ask for more)."""


def tab_css(names: tuple[str, ...] = PAGE_NAMES) -> str:
    """CSS that shows ``names`` on SolaraViz's page tabs instead of "Page 0", "Page 1".

    Neither Mesa 3.3 nor 3.5 takes tab names, so the tab's text is hidden and the name
    drawn in its place (child 1 of the tab bar is Vuetify's slider, so tab i is child i + 2).
    """
    rules = [".v-tabs-bar__content > .v-tab { font-size: 0; }"]
    for index, name in enumerate(names):
        rules.append(
            f'.v-tabs-bar__content > .v-tab:nth-child({index + 2})::after {{ content: "{name}"; '
            "font-size: .875rem; }"
        )
    return "\n".join(rules)


@solara.component
def Page() -> None:
    """The dashboard: one model per browser session, built from CONFIG."""
    path = config_path()
    params = solara.use_memo(lambda: model_params(path), [str(path)])
    model = solara.use_memo(lambda: DashboardModel(config=str(path)), [str(path)])
    scenario = model.scenario
    solara.Style(SIDEBAR_CSS + tab_css())
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params=params,
        name=f"race dashboard: {scenario.name}",
    )
