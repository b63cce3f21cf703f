"""``race dashboard`` without a browser: levers from the schema, the model, the rendered page."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import pytest
import seaborn as sns
import solara
import yaml
from matplotlib.colors import to_rgb

from sim import app
from sim.cli import main
from sim.config import Scenario
from tests.builders import small_economy_dict


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A two-year small economy as a YAML file."""
    data = small_economy_dict()
    data["years"] = 2
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _policy_schema() -> dict:
    """The JSON Schema of ``policy``, derived by pydantic independently of sim.app."""
    return Scenario.model_json_schema()["$defs"]["PolicyConfig"]["properties"]


# ------------------------------------------------------------------ levers


@pytest.mark.parametrize("name", app.POLICY_LEVERS)
def test_sliders_take_bounds_defaults_and_units_from_the_schema(config: Path, name: str) -> None:
    declared = _policy_schema()[name]
    slider = app.model_params(config)[name]
    assert slider["type"] == "SliderFloat"
    assert slider["min"] == declared["minimum"]
    assert slider["max"] == declared["maximum"]
    assert slider["value"] == declared["default"]  # the config leaves every lever unset
    assert declared["unit"] == "1" or declared["unit"] in slider["label"]
    assert 0 < slider["step"] <= (slider["max"] - slider["min"]) / 100


def test_slider_starts_at_the_configs_value(tmp_path: Path) -> None:
    data = small_economy_dict()
    data["policy"] = {"carbon_tax": 40.0, "power_caps": {"us": 500.0}}
    path = tmp_path / "taxed.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    params = app.model_params(path)
    assert params["carbon_tax"]["value"] == 40.0
    assert params[app.POWER_CAP]["value"] == 500.0


def test_power_cap_slider_is_clamped_to_the_regions_capacity(config: Path) -> None:
    slider = app.model_params(config)[app.POWER_CAP]
    scenario = app.load_config(config)[1]
    capacity = app.region_capacity_mw(scenario, "us")  # us_grid + us_solar + 2 years of builds
    assert slider["min"] == 0
    assert capacity <= slider["max"] < capacity + 2 * slider["step"]
    assert slider["value"] == slider["max"]  # no cap in the config: the top means no cap
    assert "us" in slider["label"]


def test_infinite_bounds_are_clamped() -> None:
    assert app.ui_range(0.0, 5.0, 1.0) == (0.0, 5.0)
    assert app.ui_range(0.0, math.inf, 2.0) == (0.0, 20.0)
    assert app.ui_range(-math.inf, math.inf, 0.5) == (0.0, 10.0)
    assert app.ui_range(-math.inf, 1.0, -3.0) == (-3.0, 1.0)


def test_nice_step_is_round() -> None:
    assert app.nice_step(1e4) == 20.0
    assert app.nice_step(5.0) == 0.01
    assert app.nice_step(20.0) == 0.05


# ------------------------------------------------------------------- model


def test_model_applies_the_levers(config: Path) -> None:
    model = app.DashboardModel(
        carbon_tax=50.0, rd_subsidy_rate=0.5, power_cap_mw=300.0, seed="11", config=str(config)
    )
    policy = model.scenario.policy
    assert policy.carbon_tax == 50.0
    assert policy.rd_subsidy_rate == 0.5
    assert policy.power_caps == {"us": 300.0}
    assert model.seed_used == 11
    assert model.scenario.labs[0].name == "us_hare"  # the rest is the config's


def test_power_cap_at_the_top_means_no_cap(config: Path) -> None:
    top = app.model_params(config)[app.POWER_CAP]["max"]
    model = app.DashboardModel(power_cap_mw=top, config=str(config))
    assert model.scenario.policy.power_caps == {}


def test_unset_levers_and_a_bad_seed_keep_the_configs(config: Path) -> None:
    model = app.DashboardModel(seed="not a number", config=str(config))
    assert model.scenario.policy == app.load_config(config)[1].policy
    assert model.seed_used == 7


def test_model_stops_at_the_horizon(config: Path) -> None:
    model = app.DashboardModel(config=str(config))
    while model.running:
        model.step()
    assert model.steps == model.scenario.n_steps == 24
    assert len(model.history.years) == 25


def test_readout_reports_step_year_leader_loss_and_levers(config: Path) -> None:
    model = app.DashboardModel(carbon_tax=60.0, config=str(config))
    before = app.readout_text(model)
    model.step()
    after = app.readout_text(model)
    assert before.startswith("step 0 · year 2025.00 · leader ")
    assert after.startswith("step 1 · year 2025.08 · leader ")
    assert "carbon tax 60 USD/tCO2" in after
    assert before.split("mean loss ")[1] != after.split("mean loss ")[1]


# ----------------------------------------------------------------- figures

_COLORBLIND = [tuple(colour) for colour in sns.color_palette("colorblind")]


@pytest.fixture
def stepped(tmp_path: Path) -> app.DashboardModel:
    """Three steps of the small economy under an export ban into cn (restricted edges)."""
    data = small_economy_dict()
    data["policy"] = {"export_controls": {"restricted_regions": ["cn"], "max_tpp": 0}}
    path = tmp_path / "banned.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    model = app.DashboardModel(config=str(path))
    for _ in range(3):
        model.step()
    return model


def _legend(axis) -> list[str]:
    return [text.get_text() for text in axis.get_legend().get_texts()]


def _line_colours(axis) -> list[tuple]:
    return [to_rgb(line.get_color()) for line in axis.get_lines()]


def test_loss_plot_has_units_lab_legend_and_the_shared_palette(stepped) -> None:
    (axis,) = app.loss_figure(stepped).axes
    labs = [lab.name for lab in stepped.labs]
    assert axis.get_ylabel() == "loss L(C) (nats/token)"
    assert axis.get_xlabel() == "year"  # a calendar year is its own unit
    assert _legend(axis) == labs
    assert _line_colours(axis) == _COLORBLIND[: len(labs)]
    assert all(len(line.get_xdata()) == 4 for line in axis.get_lines())  # step 0 and 3 steps


def test_price_plots_have_units_and_supplier_legends(stepped) -> None:
    chips, energy = app.prices_figure(stepped).axes
    assert chips.get_ylabel() == "chip price index (1 = list price)"
    assert energy.get_ylabel() == "energy price incl. carbon tax (USD/MWh)"
    assert _legend(chips) == ["west", "east"]
    assert _legend(energy) == ["us_grid", "us_solar", "cn_grid"]
    assert _line_colours(energy) == _COLORBLIND[:3]
    assert chips.get_xlabel() == energy.get_xlabel() == "year"


def test_share_plot_has_units_and_the_loss_plots_lab_colours(stepped) -> None:
    (axis,) = app.shares_figure(stepped).axes
    assert axis.get_ylabel() == "market share (fraction of revenue)"
    assert _legend(axis) == [lab.name for lab in stepped.labs]
    areas = [to_rgb(area.get_facecolor()[0]) for area in axis.collections]
    assert areas == _COLORBLIND[: len(stepped.labs)]


def test_network_plot_legend_and_restricted_edges(stepped) -> None:
    (axis,) = app.network_figure(stepped).axes
    entries = _legend(axis)
    assert entries[:3] == ["chip supplier", "lab", "energy supplier"]
    assert {"chip trade", "energy trade", "restricted (export control)"} <= set(entries)
    assert entries[-1].startswith("width: ") and entries[-1].endswith(" USD/step (max)")
    dashed = [line for line in axis.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 2  # west into both cn labs
    assert [tick.get_text() for tick in axis.get_xticklabels()] == entries[:3]


# -------------------------------------------------------------- rendering


def _readout(rc) -> str:
    return rc.find(v.Html, class_="race-readout").widget.children[0]


def _render(config: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(app.CONFIG_ENV, str(config))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Mesa's own rules-of-hooks warning
        return solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)


def test_page_steps_and_the_readout_follows(config: Path, monkeypatch) -> None:
    _, rc = _render(config, monkeypatch)
    assert _readout(rc).startswith("step 0 ·")
    images = [image.value for image in rc.find(ipywidgets.Image).widgets]
    for _ in range(3):
        rc.find(v.Btn, children=["Step"]).widget.click()
    assert _readout(rc).startswith("step 3 · year 2025.25 ·")
    after = [image.value for image in rc.find(ipywidgets.Image).widgets]
    assert len(after) == len(images) == 4
    assert all(a != b for a, b in zip(after, images, strict=True))  # every plot re-rendered


def test_page_lever_takes_effect_at_reset(config: Path, monkeypatch) -> None:
    _, rc = _render(config, monkeypatch)
    slider = rc.find(v.Slider, label="carbon tax (USD/tCO2)").widget
    assert (slider.min, slider.max) == (0, 1e4)
    slider.v_model = 120.0
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert "carbon tax 0 USD/tCO2" in _readout(rc)  # not before Reset
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert _readout(rc).startswith("step 0 ·")
    assert "carbon tax 120 USD/tCO2" in _readout(rc)


# --------------------------------------------------------------------- CLI


def test_cli_rejects_a_missing_config_before_serving(tmp_path: Path, capsys) -> None:
    assert main(["dashboard", str(tmp_path / "nope.yaml"), "--port", "8799"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("race: error: ") and "cannot read file" in err


def test_cli_rejects_an_invalid_config(tmp_path: Path, capsys) -> None:
    data = small_economy_dict()
    data["policy"] = {"carbon_tax": -5}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["dashboard", str(path)]) == 2
    assert "policy.carbon_tax" in capsys.readouterr().err


def test_cli_rejects_a_bad_port(config: Path, capsys) -> None:
    assert main(["dashboard", str(config), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
