"""Figures of sim.viz.plots, fed a small real run and a tiny real sweep: labels, legends, files."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import FancyArrowPatch

from sim.cli.main import main
from sim.config.scenario import parse_scenario
from sim.experiments.runs import run_scenario
from sim.law import relative_loss
from sim.viz import plots
from sim.viz.figures import RUN_FIGURE_NAMES, write_run_figures
from tests.builders import small_economy_dict, sweep_quietly

LABS = {"us_hare", "us_turtle", "cn_base", "cn_adapt"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SWEEPS: dict[str, Path] = {}


def tiny_sweep(factory: pytest.TempPathFactory) -> Path:
    """A 2 x 2 grid sweep (carbon tax, spend rate) x 3 replicates with step tables, made once."""
    if "tiny" not in _SWEEPS:
        root = factory.mktemp("sweep")
        base = {**small_economy_dict(), "years": 1}
        for lab in base["labs"]:  # half-year runs: each lab deploys a new model within the year
            lab["training"] = {"run_years": 0.5}
        experiment = {
            "name": "tiny",
            "base": base,
            "levers": [
                {"path": "policy.carbon_tax", "values": [0, 100]},
                {"path": "labs.*.spend_rate", "values": [0.3, 0.6]},
            ],
            "replications": 3,
            "record_steps": True,
            "backend": "serial",
        }
        config = root / "tiny.yaml"
        config.write_text(yaml.safe_dump(experiment))
        assert sweep_quietly(config, root, "--backend", "serial") == 0
        _SWEEPS["tiny"] = root / "tiny"
    return _SWEEPS["tiny"]


@pytest.fixture(scope="module")
def result():
    return run_scenario(parse_scenario({**small_economy_dict(), "years": 1}))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return tiny_sweep(tmp_path_factory)


@pytest.fixture(scope="module")
def sweep_labs(sweep):
    return pd.read_parquet(sweep / "steps" / "labs")


def legend_texts(axes) -> list[str]:
    return [text.get_text() for text in axes.get_legend().get_texts()]


def assert_drawn(figure) -> None:
    """The figure renders to a non-blank image."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    assert pixels.shape[0] > 100 and pixels.std() > 5


def assert_image_files(paths: list[Path]) -> None:
    for path in paths:
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.startswith(PNG_MAGIC) and len(data) > 10_000
        else:
            assert ET.fromstring(data).tag.endswith("svg")


# ------------------------------------------------------------------ one run


def test_loss_figure_has_units_labs_and_closed_form(result):
    kappa, floor = plots.law_constants(result.scenario)
    figure = plots.loss_figure(result.tables["labs"], result.lab_summary, kappa, floor)
    axes = figure.axes[0]
    assert axes.get_xlabel() == "year"
    assert axes.get_ylabel() == "loss L(C) (nats/token)"
    assert set(legend_texts(axes)) == LABS | {plots.CLOSED_FORM_LABEL}
    dashed = [line for line in axes.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == len(LABS)
    initial = result.lab_summary["initial_loss"].to_numpy()
    assert sorted(line.get_ydata()[0] for line in dashed) == pytest.approx(sorted(initial))
    assert_drawn(figure)


def test_loss_figure_without_kappa_has_no_closed_form(result):
    figure = plots.loss_figure(result.tables["labs"])
    assert set(legend_texts(figure.axes[0])) == LABS


def test_closed_form_is_the_relative_loss_equation_scaled_to_the_lab():
    t = np.linspace(0, 5, 11)
    assert plots.closed_form_loss(t, 2.0, 1.5, 0.05) == pytest.approx(
        2.0 * relative_loss(t, 1.5, 0.05)
    )
    with_floor = plots.closed_form_loss(t, 2.0, 0.0, 0.05, floor=1.5)
    assert with_floor == pytest.approx(1.5 + 0.5 * (1 + t) ** -0.05)
    assert plots.closed_form_loss(t, 2.0, -0.3, 0.05) == pytest.approx(2.0 * (1 + t) ** -0.05)
    assert plots.closed_form_loss(t, 2.0, float("nan"), 0.05) is None


def test_share_and_compute_figures(result):
    labs = result.tables["labs"]
    share = plots.share_figure(labs).axes[0]
    assert share.get_ylabel() == "market share (fraction of revenue) (1)"
    assert set(legend_texts(share)) == LABS
    compute = plots.compute_figure(labs).axes[0]
    assert "FLOP" in compute.get_ylabel() and compute.get_yscale() == "log"
    assert set(legend_texts(compute)) == LABS


def test_market_figures_label_units_and_suppliers(result):
    markets = result.tables["markets"]
    chips = plots.chip_market_figure(markets)
    assert [a.get_ylabel() for a in chips.axes] == [
        "price (USD/GPU)",
        "price index (1 = list)",
        "unfilled (GPU/yr)",
    ]
    assert set(legend_texts(chips.axes[0])) == {"west", "east"}
    assert chips.axes[-1].get_xlabel() == "year"
    energy = plots.energy_figure(markets)
    labels = [a.get_ylabel() for a in energy.axes]
    assert labels == [
        "price (USD/MWh)",
        "unmet demand (MW)",
        "energy (MWh/yr)",
        "emissions (tCO2/yr)",
    ]
    assert set(legend_texts(energy.axes[0])) == {"us_grid", "us_solar", "cn_grid"}
    assert_drawn(energy)


def test_flows_are_shown_per_year_not_per_step(result):
    """Monthly steps: a step's MWh, tCO2 and unfilled GPUs are drawn times 12, a year's rate."""
    markets = result.tables["markets"]
    energy = plots.energy_figure(markets)
    grid = markets[(markets["market"].astype(str) == "us_grid") & (markets["step"] > 0)]
    drawn = {a.get_ylabel(): a.lines[0] for a in energy.axes}
    assert energy.axes[0].lines[0].get_ydata() == pytest.approx(grid["price"])
    for label, column in (
        ("energy (MWh/yr)", "energy_mwh"),
        ("emissions (tCO2/yr)", "emissions_t"),
    ):
        assert drawn[label].get_ydata() == pytest.approx(12 * grid[column]), label
    assert 12 * grid["energy_mwh"].iloc[0] == pytest.approx(8766 * grid["sold"].iloc[0])
    chips = plots.chip_market_figure(markets).axes[-1].lines[0].get_ydata()
    west = markets[(markets["market"].astype(str) == "west") & (markets["step"] > 0)]
    assert chips == pytest.approx(12 * west["shortage"])


def test_network_figure_widths_follow_trade_and_restricted_edges_are_dashed(result):
    tables = result.tables
    edges = tables["edges"].copy()
    controlled = (edges["supplier"] == "west") & (edges["lab"].astype(str).str.startswith("cn"))
    edges.loc[controlled, "max_tpp"] = 4800.0
    figure = plots.network_figure(edges, tables["labs"], tables["markets"])
    axes = figure.axes[0]
    texts = legend_texts(axes)
    assert {"chip supplier", "lab", "energy supplier", "chip trade", "energy trade"} <= set(texts)
    assert any(text.startswith("restricted") for text in texts)
    arrows = [p for p in axes.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(plots.network_edges(edges)) == 14
    assert sum(a.get_linestyle() == "--" for a in arrows) == 2
    flows = plots.network_edges(edges)
    top = flows.loc[flows["value"].idxmax()]
    assert (top["supplier"], top["lab"]) == ("west", "us_hare")
    assert max(a.get_linewidth() for a in arrows) == pytest.approx(7.6)
    assert_drawn(figure)


def test_write_run_figures_writes_png_and_svg(result, tmp_path):
    paths = write_run_figures(result, tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        f"{name}.{suffix}" for name in RUN_FIGURE_NAMES for suffix in ("png", "svg")
    )
    assert_image_files(paths)


# ------------------------------------------------------------------ several runs


def test_fan_chart_from_sweep_steps_per_lab(sweep_labs):
    figure = plots.fan_chart(sweep_labs, "loss", hue="lab")
    axes = figure.axes[0]
    assert axes.get_xlabel() == "year"
    assert axes.get_ylabel() == "loss (nats/token)"
    texts = legend_texts(axes)
    assert set(texts[:-1]) == LABS
    assert texts[-1] == "5%-95% across runs (n = 12)"
    assert len(axes.collections) == len(LABS)  # one band per lab
    assert_drawn(figure)


def test_fan_bands_bracket_the_median(sweep_labs):
    bands = plots.fan_bands(sweep_labs, "loss")
    assert len(bands) == 13 and (bands["runs"] == 12).all()
    assert (bands["low"] <= bands["median"]).all() and (bands["median"] <= bands["high"]).all()


def test_fan_chart_from_several_runs(result):
    other = run_scenario(parse_scenario({**small_economy_dict(), "years": 0.5, "seed": 8}))
    steps = plots.stack_runs({"a": result.tables["labs"], "b": other.tables["labs"]})
    figure = plots.fan_chart(steps, "loss")
    texts = legend_texts(figure.axes[0])
    assert texts == ["median", "5%-95% across runs (n = 2)"]
    assert "mean over labs" in figure.axes[0].get_title()


def test_heatmap_over_two_levers(sweep):
    runs = pd.read_parquet(sweep / "runs.parquet")
    figure = plots.heatmap(runs, "policy.carbon_tax", "labs.*.spend_rate", "total_emissions_t")
    axes = figure.axes[0]
    assert axes.get_xlabel() == "policy.carbon_tax (USD/tCO2)"
    assert axes.get_ylabel() == "labs.*.spend_rate (1/yr)"
    cells = axes.collections[0].get_array()
    assert cells.size == 4
    expected = runs.groupby("policy.carbon_tax")["total_emissions_t"].mean()
    assert cells.mean() == pytest.approx(expected.mean())
    assert figure.axes[1].get_ylabel() == "mean total_emissions_t (tCO2)"


def test_heatmap_of_time_to_target_from_step_tables(sweep, sweep_labs):
    runs = pd.read_parquet(sweep / "runs.parquet")
    years = plots.time_to_target_by_run(sweep_labs, 0.99)  # a first run finishes in year one
    assert len(years) == len(runs) and years["years_to_R0.99"].between(0, 1).all()
    joined = runs.merge(years, on="run_id")
    figure = plots.heatmap(joined, "policy.carbon_tax", "labs.*.spend_rate", "years_to_R0.99")
    assert figure.axes[1].get_ylabel() == "mean years_to_R0.99 (yr)"
    with pytest.raises(ValueError, match="no finite"):
        plots.heatmap(
            runs.assign(x=np.nan), "policy.carbon_tax", "labs.*.spend_rate", "x"
        )  # fmt: skip


def test_lever_line_has_mean_and_band(sweep):
    runs = pd.read_parquet(sweep / "runs.parquet")
    figure = plots.lever_line(runs, "policy.carbon_tax", "mean_final_loss")
    axes = figure.axes[0]
    assert axes.get_xlabel() == "policy.carbon_tax (USD/tCO2)"
    assert axes.get_ylabel() == "mean_final_loss (nats/token)"
    assert legend_texts(axes) == ["95% CI of the mean", "mean over runs"]


def test_sensitivity_bars():
    indices = pd.DataFrame(
        {
            "output": ["loss"] * 4 + ["emissions"] * 4,
            "lever": ["tax", "tax", "rate", "rate"] * 2,
            "index": ["S1", "ST"] * 4,
            "value": [0.6, 0.7, 0.2, 0.3, 0.1, 0.15, 0.8, 0.85],
            "conf": [0.05] * 8,
        }
    )
    figure = plots.sensitivity_figure(indices)
    assert [a.get_title() for a in figure.axes] == ["loss", "emissions"]
    assert legend_texts(figure.axes[0]) == ["S1", "ST"]
    assert figure.axes[0].get_ylabel() == "lever"
    assert "index value" in figure.axes[0].get_xlabel()
    assert len(figure.axes[0].patches) == 4
    assert_drawn(figure)


def test_compare_figure_shows_relative_differences_with_intervals():
    table = pd.DataFrame(
        {
            "output": ["mean_final_loss", "total_emissions_t"],
            "base_mean": [0.5, -2.0e8],
            "mean_difference": [0.05, 4.0e7],
            "ci_low": [0.04, np.nan],
            "ci_high": [0.06, np.nan],
        }
    )
    figure = plots.compare_figure(table, "baseline", "controls")
    axes = figure.axes[0]
    assert axes.get_xlabel() == (
        "controls - baseline, % of base mean (95% CI; none where fewer than 2 pairs)"
    )
    assert axes.get_ylabel() == "output"
    widths = [patch.get_width() for patch in axes.patches]
    assert widths == pytest.approx([10.0, 20.0]), "differences in % of |base mean|"
    whiskers = axes.containers[-1]
    assert whiskers.lines[2][0].get_segments()[0][:, 0] == pytest.approx([8.0, 12.0])
    assert [t.get_text() for t in axes.texts] == ["no CI"], "the output without an interval"
    assert [t.get_text() for t in axes.get_yticklabels()] == list(table["output"])
    assert_drawn(figure)


def test_write_sweep_figures(sweep):
    paths = plots.write_sweep_figures(sweep)
    stems = {p.stem for p in paths}
    assert {"fan_loss", "fan_emissions", "heatmap_mean_final_loss"} <= stems
    assert {"heatmap_hhi_compute", "heatmap_total_emissions_t"} <= stems
    assert_image_files(paths)
    fan = plots.sweep_figures(sweep)["fan_loss"]
    assert "carbon_tax=100, spend_rate=0.6" in legend_texts(fan.axes[0])


def test_sweep_emissions_fan_is_per_year(sweep):
    axes = plots.sweep_figures(sweep)["fan_emissions"].axes[0]
    assert axes.get_ylabel() == "emissions (tCO2/yr)"
    assert axes.get_title().startswith("emissions: median")
    economy = pd.read_parquet(sweep / "steps" / "economy")
    first = economy[economy["step"] == 1]["emissions_t"]
    medians = [line.get_ydata()[0] for line in axes.lines]
    assert min(medians) >= 12 * first.min() * 0.999 and max(medians) <= 12 * first.max() * 1.001


def test_sweep_figures_reject_a_run_folder(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump({**small_economy_dict(), "years": 0.25}))
    assert main(["run", str(config), "--results", str(tmp_path), "--no-figures"]) == 0
    with pytest.raises(ValueError, match="not a sweep"):
        plots.sweep_figures(tmp_path / "small")


# ------------------------------------------------------------------ lever axes

EXPORT_THRESHOLDS = [0, 4800, 16000, 40000, 1.0e7]


def lever_sweep(root: Path, levers: list[dict], name: str, replications: int = 2, **fields) -> Path:
    """A one-quarter sweep of the small economy over ``levers``; its results folder."""
    base = {**small_economy_dict(), "years": 0.25}
    base["policy"] = {"export_controls": {"restricted_regions": ["cn"]}}
    experiment = {"name": name, "base": base, "levers": levers, "replications": replications,
                  "outputs": ["mean_final_loss", "total_chips_sold"], **fields}  # fmt: skip
    config = root / f"{name}.yaml"
    config.write_text(yaml.safe_dump(experiment))
    assert sweep_quietly(config, root, "--backend", "serial") == 0
    return root / name


def tick_texts(axes, which: str = "x") -> list[str]:
    ticks = axes.get_xticklabels() if which == "x" else axes.get_yticklabels()
    return [t.get_text() for t in ticks]


def test_export_thresholds_are_categories_evenly_spaced(tmp_path):
    """0, 4800, 16000, 40000 and 1e7: a 0 and four values crowded beside 1e7 -> categories."""
    lever = "policy.export_controls.max_tpp"
    folder = lever_sweep(tmp_path, [{"path": lever, "values": EXPORT_THRESHOLDS}], "tpp")
    figure = plots.sweep_figures(folder)["total_chips_sold_vs_lever"]
    axes = figure.axes[0]
    assert tick_texts(axes) == ["0", "4800", "16000", "40000", "1e+07"]
    assert list(axes.get_xticks()) == [0, 1, 2, 3, 4], "one evenly spaced spot per threshold"
    assert axes.get_xscale() == "linear" and axes.get_xlabel() == f"{lever} (TPP)"
    assert legend_texts(axes) == ["mean over runs, 95% CI"]
    runs = pd.read_parquet(folder / "runs.parquet")
    means = runs.groupby(lever)["total_chips_sold"].mean().to_numpy()
    points = axes.containers[0].lines[0].get_ydata()
    assert points == pytest.approx(means), "a point per category at its mean over runs"
    assert_drawn(figure)


def test_the_shipped_export_control_sweep_declares_its_thresholds_categorical():
    from sim.experiments.design import load_experiment

    experiment, _ = load_experiment(Path("experiments/export_controls_whatif.yaml"))
    lever = experiment.levers[0]
    assert lever.values == EXPORT_THRESHOLDS and lever.categorical
    thresholds = pd.Series(lever.values)
    assert plots.lever_axis(thresholds, {"scale": lever.scale}) == "categorical"


@pytest.mark.parametrize(
    ("values", "spec", "axis"),
    [
        (EXPORT_THRESHOLDS, None, "categorical"),
        ([10, 1000, 1e5], None, "log"),
        ([0, 25, 50, 75, 100], None, "linear"),
        ([0, 10, 100], {"scale": "linear"}, "linear"),
        ([1, 2, 4], {"scale": "log"}, "log"),
        (["kaplan", "hoffmann2022"], None, "categorical"),
        ([True, False], None, "categorical"),
        (list(np.geomspace(1, 1e6, 40)), None, "linear"),
    ],
)
def test_lever_axis_fits_the_values(values, spec, axis):
    assert plots.lever_axis(pd.Series(values), spec) == axis


def test_a_categorical_lever_is_a_point_per_category_in_declared_order(tmp_path):
    levers = [{"path": "labs.0.strategy", "values": ["turtle", "hare", "adaptive"]}]
    folder = lever_sweep(tmp_path, levers, "strategy")
    axes = plots.sweep_figures(folder)["mean_final_loss_vs_lever"].axes[0]
    assert tick_texts(axes) == ["turtle", "hare", "adaptive"]
    assert axes.get_xlabel() == "labs.0.strategy"


def test_a_log_lever_is_drawn_on_a_log_axis(tmp_path):
    levers = [{"path": "policy.carbon_tax", "low": 1, "high": 1000, "levels": 4, "scale": "log"}]
    folder = lever_sweep(tmp_path, levers, "logtax", replications=1)
    axes = plots.sweep_figures(folder)["mean_final_loss_vs_lever"].axes[0]
    assert axes.get_xscale() == "log"
    assert axes.get_xlabel() == "policy.carbon_tax (USD/tCO2) (log scale)"
    assert list(axes.lines[0].get_xdata()) == pytest.approx([1, 10, 100, 1000])


def test_heatmap_cells_follow_categories_and_log_levels(tmp_path):
    levers = [
        {"path": "law.params", "values": ["hoffmann2022", "kaplan"]},
        {"path": "policy.carbon_tax", "low": 1, "high": 100, "levels": 3, "scale": "log"},
    ]
    folder = lever_sweep(tmp_path, levers, "cells", replications=1, record_steps=True)
    figures = plots.sweep_figures(folder)
    axes = figures["heatmap_mean_final_loss"].axes[0]
    assert tick_texts(axes) == ["hoffmann2022", "kaplan"], "the experiment's order"
    assert tick_texts(axes, "y") == ["100", "10", "1"], "log levels, highest on top"
    assert "params=kaplan, carbon_tax=10" in legend_texts(figures["fan_loss"].axes[0])
    assert_drawn(figures["heatmap_mean_final_loss"])


def test_sampled_log_lever_bins_are_even_in_log10():
    values = pd.Series(np.geomspace(1, 1e6, 200))
    bins = np.log10(np.unique(plots.binned(values, axis="log")))
    assert len(bins) == plots.MAX_LEVELS // 2 + 2
    assert np.diff(bins) == pytest.approx(np.full(len(bins) - 1, np.diff(bins).mean()), rel=0.01)
