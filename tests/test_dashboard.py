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
from pydantic.fields import FieldInfo

from sim.cli.main import main
from sim.config.scenario import ConfigError, Scenario, parse_scenario
from sim.viz import app, dashboard_levers, dashboard_plots
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
    """The JSON Schema of ``policy``, derived by pydantic independently of sim.viz.app."""
    return Scenario.model_json_schema()["$defs"]["PolicyConfig"]["properties"]


# ------------------------------------------------------------------ levers


def _schema_leaves() -> set[str]:
    """Dotted paths of every leaf of ``policy`` in the JSON Schema (nested models followed)."""
    definitions = Scenario.model_json_schema()["$defs"]

    def walk(properties: dict, prefix: str):
        for name, declared in properties.items():
            refs = [declared.get("$ref"), *(a.get("$ref") for a in declared.get("allOf", []))]
            ref = next((r for r in refs if r), None)
            if ref:
                yield from walk(
                    definitions[ref.rsplit("/", 1)[1]]["properties"], f"{prefix}.{name}"
                )
            else:
                yield f"{prefix}.{name}"

    return set(walk(definitions["PolicyConfig"]["properties"], "policy"))


def _scalar_levers() -> list[str]:
    return [name for name, declared in _policy_schema().items() if declared.get("type") == "number"]


def test_every_leaf_of_the_policy_schema_has_a_control(config: Path) -> None:
    scenario = app.load_config(config)[1]
    levers = dashboard_levers.levers(scenario)
    assert {lever.path for lever in levers} == _schema_leaves()
    assert len(_schema_leaves()) >= 16  # carbon tax ... compute_threshold.cap
    assert all(lever.controls for lever in levers)
    params = app.model_params(config)
    names = [control.name for control in dashboard_levers.controls(scenario)]
    assert len(set(names)) == len(names)
    assert set(params) == {*names, "seed", "config"}


def test_every_control_takes_effect(config: Path) -> None:
    """Moving a lever's controls changes its field in the scenario the model is built from."""
    scenario = app.load_config(config)[1]
    for lever in dashboard_levers.levers(scenario):
        moved = {control.name: _moved(control) for control in lever.controls}
        built = app.build_scenario(config, moved)
        before, after = (dashboard_levers.value_at(s, lever.path) for s in (scenario, built))
        assert after != before, lever.path


def _moved(control: dashboard_levers.Control):
    if control.kind == "Checkbox":
        return not control.value
    if control.kind == "Select":
        return next(choice for choice in control.choices if choice != control.value)
    return control.min if control.value == control.max else control.max


def test_an_unsupported_field_type_has_no_silent_default(config: Path) -> None:
    field = FieldInfo.from_annotation(set[int])
    with pytest.raises(TypeError, match="policy.new_lever"):
        dashboard_levers.lever_for("policy.new_lever", field, app.load_config(config)[1])


def test_per_region_fields_get_a_control_per_region_of_the_config(config: Path) -> None:
    params = app.model_params(config)
    assert {"power_caps__us", "power_caps__cn", "tariffs__us", "tariffs__cn"} <= set(params)
    restricted = [name for name in params if name.startswith("export_controls__restricted")]
    assert restricted == [f"export_controls__restricted_regions__{r}" for r in ("us", "cn")]
    assert params["supply_shock__supplier"]["values"] == ["(none)", "west", "east"]
    assert params["export_controls__exporter_regions__cn"]["value"] is True  # null: all


def test_mapping_bounds_match_the_configs_validators(config: Path) -> None:
    """The UI's per-region bounds are the ones config.py accepts (the schema lacks them)."""
    data = app.load_config(config)[0]
    for path, rule in dashboard_levers.MAPPINGS.items():
        field = path.split(".")[1]
        lower, upper = rule.bounds
        for value, valid in ((lower, True), (upper, True), (upper * 1.001, False), (-1, False)):
            attempt = {**data, "policy": {field: {"us": value}}}
            if valid:
                parse_scenario(attempt)
            else:
                with pytest.raises(ConfigError, match=f"policy.{field}"):
                    parse_scenario(attempt)


@pytest.mark.parametrize("name", _scalar_levers())
def test_sliders_take_defaults_and_units_from_the_schema_within_its_bounds(
    config: Path, name: str
) -> None:
    declared = _policy_schema()[name]
    slider = app.model_params(config)[name]
    assert slider["type"] == "SliderFloat"
    assert declared["minimum"] <= slider["min"] < slider["max"] <= declared["maximum"]
    assert slider["value"] == declared["default"]  # the config leaves every lever unset
    assert declared["unit"] == "1" or declared["unit"] in slider["label"]
    assert 0 < slider["step"] <= (slider["max"] - slider["min"]) / 100


def test_controls_start_at_the_configs_values(tmp_path: Path) -> None:
    data = small_economy_dict()
    data["policy"] = {
        "carbon_tax": 40.0,
        "power_caps": {"us": 500.0},
        "export_controls": {"restricted_regions": ["cn"], "max_tpp": 16000},
        "supply_shock": {"supplier": "east"},
        "compute_threshold": {"flop": 1e25},
    }
    path = tmp_path / "taxed.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    params = app.model_params(path)
    assert params["carbon_tax"]["value"] == 40.0
    assert params["power_caps__us"]["value"] == 500.0
    assert params["export_controls__restricted_regions__cn"]["value"] is True
    assert params["export_controls__restricted_regions__us"]["value"] is False
    assert params["export_controls__max_tpp"]["value"] == 16000
    assert params["supply_shock__supplier"]["value"] == "east"
    assert params["compute_threshold__flop__on"]["value"] is True
    assert params["compute_threshold__flop"]["value"] == pytest.approx(25.0)
    values = {name: p["value"] for name, p in params.items() if name not in ("seed", "config")}
    assert app.build_scenario(path, values).policy == app.load_config(path)[1].policy


def test_ranges_come_from_the_config_where_the_schema_is_too_wide(config: Path) -> None:
    params = app.model_params(config)
    tpp = params["export_controls__max_tpp"]
    assert (tpp["min"], tpp["max"]) == (0, 36000)  # B200: 2250 TFLOP/s x 16 bits
    assert tpp["value"] == 4800 and 4800 % tpp["step"] == 0  # ECCN 3A090 is a position
    start = params["supply_shock__start_year"]
    assert (start["min"], start["max"]) == (2025, 2027)  # the two-year horizon
    flop = params["compute_threshold__flop"]
    assert (flop["min"], flop["max"], flop["value"]) == (20, 30, 26)


def test_sliders_span_what_a_user_would_use(config: Path, tmp_path: Path) -> None:
    """Not the schema's 0-10,000 USD/tCO2 (a 60 px drag set 4,320) nor tariffs up to 1000%."""
    params = app.model_params(config)
    tax = params["carbon_tax"]
    assert (tax["min"], tax["max"], tax["step"]) == (0, 500, 1)
    assert params["tariffs__us"]["max"] == 2.0 and params["rd_subsidy_rate"]["max"] == 1.0
    data = small_economy_dict()
    data["policy"] = {"carbon_tax": 2000.0, "tariffs": {"us": 3.0}}
    path = tmp_path / "high.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    params = app.model_params(path)  # a config beyond a range widens it: CONFIG is shown
    assert params["carbon_tax"]["max"] == params["carbon_tax"]["value"] == 2000.0
    assert params["tariffs__us"]["max"] == params["tariffs__us"]["value"] == 3.0
    assert app.build_scenario(path, {}).policy.carbon_tax == 2000.0


def test_power_cap_slider_is_clamped_to_the_regions_capacity(config: Path) -> None:
    slider = app.model_params(config)["power_caps__us"]
    scenario = app.load_config(config)[1]
    # us_grid + us_solar + 2 years of builds
    capacity = dashboard_levers.region_capacity_mw(scenario, "us")
    assert slider["min"] == 0
    assert capacity <= slider["max"] < capacity + 2 * slider["step"]
    assert slider["value"] == slider["max"]  # no cap in the config: the top means no cap
    assert "us" in slider["label"]


def test_infinite_bounds_are_clamped() -> None:
    assert dashboard_levers.ui_range(0.0, 5.0, 1.0) == (0.0, 5.0)
    assert dashboard_levers.ui_range(0.0, math.inf, 2.0) == (0.0, 20.0)
    assert dashboard_levers.ui_range(-math.inf, math.inf, 0.5) == (0.0, 10.0)
    assert dashboard_levers.ui_range(-math.inf, 1.0, -3.0) == (-3.0, 1.0)


def test_nice_step_is_round() -> None:
    assert dashboard_levers.nice_step(1e4) == 20.0
    assert dashboard_levers.nice_step(5.0) == 0.01
    assert dashboard_levers.nice_step(20.0) == 0.05


def test_levers_page_lists_every_control(config: Path) -> None:
    scenario = app.load_config(config)[1]
    rows = app.lever_rows(scenario)[2:]
    labels = [p["label"] for p in app.model_params(config).values() if isinstance(p, dict)]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == labels[:-1]  # not seed
    tpp = next(row for row in rows if "| `export_controls.max_tpp` |" in row)
    assert "| TPP | [0, 1e+07] | [0, 36000] step 100 |" in tpp


# ------------------------------------------------------------------- model


def test_model_applies_the_levers(config: Path) -> None:
    model = app.DashboardModel(
        carbon_tax=50.0, rd_subsidy_rate=0.5, power_caps__us=300.0, seed="11", config=str(config)
    )
    policy = model.scenario.policy
    assert policy.carbon_tax == 50.0
    assert policy.rd_subsidy_rate == 0.5
    assert policy.power_caps == {"us": 300.0}
    assert model.seed_used == 11
    assert model.scenario.labs[0].name == "us_hare"  # the rest is the config's


def test_new_controls_change_the_scenario_and_the_model(config: Path) -> None:
    model = app.DashboardModel(
        export_controls__restricted_regions__cn=True,
        export_controls__max_tpp=0.0,
        supply_shock__supplier="east",
        supply_shock__fraction_lost=0.8,
        tariffs__cn=0.25,
        compute_threshold__flop__on=True,
        compute_threshold__flop=26.5,
        config=str(config),
    )
    policy = model.scenario.policy
    assert policy.export_controls.restricted_regions == ["cn"]
    assert policy.export_controls.max_tpp == 0
    assert (policy.supply_shock.supplier, policy.supply_shock.fraction_lost) == ("east", 0.8)
    assert policy.tariffs == {"cn": 0.25}
    assert policy.compute_threshold.flop == 3.162e26
    names = {node: data["name"] for node, data in model.network.nodes(data=True)}
    into_cn = [
        data["allowed"]
        for supplier, lab, data in model.network.edges(data=True)
        if names[supplier] == "west" and names[lab].startswith("cn_")
    ]
    assert into_cn == [False, False]  # the ban cut both of west's edges into cn labs


def test_an_unknown_lever_is_an_error(config: Path) -> None:
    with pytest.raises(TypeError, match="carbon_taxx"):
        app.DashboardModel(carbon_taxx=5.0, config=str(config))


def test_power_cap_at_the_top_means_no_cap(config: Path) -> None:
    top = app.model_params(config)["power_caps__us"]["max"]
    model = app.DashboardModel(power_caps__us=top, config=str(config))
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
    assert "other levers: at defaults" in after
    for _ in range(model.scenario.n_steps - 1):  # a training run finishes and deploys
        model.step()
    assert before.split("mean loss ")[1] != app.readout_text(model).split("mean loss ")[1]


def test_readout_lists_the_levers_moved_off_their_defaults(config: Path) -> None:
    model = app.DashboardModel(
        export_controls__restricted_regions__cn=True, tariffs__cn=0.5, config=str(config)
    )
    assert "other levers: export_controls.restricted_regions cn; tariffs cn 0.5 · seed 7" in (
        app.readout_text(model)
    )


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
    (axis,) = dashboard_plots.loss_figure(stepped).axes
    labs = [lab.name for lab in stepped.labs]
    assert axis.get_ylabel() == "loss L(C) (nats/token)"
    assert axis.get_xlabel() == "year"  # a calendar year is its own unit
    assert _legend(axis) == labs
    assert _line_colours(axis) == _COLORBLIND[: len(labs)]
    assert all(len(line.get_xdata()) == 4 for line in axis.get_lines())  # step 0 and 3 steps


def _figures(model: app.DashboardModel) -> list:
    plots = dashboard_plots
    return [make(model) for make in (plots.loss_figure, plots.prices_figure,
                                     plots.shares_figure, plots.network_figure)]  # fmt: skip


def test_plots_are_drawn_at_step_0_with_readable_legends(config: Path) -> None:
    model = app.DashboardModel(config=str(config))  # step 0: one point per series
    loss, prices, shares, _ = _figures(model)
    for axis in (*loss.axes, *prices.axes):
        assert axis.get_lines()
        for line in axis.get_lines():  # a single point shows only as a marker
            assert len(line.get_xdata()) == 1 and line.get_marker() not in ("None", "", None)
    (axis,) = shares.axes
    (tops,) = axis.collections[-1:]  # each band's top at the latest step
    assert len(tops.get_offsets()) == len(model.labs)
    assert tops.get_offsets()[-1][1] == pytest.approx(1.0)  # shares add up to one
    for figure in _figures(model):
        for axis in figure.axes:
            legend = axis.get_legend()
            assert legend is not None
            assert min(text.get_fontsize() for text in legend.get_texts()) >= 8


def test_tabs_are_named() -> None:
    css = app.tab_css()
    assert app.PAGE_NAMES == ("Economy", "Levers and ranges")
    assert '.v-tab:nth-child(2)::after { content: "Economy"' in css
    assert '.v-tab:nth-child(3)::after { content: "Levers and ranges"' in css
    assert {page for _, page in app.COMPONENTS} == set(range(len(app.PAGE_NAMES)))


def test_price_plots_have_units_and_supplier_legends(stepped) -> None:
    chips, energy = dashboard_plots.prices_figure(stepped).axes
    assert chips.get_ylabel() == "chip price index (1 = list price)"
    assert energy.get_ylabel() == "energy price incl. carbon tax (USD/MWh)"
    assert _legend(chips) == ["west", "east"]
    assert _legend(energy) == ["us_grid", "us_solar", "cn_grid"]
    assert _line_colours(energy) == _COLORBLIND[:3]
    assert chips.get_xlabel() == energy.get_xlabel() == "year"


def test_share_plot_has_units_and_the_loss_plots_lab_colours(stepped) -> None:
    (axis,) = dashboard_plots.shares_figure(stepped).axes
    assert axis.get_ylabel() == "market share (fraction of revenue)"
    assert _legend(axis) == [lab.name for lab in stepped.labs]
    *bands, tops = axis.collections  # the stacked areas, then a dot on each one's top
    assert [to_rgb(band.get_facecolor()[0]) for band in bands] == _COLORBLIND[: len(stepped.labs)]
    assert [to_rgb(colour) for colour in tops.get_facecolor()] == _COLORBLIND[: len(bands)]


def test_network_plot_legend_and_restricted_edges(stepped) -> None:
    (axis,) = dashboard_plots.network_figure(stepped).axes
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
    assert (slider.min, slider.max) == (0, 500)
    slider.v_model = 120.0
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert "carbon tax 0 USD/tCO2" in _readout(rc)  # not before Reset
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert _readout(rc).startswith("step 0 ·")
    assert "carbon tax 120 USD/tCO2" in _readout(rc)


def test_page_checkbox_lever_takes_effect_at_reset(config: Path, monkeypatch) -> None:
    _, rc = _render(config, monkeypatch)
    box = rc.find(v.Checkbox, label="export controls: restricted regions cn").widget
    assert box.v_model is False
    box.v_model = True
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert "other levers: export_controls.restricted_regions cn" in _readout(rc)


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


def _serve_nothing(monkeypatch, envs: list[dict] | None = None) -> list[list[str]]:
    """Replace the server child by a record of its command line (no server starts)."""
    from sim.cli import dashboard as cli_dashboard

    served: list[list[str]] = []

    def serve(command: list[str], env: dict[str, str]) -> int:
        served.append(command)
        if envs is not None:
            envs.append(env)
        return 0

    monkeypatch.setattr(cli_dashboard, "serve", serve)
    return served


def test_the_dashboard_runs_from_any_folder_on_the_packaged_baseline(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no experiments/ here
    monkeypatch.delenv(app.CONFIG_ENV, raising=False)
    envs: list[dict] = []
    _serve_nothing(monkeypatch, envs)
    assert main(["dashboard", "--port", "8799"]) == 0
    packaged = Path(envs[0][app.CONFIG_ENV])
    assert packaged.is_file() and packaged == app.config_path() == app.DEFAULT_CONFIG
    assert Path(dashboard_levers.__file__).parents[1] in packaged.parents  # inside the package
    assert app.DashboardModel().scenario.name == "baseline"


def test_the_packaged_baseline_is_experiments_baseline() -> None:
    shipped = Path(app.DEFAULT_CONFIG).read_text(encoding="utf-8")
    source = (Path(__file__).resolve().parents[1] / "experiments" / "baseline.yaml").read_text(
        encoding="utf-8"
    )
    assert shipped == source, "cp experiments/baseline.yaml sim/data/baseline.yaml"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "dashboard.example.org"])
def test_cli_warns_that_a_dashboard_off_loopback_has_no_authentication(
    config: Path, host: str, capsys, monkeypatch
) -> None:
    served = _serve_nothing(monkeypatch)
    assert main(["dashboard", str(config), "--host", host, "--port", "8799"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "no authentication" in err and f"--host {host} " in err
    assert served[0][served[0].index("--host") + 1] == host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "localhost", "::1"])
def test_cli_does_not_warn_on_loopback(config: Path, host: str, capsys, monkeypatch) -> None:
    served = _serve_nothing(monkeypatch)
    assert main(["dashboard", str(config), "--host", host, "--port", "8799"]) == 0
    assert "no authentication" not in capsys.readouterr().err
    assert len(served) == 1
